"""Cross-corpus scoring: class names matched across corpora, scores over the shared classes only, intervals from a
bootstrap over the target's speakers, and the stage's outputs from a small saved model."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats as scipy_stats
from test_predict import STFT, by_hand
from test_report import augment, write_tree

from ecaser.data import corpora, emotions
from ecaser.evaluation import cross_corpus, metrics, stats
from ecaser import models, report
from ecaser.models.bundle import save as save_model
from ecaser.infra import params
from ecaser.commands import predict
from ecaser.infra.errors import InputError

RAVDESS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
CREMA_D = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
TESS = ["angry", "disgust", "fear", "happy", "neutral", "ps", "sad"]
SAVEE = ["a", "d", "f", "h", "n", "sa", "su"]


@pytest.mark.parametrize("name, corpus, expected", [
    ("angry", "ravdess", "anger"), ("ANG", "crema-d", "anger"), ("Anger", "", "anger"), ("W", "emodb", "anger"),
    ("a", "savee", "anger"), ("happy", "tess", "happiness"), ("HAP", "crema-d", "happiness"), ("joy", "", "happiness"),
    ("F", "synthetic-emodb", "happiness"), ("h", "savee", "happiness"), ("sad", "", "sadness"), ("sa", "savee", "sadness"),
    ("T", "emodb", "sadness"), ("fearful", "ravdess", "fear"), ("FEA", "crema-d", "fear"), ("A", "emodb", "fear"),
    ("f", "savee", "fear"), ("NEU", "crema-d", "neutral"), ("n", "savee", "neutral"), ("DIS", "crema-d", "disgust"),
    ("d", "savee", "disgust"), ("E", "emodb", "disgust"), ("surprised", "ravdess", "surprise"),
    ("ps", "tess", "surprise"), ("Pleasant_surprise", "", "surprise"), ("pleasant-surprised", "", "surprise"),
    ("su", "savee", "surprise"), ("L", "emodb", "boredom"), ("calm", "ravdess", "calm"),
    # codes count only for their corpus: EMODB's A is fear, SAVEE's a anger, and neither means anything elsewhere
    ("a", "", "a"), ("A", "tess", "a"), ("frustrated", "", "frustrated"),
])
def test_every_corpus_spelling_has_its_canonical_name(name, corpus, expected):
    assert emotions.canonical(name, corpus) == expected


def test_the_demo_pair_shares_four_classes_and_emodb_keeps_three_to_itself():
    match = emotions.shared(corpora.classes("synthetic-emodb"), corpora.classes("synthetic-iemocap"),
                            "synthetic-emodb", "synthetic-iemocap")
    assert match == emotions.Shared(("anger", "happiness", "sadness", "neutral"),
                                    ("anger", "happiness", "sadness", "neutral"), ("angry", "happy", "sad", "neutral"),
                                    ("boredom", "fear", "disgust"), ())


@pytest.mark.parametrize("source, target, corpora_, classes, source_only, target_only", [
    (corpora.classes("emodb"), RAVDESS, ("emodb", "ravdess"),
     ("anger", "fear", "happiness", "sadness", "disgust", "neutral"), ("boredom",), ("calm", "surprised")),
    (CREMA_D, corpora.classes("iemocap"), ("crema-d", "iemocap"),
     ("anger", "happiness", "neutral", "sadness"), ("DIS", "FEA"), ()),
    (TESS, SAVEE, ("tess", "savee"),
     ("anger", "disgust", "fear", "happiness", "neutral", "surprise", "sadness"), (), ()),
    (SAVEE, TESS, ("", "tess"), (), SAVEE, TESS),  # without their corpus SAVEE's codes mean nothing
])
def test_shared_classes_follow_the_models_order_and_each_side_counts_what_it_leaves_out(
        source, target, corpora_, classes, source_only, target_only):
    match = emotions.shared(source, target, *corpora_)
    assert (match.classes, match.source_only, match.target_only) == (classes, tuple(source_only), tuple(target_only))
    assert len(match.classes) + len(match.source_only) == len(source)
    assert len(match.classes) + len(match.target_only) == len(target)
    assert [emotions.canonical(c, corpora_[1]) for c in match.target] == list(classes)


def test_two_classes_of_one_emotion_are_refused():
    with pytest.raises(InputError, match="my-corpus: classes 'happy' and 'Joy' are both happiness"):
        emotions.shared(["happy", "Joy", "sad"], ["sad"], "my-corpus")


def test_scores_are_taken_over_the_shared_classes_with_renormalised_probabilities():
    model = ["anger", "boredom", "sadness", "neutral"]
    probs = np.array([[0.25, 0.5, 0.1, 0.15], [0.1, 0.1, 0.1, 0.7], [0.1, 0.6, 0.1, 0.2], [0.3, 0.1, 0.4, 0.2]])
    labels = ["angry", "calm", "sad", "neutral"]  # calm has no counterpart: the second clip is left out
    kept, true, pred, shared = emotions.restrict(probs, model, labels, ["anger", "sadness", "neutral"],
                                                 ["angry", "sad", "neutral"])
    # by hand: boredom's column dropped, each row divided by what is left (0.5, 0.4, 0.9)
    expected = np.array([[0.5, 0.2, 0.3], [0.25, 0.25, 0.5], [3 / 9, 4 / 9, 2 / 9]])
    assert kept.tolist() == [True, False, True, True]
    np.testing.assert_allclose(shared, expected)
    assert true.tolist() == [0, 1, 2] and pred.tolist() == [0, 2, 1]  # the first and third were boredom unrestricted


def clips(seed=0):
    """60 clips of 3 classes from 6 speakers of unequal size, about two thirds right."""
    rng = np.random.default_rng(seed)
    speakers = np.repeat([f"s{i}" for i in range(6)], [4, 6, 8, 10, 14, 18])
    true = rng.integers(0, 3, speakers.size)
    pred = np.where(rng.random(speakers.size) < 0.65, true, rng.integers(0, 3, speakers.size))
    return true, pred, speakers


def test_the_speaker_bootstrap_matches_resampling_speakers_clip_by_clip_with_sklearns_scores():
    true, pred, speakers = clips()
    ours = stats.speaker_bootstrap(true, pred, speakers, 3, n_resamples=300, seed=4)
    names = np.unique(speakers)
    for key in metrics.KEYS:
        def score(drawn):  # independently: the drawn speakers' clips concatenated, scored by metrics (sklearn)
            rows = np.concatenate([np.flatnonzero(speakers == names[i]) for i in drawn])
            return metrics.scores(true[rows], pred[rows])[key]

        ci = scipy_stats.bootstrap((np.arange(names.size),), score, n_resamples=300, vectorized=False,
                                   method="percentile", rng=np.random.default_rng(4)).confidence_interval
        assert ours[key]["value"] == pytest.approx(metrics.scores(true, pred)[key])
        assert (ours[key]["low"], ours[key]["high"]) == pytest.approx((ci.low, ci.high))
        assert ours[key]["low"] < ours[key]["value"] < ours[key]["high"]


def test_the_speaker_bootstrap_needs_two_speakers():
    true, pred, _ = clips()
    with pytest.raises(InputError, match="needs >= 2 speakers, got 1"):
        stats.speaker_bootstrap(true, pred, np.full(true.size, "s0"), 3)


@pytest.mark.parametrize("target, message", [
    ({"corpus": "emodb", "root": None}, "'cross_corpus.targets.t.root' must name the emodb folder"),
    ({"corpus": "savee-ish"}, "'cross_corpus.targets.t.corpus' must be one of"),
    ({"corpus": "synthetic-emodb", "size": 0}, "'cross_corpus.targets.t.size' must be a positive float"),
    ({"corpus": "synthetic-emodb", "folder": "x"}, "'cross_corpus.targets.t' has unknown keys folder"),
    ("emodb", "'cross_corpus.targets.t' must be a mapping with a corpus"),
])
def test_a_bad_target_is_refused_naming_its_key(target, message):
    with pytest.raises(InputError, match=message):
        corpora.target({"cross_corpus": {"targets": {"t": target}}}, "t")


def bundle(path, classes, corpus):
    spec = models.cnn(classes, 1, 16, "eca", (5, 6), 3)
    torch.manual_seed(0)
    fold = {"state_dict": spec.build().state_dict(), "mean": [torch.full((64, 1), -40.0)],
            "std": [torch.full((64, 1), 15.0)]}
    save_model(path, spec, [fold], STFT, 3.0, corpus, "v3")
    return spec, [fold]


IEMOCAP_LIKE = {"corpus": "synthetic-emodb", "root": None, "size": 0.02, "iemocap_set": "improvised"}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A model of IEMOCAP's classes on the synthetic EMODB corpus: boredom, fear and disgust have no counterpart."""
    root = tmp_path_factory.mktemp("cross")
    spec, folds = bundle(root / "model.pt", corpora.classes("iemocap"), "synthetic-iemocap")
    details = cross_corpus.score(root / "model.pt", IEMOCAP_LIKE, 0, 500, root / "out", root / "metrics.json")
    return root, spec, folds, details


