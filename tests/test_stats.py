import numpy as np
import pandas as pd
import pytest
from scipy.special import betainc
from scipy.stats import binomtest, ttest_1samp

from ecaser.evaluation import stats
from ecaser.infra.errors import InputError
from ecaser.evaluation.metrics import interval, scores

# textbook two-sided 95 % critical values of Student's t
T_975 = {4: 2.776445}


def corpus(seed=0):
    """10 speakers x 40 clips over 4 classes, class 3 only from speakers 0 and 1 (so some resamples lack it)."""
    rng = np.random.default_rng(seed)
    speakers = np.repeat(np.arange(10), 40)
    true = np.where(speakers < 2, np.tile(np.arange(4), 100), np.tile(np.arange(3), 134)[:400])
    return true, speakers, rng


def per_fold_ua(true, pred, fold):
    return [scores(true[fold == f], pred[fold == f])["UA"] for f in np.unique(fold)]


def test_corrected_ttest_by_hand():
    a = np.array([80.0, 82.0, 78.0, 85.0, 81.0])
    b = np.array([78.0, 80.0, 79.0, 81.0, 80.0])
    # d = [2, 2, -1, 4, 1]: mean 1.6, sum of squared deviations 13.2, variance 13.2 / 4 = 3.3
    se = np.sqrt((1 / 5 + 100 / 400) * 3.3)
    t = 1.6 / se
    p = betainc(4 / 2, 1 / 2, 4 / (4 + t ** 2))  # two-sided tail of t with 4 dof, via the regularised beta
    result = stats.corrected_ttest(a, b, n_train=400, n_test=100)
    assert result == pytest.approx({"diff": 1.6, "low": 1.6 - T_975[4] * se, "high": 1.6 + T_975[4] * se, "p": p},
                                   rel=1e-6)
    # the correction only rescales the plain paired t statistic
    plain = ttest_1samp(a - b, 0)
    assert t == pytest.approx(plain.statistic * np.sqrt((1 / 5) / (1 / 5 + 1 / 4)))
    assert result["p"] > plain.pvalue


def test_corrected_ttest_counts_every_fold_of_every_repeat():
    rng = np.random.default_rng(1)
    a, b = rng.normal(80, 2, (5, 2)), rng.normal(79, 2, (5, 2))
    d = (a - b).ravel()
    t = d.mean() / np.sqrt((1 / 10 + 1 / 4) * d.var(ddof=1))
    assert stats.corrected_ttest(a, b, 400, 100)["p"] == pytest.approx(betainc(9 / 2, 1 / 2, 9 / (9 + t ** 2)))


def test_corrected_ttest_refuses_unpaired_scores():
    with pytest.raises(InputError, match="same shape"):
        stats.corrected_ttest([80.0, 81.0, 82.0], [80.0, 81.0], 400, 100)


def test_mcnemar_by_hand():
    true = np.zeros(12, dtype=int)
    right_a = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
    right_b = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0], dtype=bool)
    result = stats.mcnemar(true, np.where(right_a, 0, 1), np.where(right_b, 0, 2))
    np.testing.assert_array_equal(result["table"], [[5, 4], [1, 2]])
    # exact: 1 of the 5 discordant clips favours b; under H0 each favours either run with probability 1/2
    assert result["p"] == pytest.approx(binomtest(1, 5, 0.5).pvalue)
    assert result["p"] == pytest.approx(2 * (1 + 5) / 2 ** 5)


def test_identical_runs_show_no_difference():
    true, speakers, rng = corpus()
    pred = np.where(rng.random(400) < 0.6, true, rng.integers(0, 4, 400))
    folds = rng.normal(70, 3, (5, 2))
    assert stats.corrected_ttest(folds, folds, 400, 100) == {"diff": 0.0, "low": 0.0, "high": 0.0, "p": 1.0}
    assert stats.mcnemar(true, pred, pred)["p"] == 1.0
    assert stats.cluster_bootstrap(true, pred, pred, speakers, n_resamples=500) == {"diff": 0.0, "low": 0.0,
                                                                                    "high": 0.0, "p": 1.0}


