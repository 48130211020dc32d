"""The paper's scores: UA (mean per-class recall), WA (accuracy) and their mean ACC, in percent; and macro-F1,
which weighs precision too, so a model that predicts mostly one class cannot hide behind its recall; and their
mean and interval over folds. stats.py, which compares runs, builds on this module, never the other way round."""

import numpy as np
from scipy import special, stats
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from ..infra.errors import InputError

KEYS = ("UA", "WA", "ACC")  # the paper's
SUMMARY = (*KEYS, "F1")
CLIP = 0.1  # percent: fold scores are clipped to [CLIP, 100 - CLIP] before the logit, so 0 and 100 stay finite


def scores(y_true, y_pred):
    ua = 100 * float(balanced_accuracy_score(y_true, y_pred))
    wa = 100 * float(accuracy_score(y_true, y_pred))
    f1 = 100 * float(f1_score(y_true, y_pred, average="macro", labels=np.unique(y_true), zero_division=0))
    return {"UA": ua, "WA": wa, "ACC": (ua + wa) / 2, "F1": f1}


def recall(y_true, y_pred, n_classes):
    """Each class's recall in percent (pooled over the clips given); 0 for a class with no clips."""
    counts = confusion(y_true, y_pred, n_classes)
    return 100 * counts.diagonal() / np.maximum(counts.sum(axis=1), 1)


def confusion(y_true, y_pred, n_classes):
    """Counts, true class by row; every class gets a row and column even when a fold lacks it."""
    return confusion_matrix(y_true, y_pred, labels=range(n_classes))


def interval(values, confidence=0.95):
    """Mean, std and interval of per-fold scores in percent (folds x repeats, any shape), the interval inside
    [0, 100].

    A score is a proportion, so the interval is the t-interval of the mean on the logit scale, mapped back: each fold
    score p (clipped to [CLIP, 100 - CLIP] %, so that a fold at 0 or 100 stays finite) becomes logit(p / 100), the
    t-interval of their mean (ddof=1, n - 1 degrees of freedom) is taken there, and its ends go back through the
    logistic function. A t-interval on the percent scale itself can leave [0, 100] (the demo's macro-F1 read
    [-1.0, 57.3]); this one cannot, and it is asymmetric near the bounds, as a proportion's uncertainty is. Folds
    that all score the same give the interval [score, score].

    mean is the plain mean of the scores, as the tables print it, and std has ddof=1, unlike summarise's ddof=0:
    here the folds are a sample of the splits we could have drawn, and the interval is about the mean over all of
    them.
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size < 2:
        raise InputError(f"metrics: an interval needs >= 2 fold scores, got {values.size}")
    if not ((values >= 0) & (values <= 100)).all():
        raise InputError(f"metrics: fold scores must be percentages in [0, 100], got {values.min()}..{values.max()}")
    mean, std = float(values.mean()), float(values.std(ddof=1))
    if std == 0:
        return {"mean": mean, "std": 0.0, "low": mean, "high": mean}
    z = special.logit(np.clip(values, CLIP, 100 - CLIP) / 100)
    half = stats.t.ppf((1 + confidence) / 2, values.size - 1) * z.std(ddof=1) / np.sqrt(values.size)
    low, high = 100 * special.expit(z.mean() + np.array([-half, half]))
    return {"mean": mean, "std": std, "low": float(low), "high": float(high)}


def summarise(per_fold):
    """Mean, spread and 95 % interval of each score over the folds, and each fold's scores keyed by fold number.

    std is numpy's population std (ddof=0): the spread of these folds, as the tables print it. low and high are
    the logit-scale t-interval of the mean (interval, ddof=1), inside [0, 100]: the folds as a sample of the splits
    one could draw.
    """
    summary = {}
    for key in SUMMARY:
        values = [f[key] for f in per_fold]
        ci = interval(values)
        summary[key] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "low": ci["low"],
                        "high": ci["high"]}
    return {**summary, "folds": {str(i): fold for i, fold in enumerate(per_fold, start=1)}}
