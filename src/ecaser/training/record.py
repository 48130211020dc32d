"""What a training stage does with its experiments.Run: train it, then write its results folder and metrics file.

<out>/ (DVC-cached): config.json (what decides the numbers: the model's Spec, the versions, the loss and every
training setting, precision included), predictions.csv, curves.csv (per fold and epoch), eca_weights.json (ECA
runs), live/ (dvclive: per-epoch curves, fold means, and the confusion matrix for `dvc plots`).
<metrics>.json (DVC-cached too, so that a remote's run-cache restores it on another machine): UA, WA, ACC and
macro-F1 over folds x repeats (mean and 95 % interval), the calibration of the out-of-fold probabilities (ECE, Brier,
log loss: evaluation/calibration.py), the leakage audit's summary (`audit`: per speakers / texts, the test side's count, those
shared with training and the share of test clips seen, each as mean, min and max over folds: evaluation/leakage.py) and the
model's parameters, for `dvc metrics diff` and `dvc exp show`; scores.json in the results folder holds the rest:
each score's std, the optimistic best-epoch figures, each fold's scores, each class's recall, and the audit per fold
with its one-line summary. A calibrated run (stage `train_calibrated`) writes its temperature-scaled probabilities to
predictions.csv and the same clips' softmax to predictions_softmax.csv; its metrics add `uncalibrated` (the softmax's
ECE, Brier, log loss) and `temperature` (mean, min, max over folds; each fold's in scores.json). FLOPs are counted by the report from config.json: torch's flop counter
costs a process 2 s of imports, too much for every training stage.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from dvclive import Live

from .. import models
from ..data import dataset
from ..evaluation import calibration, leakage, metrics
from ..infra import atomic, params
from ..infra.errors import InputError, Interrupted
from ..models import bundle
from . import checkpoint, loop


def config(p, run):
    """loop.Config of a run: its model, and its loss over params.yaml's train and cv sections."""
    settings = params.training(p)
    if run.loss == "cross_entropy":  # the ablation's first row: gamma 0 and no class weights
        settings.update(focal_gamma=0.0, weighted=False)
    if run.protocol:  # train_protocol: another protocol for this run alone, so no fold file
        settings.update(protocol=run.protocol, fold_file=None, fold_file_md5=None)
    if run.validation:  # train_calibrated: part of each training fold held out for its temperature
        settings.update(validation_folds=run.validation)
    return loop.Config(run.model, **settings)


def features(train_versions, test_version, n_rows):
    """The memory-mapped feature files of a run, refused unless they share one shape."""
    train = [dataset.load_features(v, n_rows) for v in train_versions]
    test = dataset.load_features(test_version, n_rows)
    shapes = {f.shape for f in [*train, test]}
    if len(shapes) > 1:
        names = ", ".join(f"{v}: {f.shape}" for v, f in zip([*train_versions, test_version], [*train, test]))
        raise InputError(f"data/features: versions of one run must share a shape, got {names}")
    return [(f,) for f in train], (test,)


def run(p, run, out, metrics_path, save_model=None):
    """Train and score one Run; with save_model, also keep its fold models for `ecaser predict`."""
    cfg = config(p, run)
    parameters = models.parameters(run.model.build())  # also refuses bad architecture params before data is read
    manifest = dataset.load_manifest()
    if run.model.architecture == "dslstm":
        streams = dataset.load_dslstm(len(manifest))
        train, test = [streams], streams
    else:
        train, test = features(run.train, run.test, len(manifest))
    checkpoints = checkpoint.Checkpoints.of(cfg, train, test, manifest)
    try:
        result = loop.cross_validate(manifest, train, test, cfg, checkpoints)
        record(Path(out), Path(metrics_path), run, cfg, result, test, parameters)
        if save_model:
            data = params.data(p)
            bundle.save(save_model, run.model, result.fold_models, params.stft_version(p, run.test),
                        data["segment_s"], data["corpus"], run.test)
    except Interrupted as e:
        e.add_note(checkpoint.resumes(checkpoints))
        raise
    if checkpoints:  # only now: a stage stopped while writing its outputs resumes after the last epoch
        checkpoints.remove()
    return result


