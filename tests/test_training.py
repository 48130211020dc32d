"""Cross-validated training on a tiny random corpus: coverage, determinism, ECA weights, bad input."""

import numpy as np
import pandas as pd
import pytest

from ecaser import experiment, training
from ecaser.errors import InputError

CLASSES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def corpus():
    """24 clips, 3 classes whose spectra differ in level, so one epoch can already learn something."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 8)
    manifest = pd.DataFrame({
        "id": [f"u{i:02d}" for i in range(24)], "speaker": [f"s{i % 4}" for i in range(24)],
        "session": "", "label": [CLASSES[y] for y in labels], "label_index": labels,
    })
    feats = (rng.standard_normal((24, 64, 40)) + labels[:, None, None] * 0.5).astype(np.float16)
    return manifest, feats


def config(**changes):
    settings = dict(classes=CLASSES, channel_scale=1, attention_blocks=(5, 6), eca_kernel=3, epochs=2,
                    batch_size=8, folds=2, device="cpu")
    return training.Config(**{**settings, **changes})


def test_every_clip_is_predicted_once_by_the_fold_that_held_it_out(corpus):
    manifest, feats = corpus
    result = training.cross_validate(manifest, [(feats,)], (feats,), config())
    predictions, summary, curves = result.predictions, result.summary, result.curves
    assert sorted(predictions["id"]) == list(manifest["id"])
    assert set(predictions["fold"]) == {1, 2}
    np.testing.assert_allclose(predictions[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1, atol=1e-5)
    assert len(curves) == 2 and [c["epoch"] for c in curves[0]] == [1, 2]
    # the summary's fold scores are the last epoch's curve points
    assert summary["folds"]["1"]["UA"] == pytest.approx(curves[0][-1]["UA"])
    assert summary["UA"]["mean"] == pytest.approx(np.mean([curves[0][-1]["UA"], curves[1][-1]["UA"]]))
    assert summary["best_test_epoch"]["ACC"] >= summary["ACC"]["mean"] - 1e-9


def test_eca_weights_are_averaged_per_class(corpus):
    manifest, feats = corpus
    eca = training.cross_validate(manifest, [(feats,)], (feats,), config()).eca_weights
    assert set(eca) == {5, 6}
    assert set(eca[5]) == set(CLASSES) and len(eca[5]["a"]) == 80 and len(eca[6]["b"]) == 96
    assert all(0 < w < 1 for w in eca[6]["c"])


def test_same_seed_same_numbers_bit_for_bit(corpus):
    manifest, feats = corpus
    first = training.cross_validate(manifest, [(feats,)], (feats,), config())
    second = training.cross_validate(manifest, [(feats,)], (feats,), config())
    pd.testing.assert_frame_equal(first.predictions, second.predictions, check_exact=True)
    assert first.summary == second.summary and first.curves == second.curves
    other = training.cross_validate(manifest, [(feats,)], (feats,), config(seed=1))
    assert not other.predictions.equals(first.predictions)


def test_features_of_different_shapes_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/features").mkdir(parents=True)
    np.save("data/features/v1.npy", np.zeros((4, 64, 301), np.float16))
    np.save("data/features/v2.npy", np.zeros((4, 64, 300), np.float16))
    with pytest.raises(InputError, match="must share a shape.*v1: \\(4, 64, 301\\), v2: \\(4, 64, 300\\)"):
        experiment.features(["v1"], "v2", 4)


@pytest.mark.parametrize(
    "order, k, train, test",
    [("ascending", 1, ["v1"], "v1"), ("ascending", 3, ["v1", "v2", "v3"], "v1"),
     ("descending", 3, ["v8", "v7", "v6"], "v8"), ("descending", 8, [f"v{i}" for i in range(8, 0, -1)], "v8")],
)
def test_augmented_versions_follow_the_papers_orders(order, k, train, test):
    assert experiment.augmented_versions([f"v{i}" for i in range(1, 9)], order, k) == (train, test)


@pytest.mark.parametrize("order, k", [("sideways", 2), ("ascending", 0), ("descending", 9)])
def test_bad_augmentation_is_refused(order, k):
    with pytest.raises(InputError, match="augment"):
        experiment.augmented_versions([f"v{i}" for i in range(1, 9)], order, k)


def test_augmentation_adds_versions_to_training_folds_only(corpus, monkeypatch):
    """Every training clip once per training version; the test fold only in the test version; no clip on both sides."""
    manifest, feats = corpus
    versions = [(feats,), (feats + np.float16(1),), (feats + np.float16(2),)]  # three distinguishable "versions"
    folds, batches = [], []  # per fold: (training examples of its epoch, test features, test rows)
    gather, predict = training.gather, training.predict

    def record_predict(model, f, rows, *args):
        folds.append((np.concatenate(batches), f, rows))
        batches.clear()
        return predict(model, f, rows, *args)

    monkeypatch.setattr(training, "gather", lambda f, ex: batches.append(ex.copy()) or gather(f, ex))
    monkeypatch.setattr(training, "predict", record_predict)
    training.cross_validate(manifest, versions, versions[0], config(epochs=1, attention_blocks=()))
    assert len(folds) == 2
    for examples, test_feats, test_rows in folds:
        assert test_feats is versions[0]
        train_rows = np.unique(examples[:, 1])
        assert not set(train_rows) & set(test_rows) and len(train_rows) + len(test_rows) == 24
        # each training row exactly once per version: 12 rows x 3 versions
        assert len({tuple(e) for e in examples}) == len(examples) == 3 * len(train_rows) == 36