def test_the_stage_leaves_out_and_counts_the_clips_of_classes_without_counterpart(scored):
    root, _, _, details = scored
    rows = corpora.manifest("synthetic-emodb", None, 0, 0.02)
    counts = rows["label"].value_counts()
    assert details["left_out"] == {"model": [], "target": {c: int(counts[c]) for c in ("boredom", "fear", "disgust")}}
    assert details["classes"] == ["anger", "sadness", "happiness", "neutral"]  # the model's order
    table = pd.read_csv(root / "out/predictions.csv", dtype={"speaker": str})
    assert details["clips"] == len(table) == counts[["anger", "sadness", "happiness", "neutral"]].sum()
    kept = rows[rows["label"].isin(details["target_classes"])]
    assert details["speakers"] == table["speaker"].nunique() == kept["speaker"].nunique() > 2
    assert set(table["label"]) == {"anger", "sadness", "happiness", "neutral"}


def test_the_stage_scores_the_ensembles_probabilities_of_each_clip_segmented_as_training_does(scored):
    root, spec, folds, details = scored
    table = pd.read_csv(root / "out/predictions.csv", dtype={"speaker": str})
    rows = {row.id: row for row in corpora.manifest("synthetic-emodb", None, 0, 0.02).itertuples()}
    for i in (0, len(table) - 1):  # independently: librosa's log-Mel of the centred 3 s segment, the fold by hand
        row = rows[table["id"][i]]
        x, sr = corpora.load("synthetic-emodb", None, row, 0)
        d = 48000 - len(x)  # the centre 3 s of a longer clip, a shorter one zero-padded equally at both ends
        segment = np.pad(x, (d // 2, d - d // 2)) if d >= 0 else x[-d // 2 : -d // 2 + 48000]
        assert sr == 16000
        expected = by_hand(segment, spec, folds)
        model_p = table.loc[i, [f"model_p_{c}" for c in corpora.classes("iemocap")]].to_numpy(float)
        np.testing.assert_allclose(model_p, expected, atol=1e-4)
    # the prediction is the argmax of the model's probabilities over the shared classes, renormalised
    probs = table[[f"p_{c}" for c in details["classes"]]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)
    assert (table["pred"] == np.array(details["classes"])[probs.argmax(axis=1)]).all()
    truth = table["true"].map(details["classes"].index)
    guess = table["pred"].map(details["classes"].index)
    for key, value in metrics.scores(truth, guess).items():
        observed = details["scores"][key]["value"] if key in metrics.KEYS else details[key]
        assert observed == pytest.approx(value)
    m = json.loads((root / "metrics.json").read_text())
    assert m == {**details["scores"], "clips": details["clips"], "speakers": details["speakers"]}


def test_a_model_and_a_target_without_a_shared_class_are_refused(tmp_path):
    bundle(tmp_path / "model.pt", ["calm", "surprise"], "synthetic-emodb")
    with pytest.raises(InputError, match=r"model.pt: its classes \(calm, surprise\) and synthetic-emodb's"):
        cross_corpus.score(tmp_path / "model.pt", IEMOCAP_LIKE, 0, 10, tmp_path / "out", tmp_path / "m.json")
    assert not (tmp_path / "out").exists()


def test_the_report_shows_each_target_beside_the_final_models_own_scores_on_the_same_classes(tmp_path):
    """A fake results tree of EMODB-like classes (anger, boredom, neutral) and a model of them on the synthetic
    IEMOCAP corpus: shared anger and neutral; happy and sad clips left out."""
    classes = ["anger", "boredom", "neutral"]
    p = write_tree(tmp_path, "synthetic-emodb", classes,
                   [("cnn_sweep", "v8-n1", 0.5, {}), augment("eca", "descending", 2, 0.7)])
    final = tmp_path / "results/augment_eca/descending-2/predictions.csv"
    pred = pd.read_csv(final)  # the fake training's one-hot probabilities, made softer as a softmax's would be
    pred[[f"p_{c}" for c in classes]] = 0.1 + 0.7 * pred[[f"p_{c}" for c in classes]]
    pred.to_csv(final, index=False)
    bundle(tmp_path / "model.pt", classes, "synthetic-emodb")
    target = {**IEMOCAP_LIKE, "corpus": "synthetic-iemocap"}
    details = cross_corpus.score(tmp_path / "model.pt", target, 0, 200, tmp_path / "results/cross_corpus/demo",
                                 tmp_path / "metrics/cross_corpus/demo.json")
    report.build(p, tmp_path)

    summary = json.loads((tmp_path / "metrics/summary.json").read_text())
    assert summary["cross_corpus"] == {"demo": {**{k: details["scores"][k]["value"] for k in metrics.KEYS},
                                                "clips": details["clips"]}}
    section = (tmp_path / "reports/report.md").read_text().split("## Cross-corpus")[1].split("\n## ")[0]
    # the within-corpus reference by hand: the final run's anger and neutral clips, argmax of those two columns
    own = pred[pred["true"] != 1]
    within = metrics.scores(own["true"] // 2, own[["p_anger", "p_neutral"]].to_numpy().argmax(axis=1))
    row = next(line for line in section.splitlines() if line.startswith("| demo "))
    for key in metrics.KEYS:
        s = details["scores"][key]
        assert f"{s['value']:.2f} [{s['low']:.2f}, {s['high']:.2f}]" in row
    assert " / ".join(f"{within[k]:.2f}" for k in metrics.KEYS) in row
    left = details["left_out"]["target"]
    assert set(left) == {"happy", "sad"} and min(left.values()) > 0
    assert (f"shared classes anger = angry, neutral; the model's classes without a counterpart: boredom; "
            f"the target's, left out: sad ({left['sad']} clips), happy ({left['happy']} clips)") in section
    assert "percentile bootstrap over the target's speakers (200 resamples)" in section
