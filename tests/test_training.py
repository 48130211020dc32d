"""Cross-validated training on a tiny random corpus: coverage, determinism, ECA weights, bad input."""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from tqdm import tqdm

from ecaser.data import dslstm_features
from ecaser.training import experiments, record, loop
from ecaser import models
from ecaser.infra.errors import InputError

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


@pytest.fixture(autouse=True)
def on_the_cpu(monkeypatch):
    monkeypatch.setenv("ECASER_DEVICE", "cpu")


def config(architecture="cnn", attention_blocks=(5, 6), **changes):
    model = (models.Spec("dslstm", tuple(CLASSES)) if architecture == "dslstm"
             else models.cnn(CLASSES, 1, 16, "eca", attention_blocks, 3))
    settings = dict(epochs=2, batch_size=8, lr=1e-3, lr_decay=1.0, focal_gamma=1.0, weighted=True, folds=2,
                    repeats=1, protocol="stratified", seed=0, precision="float32")
    return loop.Config(model, **{**settings, **changes})


def test_every_clip_is_predicted_once_by_the_fold_that_held_it_out(corpus):
    manifest, feats = corpus
    result = loop.cross_validate(manifest, [(feats,)], (feats,), config())
    predictions, summary, curves = result.predictions, result.summary, result.curves
    assert sorted(predictions["id"]) == list(manifest["id"])
    assert set(predictions["fold"]) == {1, 2}
    np.testing.assert_allclose(predictions[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1, atol=1e-5)
    assert len(curves) == 2 and [c["epoch"] for c in curves[0]] == [1, 2]
    # the summary's fold scores are the last epoch's curve points
    assert summary["folds"]["1"]["UA"] == pytest.approx(curves[0][-1]["UA"])
    assert summary["UA"]["mean"] == pytest.approx(np.mean([curves[0][-1]["UA"], curves[1][-1]["UA"]]))
    assert summary["best_test_epoch"]["ACC"] >= summary["ACC"]["mean"] - 1e-9
    # the DS-LSTM authors' figure: each fold's best UA and best WA over epochs, each taken on its own
    ua, wa = (np.mean([max(c[key] for c in fold) for fold in curves]) for key in ("UA", "WA"))
    assert summary["best_epoch_each"] == pytest.approx({"UA": ua, "WA": wa, "ACC": (ua + wa) / 2})
    assert summary["best_epoch_each"]["UA"] >= summary["best_test_epoch"]["UA"] - 1e-9


def test_eca_weights_are_averaged_per_class(corpus):
    manifest, feats = corpus
    eca = loop.cross_validate(manifest, [(feats,)], (feats,), config()).eca_weights
    assert set(eca) == {5, 6}
    assert set(eca[5]) == set(CLASSES) and len(eca[5]["a"]) == 80 and len(eca[6]["b"]) == 96
    assert all(0 < w < 1 for w in eca[6]["c"])


def test_same_seed_same_numbers_bit_for_bit(corpus):
    manifest, feats = corpus
    first = loop.cross_validate(manifest, [(feats,)], (feats,), config())
    second = loop.cross_validate(manifest, [(feats,)], (feats,), config())
    pd.testing.assert_frame_equal(first.predictions, second.predictions, check_exact=True)
    assert first.summary == second.summary and first.curves == second.curves
    other = loop.cross_validate(manifest, [(feats,)], (feats,), config(seed=1))
    assert not other.predictions.equals(first.predictions)


def test_repeats_add_other_splits_and_leave_the_first_repeat_as_it_was(corpus):
    manifest, feats = corpus
    once = loop.cross_validate(manifest, [(feats,)], (feats,), config(epochs=1))
    twice = loop.cross_validate(manifest, [(feats,)], (feats,), config(epochs=1, repeats=2))
    p = twice.predictions
    assert sorted(p["fold"].unique()) == [1, 2, 3, 4] and list(p.groupby("repeat")["fold"].unique().map(list)) == [
        [1, 2], [3, 4]]
    assert (p.groupby("id").size() == 2).all()  # every clip once per repeat
    first = p[p["repeat"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, once.predictions, check_exact=True)
    second = p[p["repeat"] == 2]
    test_sets = [set(g["id"]) for _, g in p.groupby("fold")]
    assert test_sets[0] not in test_sets[2:]  # the second repeat splits the clips another way
    assert len(twice.summary["folds"]) == 4 and twice.summary["UA"]["mean"] == pytest.approx(
        np.mean([f["UA"] for f in twice.summary["folds"].values()]))
    assert set(second["id"]) == set(manifest["id"])


def test_features_of_different_shapes_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/features").mkdir(parents=True)
    np.save("data/features/v1.npy", np.zeros((4, 64, 301), np.float16))
    np.save("data/features/v2.npy", np.zeros((4, 64, 300), np.float16))
    with pytest.raises(InputError, match="must share a shape.*v1: \\(4, 64, 301\\), v2: \\(4, 64, 300\\)"):
        record.features(["v1"], "v2", 4)


@pytest.mark.parametrize(
    "order, k, train, test",
    [("ascending", 1, ["v1"], "v1"), ("ascending", 3, ["v1", "v2", "v3"], "v1"),
     ("descending", 3, ["v8", "v7", "v6"], "v8"), ("descending", 8, [f"v{i}" for i in range(8, 0, -1)], "v8")],
)
def test_augmented_versions_follow_the_papers_orders(order, k, train, test):
    assert experiments.augmented_versions([f"v{i}" for i in range(1, 9)], order, k) == (tuple(train), test)


@pytest.mark.parametrize("order, k", [("sideways", 2), ("ascending", 0), ("descending", 9)])
def test_bad_augmentation_is_refused(order, k):
    with pytest.raises(InputError, match="augment"):
        experiments.augmented_versions([f"v{i}" for i in range(1, 9)], order, k)


def test_augmentation_adds_versions_to_training_folds_only(corpus, monkeypatch):
    monkeypatch.setenv("ECASER_PARALLEL_FOLDS", "1")
    """Every training clip once per training version; the test fold only in the test version; no clip on both sides."""
    manifest, feats = corpus
    versions = [(feats,), (feats + np.float16(1),), (feats + np.float16(2),)]  # three distinguishable "versions"
    batches, tests = [], []  # (version, row) examples of every training batch; (inputs, examples) of each prediction
    batch, predict = loop.Inputs.batch, loop.predict

    def record_batch(inputs, examples, stats):
        if inputs.versions is versions:
            batches.append(examples.copy())
        return batch(inputs, examples, stats)

    def record_predict(model, inputs, examples, *args):
        tests.append((inputs, examples))
        return predict(model, inputs, examples, *args)

    monkeypatch.setattr(loop.Inputs, "batch", record_batch)
    monkeypatch.setattr(loop, "predict", record_predict)
    loop.cross_validate(manifest, versions, versions[0], config(epochs=1, attention_blocks=()))
    assert len(tests) == 2
    steps = len(batches) // 2  # one epoch of 36 examples in batches of 8, per fold
    for fold, (inputs, test_examples) in enumerate(tests):
        assert inputs.versions == [versions[0]] and set(test_examples[:, 0]) == {0}
        examples = np.concatenate(batches[fold * steps : (fold + 1) * steps])
        train_rows, test_rows = np.unique(examples[:, 1]), test_examples[:, 1]
        assert not set(train_rows) & set(test_rows) and len(train_rows) + len(test_rows) == 24
        # each training row exactly once per version: 12 rows x 3 versions
        assert len({tuple(e) for e in examples}) == len(examples) == 3 * len(train_rows) == 36


@pytest.mark.parametrize("architecture", ["cnn", "dslstm"])
def test_folds_taking_turns_compute_what_each_fold_computes_alone(corpus, architecture, monkeypatch):
    """The fold-parallel path (3 folds a step each in turn) against the one-fold loop: bit for bit on the CPU."""
    manifest, feats = corpus
    if architecture == "dslstm":  # its three streams (MFCCs, two Mel spectrograms) of half-second clips
        rng = np.random.default_rng(1)
        shapes = dslstm_features.shapes(8000, 16000).values()
        streams = tuple(rng.standard_normal((24, *shape)).astype(np.float16) for shape in shapes)
        train, test = [streams], streams
    else:
        train, test = [(feats,), (feats + np.float16(1),)], (feats,)
    runs = {}
    for width in (1, 2, 3):
        monkeypatch.setenv("ECASER_PARALLEL_FOLDS", str(width))
        runs[width] = loop.cross_validate(manifest, train, test, config(architecture, folds=3))
    for width in (2, 3):
        pd.testing.assert_frame_equal(runs[width].predictions, runs[1].predictions, check_exact=True)
        assert runs[width].curves == runs[1].curves and runs[width].eca_weights == runs[1].eca_weights
        for alone, beside in zip(runs[1].fold_models, runs[width].fold_models):
            assert all(torch.equal(alone["state_dict"][k], v) for k, v in beside["state_dict"].items())


@pytest.mark.parametrize("variable, value", [("ECASER_PARALLEL_FOLDS", "3"), ("ECASER_RESIDENT", "1")])
def test_opt_in_gpu_mechanisms_change_no_number_on_the_cpu(corpus, monkeypatch, variable, value):
    """What lets runtime.py stay out of the training stages' deps (tests/test_wiring.py): folds side by side and
    resident features train exactly the models of the default path, whose numbers the CPU tests check."""
    manifest, feats = corpus
    train, test = [(feats,), (feats + np.float16(1),)], (feats,)
    default = loop.cross_validate(manifest, train, test, config(folds=3))
    monkeypatch.setenv(variable, value)
    opted = loop.cross_validate(manifest, train, test, config(folds=3))
    pd.testing.assert_frame_equal(opted.predictions, default.predictions, check_exact=True)
    assert opted.curves == default.curves and opted.eca_weights == default.eca_weights


def test_progress_bars_change_no_number(corpus, monkeypatch):
    """What lets progress.py stay out of the training stages' deps: a run drawing its bar (forced on, as on a
    terminal) trains what a run without one trains."""
    manifest, feats = corpus
    monkeypatch.setenv("TQDM_DISABLE", "1")
    quiet = loop.cross_validate(manifest, [(feats,)], (feats,), config())
    monkeypatch.delenv("TQDM_DISABLE")
    drawn = io.StringIO()
    monkeypatch.setattr(loop.progress, "bar", lambda *a, **k: tqdm(*a, disable=False, file=drawn, **k))
    loud = loop.cross_validate(manifest, [(feats,)], (feats,), config())
    assert "epoch" in drawn.getvalue()
    pd.testing.assert_frame_equal(loud.predictions, quiet.predictions, check_exact=True)
    assert loud.curves == quiet.curves


def test_take_turns_interleaves_steps_and_keeps_the_order_of_results():
    def run(name, steps):
        for step in range(steps):
            log.append((name, step))
            yield
        return name

    log = []
    results = loop.take_turns([run("a", 3), run("b", 1), run("c", 2)], 2, torch.device("cpu"))
    assert results == ["a", "b", "c"]
    # b ends on its second turn and c takes its place beside a
    assert log == [("a", 0), ("b", 0), ("a", 1), ("a", 2), ("c", 0), ("c", 1)]


def test_features_resident_on_the_device_give_the_batches_of_the_memory_maps(corpus, tmp_path):
    """The GPU's gather (every version copied to the device once) against the CPU's memory-mapped rows."""
    manifest, feats = corpus
    np.save(tmp_path / "v.npy", feats)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    versions = [(mapped, mapped[:, ::-1]), (mapped + np.float16(1), mapped[:, ::-1] * np.float16(2))]
    y = manifest["label_index"].to_numpy()
    stats = [(torch.full((64, 1), 0.5), torch.full((64, 1), 2.0)), (torch.zeros(64, 1), torch.ones(64, 1))]
    examples = np.array([(1, 3), (0, 3), (1, 0), (0, 23), (1, 17)])
    cpu = torch.device("cpu")
    mapped_inputs, resident = loop.Inputs(versions, y, cpu), loop.Inputs(versions, y, cpu, resident=True)
    assert isinstance(resident.index(examples), torch.Tensor)
    (x, target), (x_resident, target_resident) = (mapped_inputs.batch(examples, stats),
                                                 resident.batch(resident.index(examples), stats))
    assert target.tolist() == target_resident.tolist() == y[[3, 3, 0, 23, 17]].tolist()
    for stream, (mean, std) in enumerate(stats):
        expected = (versions[1][stream][3].astype(np.float32) - mean.numpy()) / std.numpy()
        np.testing.assert_array_equal(x[stream][0].numpy(), expected)
        assert torch.equal(x[stream], x_resident[stream]) and x_resident[stream].dtype == torch.float32


def test_the_normaliser_of_resident_features_is_the_host_ones(corpus):
    """The device's float64 pass (resident features) against the host's, and both against numpy over the rows."""
    _, feats = corpus
    versions = [(feats, feats[:, ::-1] * np.float16(3)), (feats + np.float16(1), feats[:, ::-1])]
    rows = np.array([20, 1, 5, 2, 7, 11, 13, 3])
    cpu, y = torch.device("cpu"), np.zeros(24, np.int64)
    host = loop.Inputs(versions, y, cpu).normaliser(rows, chunk=3)
    device = loop.Inputs(versions, y, cpu, resident=True).normaliser(rows, chunk=3)
    for stream in range(2):
        x = np.concatenate([v[stream][rows] for v in versions]).astype(np.float64)
        mean, std = x.mean(axis=(0, 2))[:, None], x.std(axis=(0, 2))[:, None]
        for got_mean, got_std in (host[stream], device[stream]):
            assert got_mean.dtype == got_std.dtype == torch.float32 and got_mean.shape == (64, 1)
            np.testing.assert_allclose(got_mean.numpy(), mean, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(got_std.numpy(), std, rtol=1e-6)
        torch.testing.assert_close(device[stream], host[stream], rtol=1e-7, atol=1e-7)


def test_a_fold_file_gives_every_repeat_its_folds_and_the_metrics_file_its_audit_and_calibration(corpus, tmp_path):
    """cv.protocol file with two repeats, then record.record: the metrics file's calibration is scikit-learn's of the
    out-of-fold probabilities, its audit the fold file's (even clips against odd ones: speakers s0, s2 against s1,
    s3, every text on both sides)."""
    import json

    from sklearn.metrics import log_loss

    manifest, feats = corpus
    manifest = manifest.assign(text=[f"t{i % 3}" for i in range(24)])
    fold_file = tmp_path / "folds.csv"
    fold_file.write_text("id,fold\n" + "".join(f"u{i:02d},{i % 2 + 1}\n" for i in range(24)))
    cfg = config(epochs=1, repeats=2, protocol="file", fold_file=str(fold_file))
    result = loop.cross_validate(manifest, [(feats,)], (feats,), cfg)
    tested = {fold: set(g["id"]) for fold, g in result.predictions.groupby("fold")}
    assert tested[1] == tested[3] == {f"u{i:02d}" for i in range(0, 24, 2)} and tested[2] == tested[4]
    record.record(tmp_path / "out", tmp_path / "metrics.json", experiments.Run(cfg.model, ("v1",), "v1"), cfg, result,
                 (feats,), 1)
    written = json.loads((tmp_path / "metrics.json").read_text())
    p = result.predictions
    assert written["calibration"]["log_loss"] == pytest.approx(log_loss(p["true"], p[[f"p_{c}" for c in CLASSES]]))
    assert written["audit"]["speakers"]["shared"] == {"mean": 0, "min": 0, "max": 0}
    assert written["audit"]["texts"]["clips_seen_pct"] == {"mean": 100, "min": 100, "max": 100}
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert scores["audit"]["summary"] == "file folds: 0/2 speakers and 3/3 texts of every test fold seen in training"
    assert [f["fold"] for f in scores["audit"]["folds"]] == [1, 2, 3, 4]


def test_a_calibrated_run_fits_each_temperature_on_held_out_training_clips_and_scales_the_test_fold(corpus, tmp_path,
                                                                                                    monkeypatch):
    """validation_folds: each fold trains on folds.validation's fit part, its T minimises the log loss of the held-out
    part's logits (and of no test clip), the test fold's probabilities are softmax(logits / T); record.record's metrics
    are scikit-learn's of both, and the model states carry T."""
    import json

    from scipy.special import log_softmax
    from sklearn.metrics import log_loss

    from ecaser.evaluation import calibration
    from ecaser.training import folds

    manifest, feats = corpus
    fitted, seen = [], []
    original_temperature, original_normaliser = calibration.temperature, loop.Inputs.normaliser
    monkeypatch.setattr(calibration, "temperature", lambda y, z, **kw: fitted.append((y, z)) or
                        original_temperature(y, z, **kw))
    monkeypatch.setattr(loop.Inputs, "normaliser", lambda self, rows, *a: seen.append(np.sort(rows)) or
                        original_normaliser(self, rows, *a))
    cfg = config(epochs=1, folds=2, validation_folds=4)
    result = loop.cross_validate(manifest, [(feats,)], (feats,), cfg)
    splits = folds.split(manifest, 2, "stratified", 0)
    y = manifest["label_index"].to_numpy()
    for fold, ((train, test), (labels, logits), rows) in enumerate(zip(splits, fitted, seen), start=1):
        fit, held = folds.validation(manifest, train, 4, "stratified", fold - 1)
        np.testing.assert_array_equal(labels, y[held])  # fitted on the held-out part, in its order
        np.testing.assert_array_equal(rows, np.sort(fit))  # normalised (and trained) on the rest
        assert np.intersect1d(held, test).size == 0
        t = result.temperatures[fold]
        assert result.fold_models[fold - 1]["temperature"] == t

        def nll(temperature):
            return -log_softmax(logits.astype(float) / temperature, axis=1)[np.arange(len(labels)), labels].mean()

        assert nll(t) <= min(nll(t * 1.1), nll(t / 1.1)) + 1e-9  # a minimum
    columns = [f"p_{c}" for c in CLASSES]
    scaled, plain = result.predictions, result.softmax
    assert (scaled[["id", "fold", "true", "pred"]] == plain[["id", "fold", "true", "pred"]]).all().all()
    for fold, t in result.temperatures.items():  # independently: log of the softmax over T, normalised
        z = np.log(plain.loc[plain["fold"] == fold, columns].to_numpy(float)) / t
        np.testing.assert_allclose(scaled.loc[scaled["fold"] == fold, columns], np.exp(z) / np.exp(z).sum(1, keepdims=True),
                                   atol=2e-5)
    record.record(tmp_path / "out", tmp_path / "m.json", experiments.Run(cfg.model, ("v1",), "v1", validation=4), cfg,
                  result, (feats,), 1)
    written = json.loads((tmp_path / "m.json").read_text())
    assert written["calibration"]["log_loss"] == pytest.approx(log_loss(scaled["true"], scaled[columns]))
    assert written["uncalibrated"]["log_loss"] == pytest.approx(log_loss(plain["true"], plain[columns]))
    t = list(result.temperatures.values())
    assert written["temperature"] == pytest.approx({"mean": np.mean(t), "min": min(t), "max": max(t)})
    assert json.loads((tmp_path / "out" / "scores.json").read_text())["temperature"] == {"1": t[0], "2": t[1]}
    assert pd.read_csv(tmp_path / "out" / "predictions_softmax.csv")[columns].to_numpy() == pytest.approx(
        plain[columns].to_numpy(), abs=1e-6)
    assert json.loads((tmp_path / "out" / "config.json").read_text())["training"]["validation_folds"] == 4


def test_a_run_without_validation_folds_fits_no_temperature(corpus):
    manifest, feats = corpus
    result = loop.cross_validate(manifest, [(feats,)], (feats,), config(epochs=1))
    assert result.temperatures is None and result.softmax is None
    assert all("temperature" not in state for state in result.fold_models)
