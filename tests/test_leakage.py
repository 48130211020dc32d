"""The leakage audit against counts made another way: folds from a fold column, shares from pandas."""

import re

import numpy as np
import pandas as pd
import pytest

from ecaser.training import folds
from ecaser.evaluation import leakage

SPEAKERS, TEXTS = 10, 6


def crossed(seed=0):
    """Every speaker says every text in 2..4 clips, classes at random: the design of the real corpora."""
    rng = np.random.default_rng(seed)
    rows = [{"speaker": f"s{s}", "text": f"t{t}", "session": "", "label_index": int(rng.integers(0, 3))}
            for s in range(SPEAKERS) for t in range(TEXTS) for _ in range(rng.integers(2, 5))]
    frame = pd.DataFrame(rows)
    frame["id"] = [f"c{i:03d}" for i in range(len(frame))]
    return frame


def independent(frame, fold_of):
    """Per fold number, with pandas on a fold column: the test side's speakers and texts, those the training side
    has too, and the share of test clips whose speaker / text the training side has."""
    frame = frame.assign(fold=fold_of)
    counts = []
    for k in sorted(frame["fold"].unique()):
        test, train = frame[frame["fold"] == k], frame[frame["fold"] != k]
        counts.append({"fold": len(counts) + 1, "train_clips": len(train), "test_clips": len(test), **{
            name: {"test": test[column].nunique(), "shared": len(set(test[column]) & set(train[column])),
                   "clips_seen_pct": 100 * test[column].isin(train[column]).mean()}
            for name, column in (("speakers", "speaker"), ("texts", "text"))}})
    return counts


def splits_of(fold_of):
    return [(np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)) for k in np.unique(fold_of)]


def test_counts_equal_an_independent_count():
    frame = crossed()
    rng = np.random.default_rng(1)
    # folds that keep some speakers and texts out and share others: speakers 0-3 only in fold 0, texts 0-1 only in
    # fold 1, every other clip in a random fold
    speaker, text = frame["speaker"].str[1:].astype(int), frame["text"].str[1:].astype(int)
    fold_of = np.where(speaker < 4, 0, np.where(text < 2, 1, rng.integers(0, 3, len(frame))))
    result = leakage.audit(frame, splits_of(fold_of))
    expected = independent(frame, fold_of)
    assert result["folds"] == [{**f, **{n: pytest.approx(f[n]) for n in ("speakers", "texts")}} for f in expected]
    for name in ("speakers", "texts"):
        for measure in ("test", "shared", "clips_seen_pct"):
            values = [f[name][measure] for f in expected]
            assert result["summary"][name][measure] == pytest.approx(
                {"mean": np.mean(values), "min": min(values), "max": max(values)})


def test_random_folds_share_everything_and_say_so():
    frame = crossed()
    result = leakage.audit(frame, folds.split(frame, 3, "stratified", 0))
    assert result["summary"]["speakers"]["clips_seen_pct"]["min"] == 100
    assert leakage.sentence(result, "stratified") == ("random folds: 10/10 speakers and 6/6 texts of every test fold "
                                                      "seen in training")


def test_folds_that_differ_are_worded_as_ranges():
    frame = crossed()
    fold_of = np.minimum(frame["speaker"].str[1:].astype(int).to_numpy() // 3, 2)  # 3, 3 and 4 speakers
    assert leakage.sentence(leakage.audit(frame, splits_of(fold_of)), "speaker") == (
        "speaker folds: 0 of 3-4 speakers and 6/6 texts of every test fold seen in training")


def test_speaker_folds_share_no_speaker():
    frame = crossed()
    fold_of = frame["speaker"].str[1:].astype(int).to_numpy() // 2  # two speakers per fold, by hand
    result = leakage.audit(frame, splits_of(fold_of))
    assert leakage.sentence(result, "file") == "file folds: 0/2 speakers and 6/6 texts of every test fold seen in " \
                                               "training"
    result = leakage.audit(frame, folds.split(frame, 5, "speaker", 0))
    assert result["summary"]["speakers"]["shared"]["max"] == 0
    assert result["summary"]["speakers"]["clips_seen_pct"]["max"] == 0


@pytest.mark.parametrize("n", [4, 6])
def test_speaker_text_folds_share_neither(n):
    frame = crossed()
    result = leakage.audit(frame, folds.split(frame, n, "speaker_text", 0))
    for name in ("speakers", "texts"):
        assert result["summary"][name]["shared"]["max"] == 0 and result["summary"][name]["clips_seen_pct"]["max"] == 0
    assert re.match(r"speaker_text folds: 0(/| of )\d+(-\d+)? speakers and 0(/| of )\d+(-\d+)? texts of every",
                    leakage.sentence(result, "speaker_text"))


def test_a_corpus_without_texts_audits_speakers_only():
    frame = crossed().assign(text="")
    result = leakage.audit(frame, folds.split(frame, 3, "stratified", 0))
    assert set(result["summary"]) == {"speakers"} and "texts" not in result["folds"][0]
    assert leakage.sentence(result, "stratified") == ("random folds: 10/10 speakers of every test fold seen in "
                                                      "training (texts unknown: the corpus does not name them)")
