"""The paper's scores: UA (mean per-class recall), WA (accuracy) and their mean ACC, in percent."""

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix

KEYS = ("UA", "WA", "ACC")


def scores(y_true, y_pred):
    ua = 100 * float(balanced_accuracy_score(y_true, y_pred))
    wa = 100 * float(accuracy_score(y_true, y_pred))
    return {"UA": ua, "WA": wa, "ACC": (ua + wa) / 2}


def confusion(y_true, y_pred, n_classes):
    """Counts, true class by row; every class gets a row and column even when a fold lacks it."""
    return confusion_matrix(y_true, y_pred, labels=range(n_classes))


def summarise(per_fold):
    """Mean and spread of each score over the folds, and each fold's scores keyed by fold number (1, 2, ...).

    Keyed rather than listed so that `dvc metrics show` and `dvc exp show` can flatten them into columns.
    std is numpy's population std (ddof=0).

    The folds are all there are, not a sample of them, so ddof=0; it also keeps one fold's std at 0.
    """
    summary = {key: {"mean": float(np.mean([f[key] for f in per_fold])),
                     "std": float(np.std([f[key] for f in per_fold]))} for key in KEYS}
    return {**summary, "folds": {str(i): fold for i, fold in enumerate(per_fold, start=1)}}