def test_perfect_run_against_chance():
    true, speakers, rng = corpus()
    chance = rng.integers(0, 4, 400)
    fold = rng.permutation(np.arange(400) % 5)
    ttest = stats.corrected_ttest(per_fold_ua(true, true, fold), per_fold_ua(true, chance, fold), 320, 80)
    assert ttest["low"] > 50 and ttest["p"] < 1e-4
    assert stats.mcnemar(true, true, chance)["p"] < 1e-30
    boot = stats.cluster_bootstrap(true, true, chance, speakers, n_resamples=2000)
    assert boot["diff"] == pytest.approx(100 - scores(true, chance)["UA"])
    assert boot["low"] > 50 and boot["p"] == pytest.approx(2 / 2001)
    assert all(type(v) is float for v in [*ttest.values(), *boot.values(), interval([1, 2])["low"]])


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_cluster_bootstrap_matches_a_speaker_resampling_loop():
    true, speakers, rng = corpus()
    pred_a = np.where(rng.random(400) < 0.7, true, rng.integers(0, 4, 400))
    pred_b = np.where(rng.random(400) < 0.6, true, rng.integers(0, 4, 400))
    boot = stats.cluster_bootstrap(true, pred_a, pred_b, speakers, n_resamples=2000, seed=3)
    assert boot["diff"] == pytest.approx(scores(true, pred_a)["UA"] - scores(true, pred_b)["UA"])
    # an independent bootstrap: draw speakers, gather their clips, score with metrics.scores
    loop = np.random.default_rng(4)
    diffs = []
    for _ in range(1000):
        rows = np.concatenate([np.flatnonzero(speakers == s) for s in loop.integers(0, 10, 10)])
        diffs.append(scores(true[rows], pred_a[rows])["UA"] - scores(true[rows], pred_b[rows])["UA"])
    low, high = np.percentile(diffs, [2.5, 97.5])
    assert boot["low"] == pytest.approx(low, abs=1.0) and boot["high"] == pytest.approx(high, abs=1.0)
    assert stats.cluster_bootstrap(true, pred_a, pred_b, speakers, n_resamples=2000, seed=3) == boot


def test_cluster_bootstrap_refuses_mismatched_clips():
    with pytest.raises(InputError, match="one speaker per clip"):
        stats.cluster_bootstrap([0, 1, 2], [0, 1, 2], [0, 1, 2], ["s1", "s2"])


def test_holm_by_hand():
    result = stats.holm([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; running max -> 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(result["adjusted"], [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_array_equal(result["reject"], [True, False, False, True])


def predictions(ids, folds, pred):
    return pd.DataFrame({"id": ids, "fold": folds, "true": 0, "pred": pred})


def test_paired_aligns_the_same_clips():
    a = predictions(["c", "a", "b"], [2, 1, 1], [0, 1, 1])  # the runs list their clips in different orders
    b = predictions(["a", "b", "c"], [1, 1, 2], [0, 0, 0])
    first, second = stats.paired(a, b)
    assert list(first["id"]) == list(second["id"]) == ["a", "b", "c"]
    assert list(first["pred"]) == [1, 1, 0]


@pytest.mark.parametrize("ids, folds", [(["a", "b", "c"], [1, 2, 2]),  # same clips, another split
                                        (["a", "b", "d"], [1, 1, 2]),  # another clip
                                        (["a", "b", "c", "c"], [1, 1, 2, 2])])  # a clip twice
def test_paired_refuses_unpaired_runs(ids, folds):
    with pytest.raises(InputError, match=r"same \(id, fold\) pairs"):
        stats.paired(predictions(["a", "b", "c"], [1, 1, 2], 0), predictions(ids, folds, 0))
