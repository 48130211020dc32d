"""A linear classifier over fixed-size clip features (eGeMAPS; later an SSL layer), cross-validated on the folds
every other run uses, with the same outputs as a CNN run so that `compare`, the report and `dvc metrics diff` read
it like any run.

Per fold, a scikit-learn Pipeline (StandardScaler, then LogisticRegression, or LinearSVC with probabilities from
CalibratedClassifierCV, both class_weight='balanced') is fitted by GridSearchCV over C on the training rows alone:
its inner folds are ecaser.folds.split of the training fold (same protocol, so with cv.protocol speaker no inner
speaker straddles either), scored by balanced accuracy (UA, the paper's headline score), and the best C is refitted
on the whole training fold. The test rows are only ever predicted: they choose nothing and scale nothing.
"""

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from ..evaluation import leakage, metrics
from ..infra import atomic, params, progress
from ..training import folds, loop
from ..training import record as written  # record() below would shadow the module
from ..infra.errors import InputError

MODELS = ("logreg", "linear_svm")
MAX_ITER = 10_000  # the solvers' iteration cap: high enough that the demo's and EMODB's fits converge


@dataclass(frozen=True)
class Config:
    """What decides a linear run's numbers: the classifier, its C grid and inner folds; the outer folds (cv.*) and
    their seed (train.seed) as every run has them."""

    model: str
    C: tuple
    inner_folds: int
    folds: int
    repeats: int
    protocol: str
    seed: int
    fold_file: str | None = None  # cv.fold_file, for cv.protocol file
    fold_file_md5: str | None = None  # its content, so that an edited fold file is another run


def config(p, section):
    """The `section` params (model, C, inner_folds) with cv.* and train.seed, checked."""
    model = params.get(p, f"{section}.model")
    if model not in MODELS:
        raise InputError(f"params: '{section}.model' must be one of {', '.join(MODELS)}, got {model!r}")
    grid = params.get(p, f"{section}.C")
    if (not isinstance(grid, list) or not grid
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) and c > 0 for c in grid)):
        raise InputError(f"params: '{section}.C' must be a non-empty list of positive numbers, got {grid!r}")
    inner = params.get(p, f"{section}.inner_folds")
    if isinstance(inner, bool) or not isinstance(inner, int) or inner < 2:
        raise InputError(f"params: '{section}.inner_folds' must be an integer >= 2, got {inner!r}")
    return Config(model, tuple(float(c) for c in grid), inner, **params.folds(p))


def estimator(model, inner_folds, seed):
    """The unfitted Pipeline and the name of its C in GridSearchCV's grid (liblinear's coordinate descent shuffles
    with `seed`, so a LinearSVC run repeats exactly)."""
    if model == "logreg":
        classifier, key = LogisticRegression(class_weight="balanced", max_iter=MAX_ITER), "classify__C"
    else:  # LinearSVC has no probabilities: sigmoid calibration on folds of the training rows it is given
        svm = LinearSVC(class_weight="balanced", max_iter=MAX_ITER, random_state=seed)
        classifier, key = CalibratedClassifierCV(svm, method="sigmoid", cv=inner_folds), "classify__estimator__C"
    return Pipeline([("scale", StandardScaler()), ("classify", classifier)]), key


