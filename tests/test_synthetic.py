import re

import numpy as np
import pandas as pd
import pytest

from ecaser.data.corpora import emodb, iemocap, synthetic
from ecaser.infra.errors import InputError

COUNTS = {
    "emodb": {"anger": 127, "boredom": 81, "fear": 69, "happiness": 71, "sadness": 62, "disgust": 46, "neutral": 79},
    "iemocap": {"angry": 289, "sad": 608, "happy": 947, "neutral": 1099},
}
SR = synthetic.SAMPLE_RATE


@pytest.fixture(scope="module", params=["emodb", "iemocap"])
def corpus(request):
    return request.param, synthetic.manifest(request.param, seed=0, size=1.0)


def some_rows(rows, n=4):
    """A few rows including the shortest and the longest clip: the edge cases of the timeline."""
    picks = [rows.duration_s.idxmin(), rows.duration_s.idxmax(), *range(n)]
    return rows.loc[picks]


def test_class_counts_match_the_real_corpora(corpus):
    kind, rows = corpus
    assert rows.label.value_counts().to_dict() == COUNTS[kind]
    assert set(rows.label) == set({"emodb": emodb, "iemocap": iemocap}[kind].CLASSES)


def test_columns_and_ids(corpus):
    kind, rows = corpus
    assert list(rows.columns) == ["id", "speaker", "gender", "session", "text", "label", "source", "duration_s"]
    assert rows.id.is_unique and (rows.source == rows.id).all()
    assert rows.duration_s.dtype == float
    assert all(isinstance(v, str) for c in ("id", "speaker", "gender", "session", "text", "label", "source")
               for v in rows[c])
    if kind == "emodb":
        letters = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
                   "N": "neutral"}
        parsed = rows.id.str.extract(r"^(\d\d)([ab]\d\d)([WLEAFTN])([a-z]+)$")
        assert parsed.notna().all().all()
        assert (parsed[0] == rows.speaker).all() and (parsed[2].map(letters) == rows.label).all()
        assert (rows.session == "").all()
        assert (parsed[1] == rows.text).all() and set(rows.text) == set(synthetic.EMODB_TEXTS)  # as emodb.py reads it
    else:
        assert all(re.fullmatch(r"Ses0[1-5][FM]_impro0[1-8]_[FM]\d{3}", i) for i in rows.id)
        assert (rows.id.str[-4].str.lower() == rows.gender).all()
        assert (rows.id.str[:5] == rows.session).all() and (rows.speaker.str[:5] == rows.session).all()
        assert sorted(rows.session.unique()) == [f"Ses0{i}" for i in range(1, 6)]
        assert (rows.id.str[7:14] == rows.text).all() and set(rows.text) == {f"impro0{i}" for i in range(1, 9)}


def test_ten_speakers_five_female_five_male(corpus):
    kind, rows = corpus
    genders = rows.groupby("speaker").gender.agg(lambda g: g.unique().tolist())
    if kind == "emodb":
        assert sorted(genders.index) == ["03", "08", "09", "10", "11", "12", "13", "14", "15", "16"]
        assert sorted(s for s, g in genders.items() if g == ["m"]) == ["03", "10", "11", "12", "15"]
    else:
        assert sorted(genders.index) == [f"Ses0{i}{g}" for i in range(1, 6) for g in "FM"]
        assert all(g == [s[-1].lower()] for s, g in genders.items())
    assert sorted(map(tuple, genders)) == [("f",)] * 5 + [("m",)] * 5
    counts = rows.speaker.value_counts()
    assert counts.max() - counts.min() <= len(COUNTS[kind])  # balanced: at most one extra per class


@pytest.mark.parametrize("kind, target, tolerance, low, high", [("emodb", 2.7, 0.2, 1.2, 9.0),
                                                                 ("iemocap", 4.5, 0.3, 1.0, 20.0)])
def test_durations_are_right_skewed_around_the_target(kind, target, tolerance, low, high):
    for seed in (0, 1):
        d = synthetic.manifest(kind, seed, 1.0).duration_s
        assert abs(d.mean() - target) < tolerance
        assert d.min() >= low and d.max() <= high and d.max() > 2.5 * target
        assert d.mean() > d.median()


