"""Probes of an encoder's layer embeddings: the folds every run has, a learnt layer weighting that finds the layer
that carries the classes, a per-layer linear probe, nothing learnt from a test fold, and a CNN run's files."""

import json

import numpy as np
import pandas as pd
import pytest

from ecaser.training import folds
from ecaser.infra import params
from ecaser.baselines import linear, probe
from ecaser.infra.errors import InputError

CLASSES = ["a", "b", "c"]


@pytest.fixture(autouse=True)
def on_the_cpu(monkeypatch):
    monkeypatch.setenv("ECASER_DEVICE", "cpu")


@pytest.fixture(scope="module")
def corpus():
    """36 clips, 3 classes; embeddings [36, 4 layers, 12]: only layer 2 carries the class."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 12)
    manifest = pd.DataFrame({
        "id": [f"u{i:02d}" for i in range(36)], "speaker": [f"s{i % 6}" for i in range(36)], "session": "",
        "label": [CLASSES[y] for y in labels], "label_index": labels,
    })
    x = rng.standard_normal((36, 4, 12)).astype(np.float32)
    x[:, 2, :3] += 3.0 * np.eye(3)[labels]
    return manifest, x


def cfg(**changes):
    return probe.Config(**{**dict(head=16, epochs=15, batch_size=8, lr=0.03, focal_gamma=1.0, folds=3, repeats=2,
                                  protocol="stratified", seed=4), **changes})


LINEAR = linear.Config("logreg", (0.1, 1.0), 2, 3, 2, "stratified", 4)


def test_the_weighted_sum_probe_learns_the_layer_that_carries_the_classes_on_every_runs_folds(corpus):
    manifest, x = corpus
    result = probe.weighted_sum(x, manifest, cfg(), CLASSES, "cpu")
    ours = linear.cross_validate(x[:, 2], manifest, LINEAR, CLASSES).predictions  # the CNN's folds (test_egemaps)
    key = ["repeat", "fold", "id", "true"]
    pd.testing.assert_frame_equal(result.predictions[key], ours[key])
    assert result.summary["UA"]["mean"] > 65  # chance: 33
    weights = np.array(list(result.layer_weights.values()))
    assert weights.shape == (6, 4) and np.allclose(weights.sum(axis=1), 1)
    assert weights.mean(axis=0).argmax() == 2 and (weights[:, 2] > 1 / 4).all()  # above uniform in every fold
    assert len(result.curves) == 6 and [c["epoch"] for c in result.curves[0]] == list(range(1, 16))
    assert result.summary["folds"]["1"]["UA"] == pytest.approx(result.curves[0][-1]["UA"])  # the last epoch


def test_a_folds_test_rows_never_reach_its_standardisation_or_training(corpus):
    manifest, x = corpus
    y = manifest["label_index"].to_numpy()
    train_rows, test_rows = folds.split(manifest, 3, "stratified", 4)[0]
    planted = x.copy()
    planted[test_rows] = 1e9
    a, b = (probe.fit_fold(data, y, train_rows, test_rows, cfg(epochs=3), 1, 3, probe.runtime.device("cpu"))
            for data in (x, planted))
    np.testing.assert_array_equal(a[1], b[1])  # the learnt layer weights
    assert [c["train_loss"] for c in a[2]] == [c["train_loss"] for c in b[2]]
    np.testing.assert_array_equal(probe.standardise(x, train_rows)[train_rows],
                                  probe.standardise(planted, train_rows)[train_rows])


def test_the_per_layer_probe_scores_every_layer(corpus):
    manifest, x = corpus
    layers = probe.per_layer(x, manifest, LINEAR, CLASSES)
    assert layers["layer"].tolist() == [0, 1, 2, 3]
    assert layers["UA_mean"].idxmax() == 2 and layers.loc[2, "UA_mean"] > 70
    assert {"UA_low", "UA_high", "WA_mean", "ACC_mean", "F1_mean", "C"} <= set(layers.columns)


def test_the_run_writes_a_cnn_runs_files(corpus, tmp_path):
    manifest, x = corpus
    result = probe.weighted_sum(x, manifest, cfg(epochs=2), CLASSES, "cpu")
    layers = probe.per_layer(x, manifest, LINEAR, CLASSES)
    out = tmp_path / "results/ssl_probe/tiny"
    probe.record(out, tmp_path / "metrics/ssl_probe/tiny.json", result, layers, cfg(epochs=2), LINEAR, CLASSES,
                 "tiny", x, {"flops": 1234, "parameters": 99})
    assert {"config.json", "predictions.csv", "scores.json", "curves.csv", "live", "layers.csv"} <= \
        {p.name for p in out.iterdir()}
    assert pd.read_csv(out / "predictions.csv").columns.tolist() == ["id", "repeat", "fold", "true", "pred", "p_a",
                                                                      "p_b", "p_c"]
    assert (out / "live/plots/sklearn/confusion_matrix.json").is_file()
    m = json.loads((tmp_path / "metrics/ssl_probe/tiny.json").read_text())
    assert set(m) == {"UA", "WA", "ACC", "F1", "model", "audit", "calibration"}
    assert m["model"]["parameters"] == 4 + 12 * 16 + 16 + 16 * 3 + 3
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["classes"] == CLASSES and len(config["layer_weights"]) == 6
    assert config["encoder_cost"] == {"flops": 1234, "parameters": 99}  # ssl_embed's record, carried to the report
    # the probe's own FLOPs: 2 per multiply-add of the weighted sum's einsum and the head's two linear layers
    assert config["probe_flops"] == 2 * (4 * 12 + 12 * 16 + 16 * 3)


def test_embeddings_are_refused_when_missing_or_not_the_manifests(tmp_path):
    with pytest.raises(InputError, match="x.npy: embeddings not found .*dvc repro ssl_embed@x"):
        probe.load(tmp_path / "x.npy", 3)
    np.save(tmp_path / "x.npy", np.zeros((4, 2, 8), np.float32))
    with pytest.raises(InputError, match=r"shape \(4, 2, 8\) is not \[the manifest's 3 clips"):
        probe.load(tmp_path / "x.npy", 3)


def test_the_params_are_read_and_checked():
    p = params.load()
    assert probe.config(p).head == p["probe"]["head"] and linear.config(p, "probe.linear").model == "logreg"
    bad = {**p, "probe": {**p["probe"], "epochs": 0}}
    with pytest.raises(InputError, match="'probe.epochs' must be a positive int"):
        probe.config(bad)
