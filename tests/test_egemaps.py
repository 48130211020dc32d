"""The eGeMAPS baseline: openSMILE's own functionals, the CNN's folds, nothing learnt from a test fold, and a run's
files as a CNN run writes them."""

import json
import os

import numpy as np
import opensmile
import pandas as pd
import pytest
import yaml

from ecaser.commands import compare
from ecaser.training import experiments, folds, record, loop
from ecaser import models
from ecaser.infra import params
from ecaser.baselines import egemaps, linear
from ecaser.infra.errors import InputError
from ecaser.report import collect

SR = 16000
CLASSES = ["a", "b", "c"]
REPO_PARAMS = params.load(os.path.join(os.path.dirname(__file__), "..", "params.yaml"))


@pytest.fixture(autouse=True)
def on_the_cpu(monkeypatch):
    monkeypatch.setenv("ECASER_DEVICE", "cpu")


def voiced(seconds, f0, seed):
    """A buzzy vowel-like clip: harmonics of f0 with a little noise, so that pitch and formant features exist."""
    t = np.arange(round(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (0.1 * x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def test_the_88_features_are_opensmiles_own_call_on_each_clip(tmp_path):
    audio = np.stack([voiced(1.0, f0, seed) for seed, f0 in enumerate((110, 180, 240))])
    audio[2, : SR // 2] = 0  # half silence, as a zero-padded segment has
    egemaps.compute(audio, SR, tmp_path / "features.npy")
    got = np.load(tmp_path / "features.npy")
    assert got.dtype == np.float32 and got.shape == (3, 88)
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)
    for clip, row in zip(audio, got):
        np.testing.assert_array_equal(row, smile.process_signal(clip, SR).to_numpy()[0])
    assert egemaps.names() == list(smile.feature_names) and np.isfinite(got).all()
    assert np.ptp(got, axis=0).max() > 0  # the clips differ


def test_features_refused_when_missing_or_not_the_manifests(tmp_path):
    with pytest.raises(InputError, match="features.npy: features not found .*dvc repro egemaps"):
        egemaps.load(3, tmp_path / "features.npy")
    np.save(tmp_path / "features.npy", np.zeros((4, 88), np.float32))
    with pytest.raises(InputError, match=r"shape \(4, 88\) does not match the manifest's 3 clips"):
        egemaps.load(3, tmp_path / "features.npy")


@pytest.fixture(scope="module")
def corpus():
    """30 clips of 3 classes, 6 speakers, with 88 features whose means differ by class."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 10)
    manifest = pd.DataFrame({
        "id": [f"u{i:02d}" for i in range(30)], "speaker": [f"s{i % 6}" for i in range(30)], "session": "",
        "label": [CLASSES[y] for y in labels], "label_index": labels,
    })
    features = (rng.standard_normal((30, 88)) + 0.8 * labels[:, None] * (np.arange(88) % 3 == 0)).astype(np.float32)
    return manifest, features


def cfg(**changes):
    settings = dict(model="logreg", C=(0.01, 0.1, 1.0), inner_folds=2, folds=3, repeats=1, protocol="stratified",
                    seed=4)
    return linear.Config(**{**settings, **changes})


@pytest.mark.parametrize("protocol", ["stratified", "speaker"])
def test_the_folds_are_the_cnns_every_repeat(corpus, protocol):
    manifest, features = corpus
    result = linear.cross_validate(features, manifest, cfg(protocol=protocol, repeats=2), CLASSES)
    # the CNN's: loop.cross_validate on the same manifest and cv settings (one epoch of a tiny CNN)
    spec = models.cnn(CLASSES, 1, 4)
    cnn = loop.Config(spec, epochs=1, batch_size=16, lr=1e-3, lr_decay=1.0, focal_gamma=1.0, weighted=True,
                          folds=3, repeats=2, protocol=protocol, seed=4, precision="float32")
    spectra = np.random.default_rng(1).standard_normal((30, 64, 32)).astype(np.float16)
    theirs = loop.cross_validate(manifest, [(spectra,)], (spectra,), cnn).predictions
    key = ["repeat", "fold", "id", "true"]
    pd.testing.assert_frame_equal(result.predictions[key], theirs[key])
    # and they are folds.split's, repeat r with seed + r, as documented
    expected = [test for r in range(2) for _, test in folds.split(manifest, 3, protocol, 4 + r)]
    got = [g["id"].tolist() for _, g in result.predictions.groupby("fold", sort=True)]
    assert got == [manifest["id"].to_numpy()[rows].tolist() for rows in expected]


def fitted(search):
    """What a fit learnt: the scaler's statistics, the chosen C, the classifier's weights, the grid's scores."""
    pipeline = search.best_estimator_
    scaler, classifier = pipeline.named_steps["scale"], pipeline.named_steps["classify"]
    weights = (classifier.coef_ if hasattr(classifier, "coef_")
               else np.stack([c.estimator.coef_ for c in classifier.calibrated_classifiers_]))
    return scaler.mean_, scaler.scale_, search.best_params_, weights, search.cv_results_["mean_test_score"]


@pytest.mark.parametrize("model", ["logreg", "linear_svm"])
def test_a_folds_test_rows_never_reach_the_scaler_or_the_grid_search(corpus, model):
    """Planting NaN and huge values in one fold's test rows leaves what that fold fitted exactly as it was (a NaN
    seen by the classifier would raise; a 1e9 seen by the scaler would move its mean)."""
    manifest, features = corpus
    config = cfg(model=model)
    clean = linear.cross_validate(features, manifest, config, CLASSES)
    for fold, (_, test_rows) in enumerate(folds.split(manifest, 3, "stratified", 4)):
        planted = features.copy()
        planted[test_rows[::2]] = np.nan
        planted[test_rows[1::2]] = 1e9
        search = linear.fit(planted, manifest, np.setdiff1d(np.arange(30), test_rows), config)
        for before, after in zip(fitted(clean.searches[fold]), fitted(search)):
            if isinstance(before, dict):
                assert before == after
            else:
                np.testing.assert_array_equal(before, after)
    # the check has teeth: the same planting in the training rows does move the scaler
    train_rows = np.setdiff1d(np.arange(30), test_rows)
    planted = features.copy()
    planted[train_rows[0]] = 1e9
    moved = linear.fit(planted, manifest, train_rows, config)
    assert not np.array_equal(fitted(moved)[0], fitted(clean.searches[-1])[0])


def test_the_grid_is_searched_on_inner_folds_of_the_training_rows(corpus):
    """The inner folds are folds.split of the training fold alone (positions within it), balanced accuracy picks C."""
    manifest, features = corpus
    train_rows = np.flatnonzero(np.arange(30) % 3 != 0)
    search = linear.fit(features, manifest, train_rows, cfg(inner_folds=2))
    inner = folds.split(manifest.iloc[train_rows].reset_index(drop=True), 2, "stratified", 4)
    assert len(search.cv) == 2 and all(np.array_equal(a, b) for s, t in zip(search.cv, inner) for a, b in zip(s, t))
    assert max(max(map(max, split)) for split in search.cv) == len(train_rows) - 1
    assert search.scoring == "balanced_accuracy" and len(search.cv_results_["params"]) == 3
    best = search.cv_results_["params"][int(np.argmax(search.cv_results_["mean_test_score"]))]
    assert search.best_params_ == best and search.best_estimator_.named_steps["classify"].class_weight == "balanced"


@pytest.mark.parametrize("model", ["logreg", "linear_svm"])
def test_probabilities_and_scores(corpus, model):
    manifest, features = corpus
    result = linear.cross_validate(features, manifest, cfg(model=model), CLASSES)
    p = result.predictions
    probs = p[[f"p_{c}" for c in CLASSES]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-9)
    assert (p["pred"].to_numpy() == probs.argmax(axis=1)).all()
    assert len(p) == 30 and result.summary["UA"]["mean"] > 60  # the classes are separable
    assert set(result.chosen) == {"1", "2", "3"}
    # no epochs: the optimistic epoch figures are the scores themselves
    assert result.summary["best_test_epoch"]["UA"] == pytest.approx(result.summary["UA"]["mean"])


def write_cnn_run(root, manifest):
    """A CNN run's files as record.record writes them (one epoch of a tiny CNN)."""
    spec = models.cnn(CLASSES, 1, 4)
    run = experiments.Run(spec, ("v8",), "v8")
    cnn = loop.Config(spec, epochs=1, batch_size=16, lr=1e-3, lr_decay=1.0, focal_gamma=1.0, weighted=True,
                          folds=3, repeats=2, protocol="stratified", seed=4, precision="float32")
    spectra = np.random.default_rng(1).standard_normal((30, 64, 32)).astype(np.float16)
    result = loop.cross_validate(manifest, [(spectra,)], (spectra,), cnn)
    record.record(root / "results/cnn/x", root / "metrics/cnn/x.json", run, cnn, result, (spectra,),
                 models.parameters(spec.build()))


def keys(node):
    return {k: keys(v) for k, v in node.items()} if isinstance(node, dict) and "1" not in node else None


def test_the_run_writes_a_cnn_runs_files_and_compare_and_the_report_read_it(corpus, tmp_path, monkeypatch):
    manifest, features = corpus
    (tmp_path / "data/segments").mkdir(parents=True)
    manifest.to_csv(tmp_path / "data/segments/manifest.csv", index=False)
    write_cnn_run(tmp_path, manifest)
    config = cfg(repeats=2)
    result = linear.cross_validate(features, manifest, config, CLASSES)
    linear.record(tmp_path / "results/egemaps/functionals", tmp_path / "metrics/egemaps/functionals.json", result,
                  config, CLASSES, "egemaps")
    cnn, ours = tmp_path / "results/cnn/x", tmp_path / "results/egemaps/functionals"
    assert sorted(p.name for p in ours.iterdir()) == ["config.json", "predictions.csv", "scores.json"]
    assert pd.read_csv(ours / "predictions.csv").columns.tolist() == pd.read_csv(cnn / "predictions.csv").columns.tolist()
    metrics_a, metrics_b = (json.loads(p.read_text()) for p in (tmp_path / "metrics/cnn/x.json",
                                                                    tmp_path / "metrics/egemaps/functionals.json"))
    assert keys(metrics_a) == keys(metrics_b) and metrics_b["model"]["parameters"] == 3 * 88 + 3
    scores_a, scores_b = (json.loads((folder / "scores.json").read_text()) for folder in (cnn, ours))
    assert keys(scores_a) == keys(scores_b) and scores_b["folds"].keys() == scores_a["folds"].keys()
    config_a, config_b = (json.loads((folder / "config.json").read_text()) for folder in (cnn, ours))
    assert set(config_a) <= set(config_b) and config_b["model"]["classes"] == CLASSES
    assert config_b["inputs"] == [[88]] and set(config_b["chosen_C"]) == set(scores_b["folds"])
    # compare pairs it with the CNN run, clip for clip
    a, b = (compare.load(f"results/{run}", tmp_path) for run in ("egemaps/functionals", "cnn/x"))
    paired = compare.compare(a, b)
    assert paired["clips"] == 30 and paired["folds"] == 6
    # the report's collection of the paper's families leaves it alone: report/field.py places it
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(REPO_PARAMS))
    monkeypatch.chdir(tmp_path)  # experiments.classes reads the manifest where a stage would
    runs = collect.load(REPO_PARAMS, tmp_path).runs
    assert "cnn/x" in runs.index and not runs.index.str.startswith("egemaps").any()


def test_bad_params_name_their_key():
    p = {**REPO_PARAMS, "egemaps": {**REPO_PARAMS["egemaps"], "model": "svm"}}
    with pytest.raises(InputError, match="'egemaps.model' must be one of logreg, linear_svm, got 'svm'"):
        linear.config(p, "egemaps")
    p = {**REPO_PARAMS, "egemaps": {**REPO_PARAMS["egemaps"], "C": []}}
    with pytest.raises(InputError, match="'egemaps.C' must be a non-empty list of positive numbers"):
        linear.config(p, "egemaps")
    p = {**REPO_PARAMS, "egemaps": {**REPO_PARAMS["egemaps"], "inner_folds": 1}}
    with pytest.raises(InputError, match="'egemaps.inner_folds' must be an integer >= 2, got 1"):
        linear.config(p, "egemaps")
    assert linear.config(REPO_PARAMS, "egemaps").folds == REPO_PARAMS["cv"]["folds"]


def test_too_many_inner_folds_name_the_key(corpus):
    manifest, features = corpus
    with pytest.raises(InputError, match="'egemaps.inner_folds' \\(9\\) does not fit a training fold of 20 clips"):
        linear.cross_validate(features, manifest, cfg(inner_folds=9), CLASSES)


def test_a_run_is_deterministic(corpus):
    manifest, features = corpus
    a = linear.cross_validate(features, manifest, cfg(model="linear_svm", C=(0.1,)), CLASSES).predictions
    b = linear.cross_validate(features, manifest, cfg(model="linear_svm", C=(0.1,)), CLASSES).predictions
    pd.testing.assert_frame_equal(a, b)