def test_size_scales_counts_with_a_minimum_of_six():
    half = synthetic.manifest("iemocap", 0, 0.5).label.value_counts().to_dict()
    assert half == {label: round(n * 0.5) for label, n in COUNTS["iemocap"].items()}
    tiny = synthetic.manifest("emodb", 0, 0.01).label.value_counts()
    assert (tiny == 6).all() and len(tiny) == 7
    big = synthetic.manifest("emodb", 0, 8.0)
    assert big.id.is_unique and len(big) == 8 * 535


@pytest.mark.parametrize("call", [lambda: synthetic.manifest("ravdess", 0, 1.0),
                                  lambda: synthetic.manifest("emodb", 0, 0),
                                  lambda: synthetic.manifest("emodb", 0, -0.5),
                                  lambda: synthetic.manifest("emodb", 0, float("nan")),
                                  lambda: synthetic.manifest("emodb", -1, 1.0),
                                  lambda: synthetic.render("EMODB", 0, synthetic.manifest("emodb", 0, 0.1).iloc[0])])
def test_bad_input_raises_input_error(call):
    with pytest.raises(InputError):
        call()


def test_same_seed_same_corpus_other_seed_different():
    pd.testing.assert_frame_equal(synthetic.manifest("emodb", 3, 0.2), synthetic.manifest("emodb", 3, 0.2))
    assert not synthetic.manifest("emodb", 3, 0.2).equals(synthetic.manifest("emodb", 4, 0.2))
    row = synthetic.manifest("emodb", 3, 0.2).iloc[5]
    a, b = synthetic.render("emodb", 3, row), synthetic.render("emodb", 3, row)
    assert a.tobytes() == b.tobytes()
    assert synthetic.render("emodb", 4, row).tobytes() != a.tobytes()
    assert synthetic.render("iemocap", 3, row).tobytes() != a.tobytes()


def test_rendered_clips_are_valid_audio(corpus):
    kind, rows = corpus
    for row in some_rows(rows).itertuples():
        x = synthetic.render(kind, 0, row)
        assert x.dtype == np.float32 and x.ndim == 1 and len(x) == round(row.duration_s * SR)
        assert np.isfinite(x).all() and np.abs(x).max() <= 1.0
        assert np.sqrt(np.mean(x**2)) > 0.01  # not silent


def test_random_access_and_row_types(corpus):
    """A row rendered first (as a Series) equals the same row rendered after others (as a namedtuple)."""
    kind, rows = corpus
    target = rows.iloc[7]
    alone = synthetic.render(kind, 0, target)
    for row in rows.iloc[:7].itertuples():
        synthetic.render(kind, 0, row)
    after = synthetic.render(kind, 0, next(rows.iloc[7:8].itertuples()))
    assert alone.tobytes() == after.tobytes()


def rms(x):
    return float(np.sqrt(np.mean(x**2)))


def f0(x):
    """Median F0 (Hz) of the loudest 40 ms frames, from the cepstral peak in 70..500 Hz (robust to formants)."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 640)[::160]
    frames = frames[np.argsort((frames**2).sum(1))[-20:]]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(640), 2048))
    cepstrum = np.fft.irfft(np.log(spectrum + 1e-6))[:, SR // 500 : SR // 70]
    return float(np.median(SR / (np.argmax(cepstrum, axis=1) + SR // 500)))


def test_f0_estimator_works():
    t = np.arange(SR) / SR
    for hz in (110, 200, 310):
        assert f0(np.sign(np.sin(2 * np.pi * hz * t))) == pytest.approx(hz, rel=0.03)


def test_emotions_differ_as_designed():
    """Anger is louder and higher-pitched than sadness, compared within each speaker (speakers' F0s differ)."""
    rows = synthetic.manifest("emodb", 0, 1.0)
    rows = rows[rows.label.isin(["anger", "sadness"])]
    stats = pd.DataFrame([(r.speaker, r.label, rms(x), np.log(f0(x)))
                          for r in rows.itertuples() for x in [synthetic.render("emodb", 0, r)]],
                         columns=["speaker", "label", "rms", "log_f0"])
    means = stats.groupby(["speaker", "label"]).mean().unstack("label")
    assert (means["rms"]["anger"] > means["rms"]["sadness"]).all()
    assert (means["rms"]["anger"] / means["rms"]["sadness"]).mean() > 1.8
    f0_ratio = np.exp(means["log_f0"]["anger"] - means["log_f0"]["sadness"])  # designed: 1.40 / 0.95
    assert 1.25 < f0_ratio.mean() < 1.7 and (f0_ratio > 1).mean() >= 0.8
