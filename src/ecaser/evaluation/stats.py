"""Whether one run beats another: intervals, paired tests and a multiple-comparison correction.

Every comparison is paired, two runs scored on the same folds and clips, so clip and fold difficulty cancel out.
Distributions, tests and corrections come from scipy.stats and statsmodels; only the resampling is ours.
"""

import numpy as np
from scipy import stats
from statsmodels.stats import contingency_tables, multitest

from . import metrics
from ..infra.errors import InputError


def corrected_ttest(a, b, n_train, n_test, confidence=0.95):
    """Nadeau & Bengio's (2003) corrected resampled t-test of paired per-fold scores, a - b.

    Folds share most of their training clips, so their scores are correlated and the plain paired t-test's
    variance (1/J) is too small, giving far too many "significant" differences; the correction multiplies it by
    (1/J + n_test/n_train), J = folds x repeats. n_train and n_test are clips per fold (their means if unequal).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.size < 2:
        raise InputError(f"stats: paired fold scores need the same shape and >= 2 folds, got {a.shape} and {b.shape}")
    d = (a - b).ravel()
    mean, dof = float(d.mean()), d.size - 1
    se = float(np.sqrt((1 / d.size + n_test / n_train) * d.var(ddof=1)))
    half = float(stats.t.ppf((1 + confidence) / 2, dof) * se)
    if se == 0:  # every fold moved by the same amount: certain if it is not zero, no evidence if it is
        p = 1.0 if mean == 0 else 0.0
    else:
        p = float(2 * stats.t.sf(abs(mean) / se, dof))
    return {"diff": mean, "low": mean - half, "high": mean + half, "p": p}


def mcnemar(true, pred_a, pred_b):
    """Exact McNemar test of two runs' clip-level correctness.

    Only the clips one run gets right and the other wrong (the off-diagonal) carry evidence; exact because on
    small corpora there are often too few of them for the chi-square approximation.
    table is [[both right, only a right], [only b right, both wrong]].
    """
    true, pred_a, pred_b = (np.asarray(x) for x in (true, pred_a, pred_b))
    if not true.shape == pred_a.shape == pred_b.shape:
        raise InputError(f"stats: McNemar needs the same clips, got {true.size}, {pred_a.size} and {pred_b.size}")
    right_a, right_b = pred_a == true, pred_b == true
    table = np.array([[np.sum(right_a & right_b), np.sum(right_a & ~right_b)],
                      [np.sum(~right_a & right_b), np.sum(~right_a & ~right_b)]])
    return {"table": table, "p": float(contingency_tables.mcnemar(table, exact=True).pvalue)}


def speaker_confusions(true, pred, speakers, n_classes):
    """One confusion matrix per speaker, [speakers, classes, classes]: a resample of speakers sums theirs."""
    return np.stack([metrics.confusion(true[speakers == s], pred[speakers == s], n_classes)
                     for s in np.unique(speakers)])


def pooled(confusions):
    """UA, WA and ACC (percent) of summed confusion matrices [..., classes, classes], as metrics.scores gives them:
    a class with no clips is left out of UA, not scored 0."""
    support = confusions.sum(axis=-1).astype(float)
    right = confusions.diagonal(axis1=-2, axis2=-1)
    ua = 100 * np.nanmean(right / np.where(support == 0, np.nan, support), axis=-1)
    wa = 100 * right.sum(axis=-1) / support.sum(axis=-1)
    return {"UA": ua, "WA": wa, "ACC": (ua + wa) / 2}


def cluster_bootstrap(true, pred_a, pred_b, speakers, n_resamples=10_000, seed=0, confidence=0.95):
    """Paired bootstrap of UA(a) - UA(b), resampling whole speakers.

    A speaker's clips share a voice and recording, so they are not independent; resampling clips would understate
    the spread, resampling speakers does not. Each resample scores both runs on the same speakers (paired).
    The p-value is the smallest two-sided level whose percentile interval excludes 0, counting the observed
    sample as one resample so that it is never 0.
    """
    true, pred_a, pred_b, speakers = (np.asarray(x) for x in (true, pred_a, pred_b, speakers))
    if not true.shape == pred_a.shape == pred_b.shape == speakers.shape:
        raise InputError(f"stats: the bootstrap needs one speaker per clip of both runs, got {true.size}, "
                         f"{pred_a.size}, {pred_b.size} and {speakers.size}")
    n_classes = int(max(true.max(), pred_a.max(), pred_b.max())) + 1
    conf_a, conf_b = (speaker_confusions(true, pred, speakers, n_classes) for pred in (pred_a, pred_b))
    n_speakers = len(conf_a)

    def ua_difference(drawn, axis=-1):
        drawn = np.moveaxis(drawn, axis, -1)
        return pooled(conf_a[drawn].sum(axis=-3))["UA"] - pooled(conf_b[drawn].sum(axis=-3))["UA"]

    result = stats.bootstrap((np.arange(n_speakers),), ua_difference, n_resamples=n_resamples, vectorized=True,
                             confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    diffs = result.bootstrap_distribution
    tail = min(np.sum(diffs <= 0), np.sum(diffs >= 0)) + 1
    return {"diff": float(ua_difference(np.arange(n_speakers))),
            "low": float(result.confidence_interval.low), "high": float(result.confidence_interval.high),
            "p": min(1.0, float(2 * tail / (diffs.size + 1)))}


def speaker_bootstrap(true, pred, speakers, n_classes, n_resamples=10_000, seed=0, confidence=0.95):
    """UA, WA and ACC of one run's predictions, each with a percentile interval from resampling whole speakers
    (why speakers, not clips: cluster_bootstrap)."""
    true, pred, speakers = (np.asarray(x) for x in (true, pred, speakers))
    if not true.shape == pred.shape == speakers.shape:
        raise InputError(f"stats: the bootstrap needs one prediction and speaker per clip, got {true.size}, "
                         f"{pred.size} and {speakers.size}")
    confusions = speaker_confusions(true, pred, speakers, n_classes)
    if len(confusions) < 2:
        raise InputError(f"stats: a speaker bootstrap needs >= 2 speakers, got {len(confusions)}")

    def scores(drawn, axis=-1):
        return np.stack(list(pooled(confusions[np.moveaxis(drawn, axis, -1)].sum(axis=-3)).values()))

    result = stats.bootstrap((np.arange(len(confusions)),), scores, n_resamples=n_resamples, vectorized=True,
                             confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    observed = scores(np.arange(len(confusions)))
    return {key: {"value": float(observed[i]), "low": float(result.confidence_interval.low[i]),
                  "high": float(result.confidence_interval.high[i])} for i, key in enumerate(metrics.KEYS)}


def holm(pvalues, alpha=0.05):
    """Holm's step-down correction over the report's family of comparisons.

    Controls the chance of any false "significant" across the family, without assuming the tests independent
    (they share runs); uniformly more powerful than Bonferroni.
    """
    reject, adjusted, _, _ = multitest.multipletests(pvalues, alpha=alpha, method="holm")
    return {"adjusted": adjusted, "reject": reject}


def paired(pred_a, pred_b):
    """Both predictions.csv frames sorted by (fold, id); InputError if they cover different clips or folds.

    Paired tests are only valid on the same clips under the same split; different seeds or protocols would pair
    clips scored by models that saw different training data.
    """
    keys_a, keys_b = (set(zip(p["id"], p["fold"])) for p in (pred_a, pred_b))
    if keys_a != keys_b or len(keys_a) != len(pred_a) or len(keys_b) != len(pred_b):
        raise InputError(f"stats: the runs were not scored on the same (id, fold) pairs: {len(keys_a - keys_b)} "
                         f"only in the first, {len(keys_b - keys_a)} only in the second, "
                         f"{len(pred_a)} and {len(pred_b)} rows")
    return tuple(p.sort_values(["fold", "id"], ignore_index=True) for p in (pred_a, pred_b))