def record(out, metrics_path, run, cfg, result, test, parameters):
    scored(out, metrics_path, result.predictions, result.summary, run.model.classes, parameters, result.audit,
           cfg.protocol, result.softmax, result.temperatures)
    atomic.save_csv(out / "curves.csv", pd.DataFrame([c for fold in result.curves for c in fold]))
    if result.eca_weights:
        atomic.save_json(out / "eca_weights.json", result.eca_weights)
    log_live(out / "live", result.curves, result.predictions, run.model.classes)
    atomic.save_json(out / "config.json", {
        "model": run.model.to_dict(), "train": list(run.train), "test": run.test, "loss": run.loss,
        "protocol": run.protocol, "validation": run.validation, "training": cfg.record(), "inputs": [list(stream.shape[1:]) for stream in test],
    })


def scored(out, metrics_path, predictions, summary, classes, parameters, audit=None, protocol=None, softmax=None,
           temperatures=None):
    """What every run writes, whatever its model (the baselines' too): predictions.csv, scores.json and the metrics
    file. summary is loop.cross_validate's (metrics.summarise plus best_test_epoch and best_epoch_each); audit the
    leakage audit of its folds (leakage.audit), under cv.protocol `protocol`; softmax and temperatures a calibrated
    run's (module docstring)."""
    atomic.save_csv(out / "predictions.csv", predictions)
    calibrated = {}
    if temperatures:
        atomic.save_csv(out / "predictions_softmax.csv", softmax)
        t = list(temperatures.values())
        calibrated = {"uncalibrated": calibration.of_predictions(softmax, classes),
                      "temperature": {"mean": float(np.mean(t)), "min": min(t), "max": max(t)}}
    # the metrics file holds what `dvc exp show` compares across experiments (each score's mean and interval);
    # the results folder's scores.json the details: spreads, the optimistic epochs, each fold, each class's recall
    recall = metrics.recall(predictions["true"], predictions["pred"], len(classes))
    audit_block = {"audit": {"summary": leakage.sentence(audit, protocol), "folds": audit["folds"]}} if audit else {}
    atomic.save_json(out / "scores.json", {
        "std": {key: summary[key]["std"] for key in metrics.SUMMARY},
        **{key: summary[key] for key in ("best_test_epoch", "best_epoch_each", "folds")},
        "recall": dict(zip(classes, map(float, recall))), **audit_block,
        **({"temperature": {str(fold): t for fold, t in temperatures.items()}} if temperatures else {}),
    })
    atomic.save_json(metrics_path, {**{key: {end: summary[key][end] for end in ("mean", "low", "high")}
                                       for key in metrics.SUMMARY},
                                    "calibration": calibration.of_predictions(predictions, classes), **calibrated,
                                    **({"audit": audit["summary"]} if audit else {}),
                                    "model": {"parameters": parameters}})


def log_live(path, curves, predictions, classes):
    """Per-epoch curves averaged over folds, and the pooled confusion matrix, in dvclive's layout."""
    with Live(str(path), save_dvc_exp=False, dvcyaml=None, report=None) as live:
        for epoch in range(len(curves[0])):
            live.step = epoch + 1  # dvclive's step is the epoch, counted from 1 as in curves.csv
            live.log_metric("train/loss", float(np.mean([fold[epoch]["train_loss"] for fold in curves])))
            for key in ("UA", "WA", "ACC"):
                live.log_metric(f"test/{key}", float(np.mean([fold[epoch][key] for fold in curves])))
        names = np.array(classes)
        live.log_sklearn_plot("confusion_matrix", names[predictions["true"]], names[predictions["pred"]],
                              name="confusion_matrix.json")