def fit(features, manifest, train_rows, cfg, section="egemaps"):
    """The GridSearchCV over cfg.C, fitted on the training rows only and refitted there with the best C."""
    train = manifest.iloc[np.asarray(train_rows)].reset_index(drop=True)
    try:
        # a fold file names the outer folds only: the inner ones are stratified
        inner = folds.split(train, cfg.inner_folds, "stratified" if cfg.protocol == "file" else cfg.protocol, cfg.seed)
    except InputError as e:
        raise InputError(f"params: '{section}.inner_folds' ({cfg.inner_folds}) does not fit a training fold of "
                         f"{len(train)} clips ({e})") from None
    pipeline, key = estimator(cfg.model, cfg.inner_folds, cfg.seed)
    search = GridSearchCV(pipeline, {key: list(cfg.C)}, scoring="balanced_accuracy", cv=inner, refit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a C far too large for the data: its UA tells
        search.fit(features[train_rows], train["label_index"].to_numpy())
    return search


def probabilities(search, x, n_classes):
    """Class probabilities [n, n_classes] (a class the training fold lacked gets 0)."""
    probs = np.zeros((len(x), n_classes))
    probs[:, search.classes_] = search.predict_proba(x)
    return probs


def parameters(search):
    """The fitted classifier's learned numbers: weights and intercepts (and each calibrator's two)."""
    classifier = search.best_estimator_.named_steps["classify"]
    if isinstance(classifier, LogisticRegression):
        return int(classifier.coef_.size + classifier.intercept_.size)
    return int(sum(c.estimator.coef_.size + c.estimator.intercept_.size + 2 * len(c.calibrators)
                   for c in classifier.calibrated_classifiers_))


@dataclass
class Result:
    predictions: pd.DataFrame  # id, repeat, fold, true, pred, p_<class>: as loop.cross_validate's
    summary: dict  # metrics.summarise of the folds, with best_test_epoch and best_epoch_each (see cross_validate)
    searches: list  # per fold: the fitted GridSearchCV
    chosen: dict  # {fold: the C it chose}
    audit: dict  # leakage.audit of the folds, as every run's


def cross_validate(features, manifest, cfg, classes, section="egemaps"):
    """Every fold of every repeat, on loop.repeated_splits: the CNN's folds, exactly.

    A linear fit has no epochs: its one fit is its last epoch, so best_test_epoch and best_epoch_each (the
    optimistic figures of the epoch-trained runs) equal its scores, and no per-epoch curves exist.
    """
    if len(features) != len(manifest):
        raise InputError(f"features: {len(features)} rows for the manifest's {len(manifest)} clips")
    splits = loop.repeated_splits(manifest, cfg.folds, cfg.repeats, cfg.protocol, cfg.seed, cfg.fold_file)
    tables, per_fold, searches = [], [], []
    for fold, (train_rows, test_rows) in enumerate(progress.bar(splits, desc=section, unit="fold"), start=1):
        search = fit(features, manifest, train_rows, cfg, section)
        probs = probabilities(search, features[test_rows], len(classes))
        tables.append(loop.fold_predictions(manifest, test_rows, fold, cfg.folds, probs, classes))
        per_fold.append(metrics.scores(tables[-1]["true"], tables[-1]["pred"]))
        searches.append(search)
    summary = metrics.summarise(per_fold)
    once = [[scores] for scores in per_fold]  # each fold's one "epoch"
    summary["best_test_epoch"] = loop.best_test_epoch(once)
    summary["best_epoch_each"] = loop.best_epoch_each(once)
    chosen = {str(fold): float(next(iter(s.best_params_.values()))) for fold, s in enumerate(searches, start=1)}
    return Result(pd.concat([pd.DataFrame(t) for t in tables], ignore_index=True), summary, searches, chosen,
                  leakage.audit(manifest, splits))


def record(out, metrics_path, result, cfg, classes, inputs):
    """The run's results folder and metrics file, as a CNN run's (record.scored writes predictions.csv, scores.json
    and the metrics file); config.json has a CNN's keys, its model the classifier. No curves.csv, live/ or
    eca_weights.json: there are no epochs, hence no dvclive curves, and no ECA."""
    out = Path(out)
    written.scored(out, Path(metrics_path), result.predictions, result.summary, list(classes),
                  parameters(result.searches[0]), result.audit, cfg.protocol)
    loss = "log_loss" if cfg.model == "logreg" else "hinge, sigmoid-calibrated"
    atomic.save_json(out / "config.json", {
        "model": {"architecture": cfg.model, "classes": list(classes)}, "train": [inputs], "test": inputs,
        "protocol": None,  # cv.protocol's folds, as a CNN run without train_protocol's override
        "validation": None,  # nothing of a training fold held out for a temperature (only the train_calibrated stage does)
        "loss": loss, "training": {**asdict(cfg), "C": list(cfg.C), "scoring": "balanced_accuracy",
                                   "max_iter": MAX_ITER},
        "inputs": [list(np.shape(result.searches[0].best_estimator_.named_steps["scale"].mean_))],
        "chosen_C": result.chosen,
    })
