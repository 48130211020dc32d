import numpy as np
import pytest

from ecaser.infra.errors import InputError
from ecaser.evaluation.metrics import confusion, interval, recall, scores, summarise

T_975_5 = 2.570582  # textbook two-sided 95 % critical values of Student's t, 5, 2 and 1 dof
T_975_2 = 4.302653
T_975_1 = 12.706205


def logit_interval(values, t):
    """The logit-scale t-interval written out: clip to [0.1, 99.9] %, log-odds, mean +- t s / sqrt(n), back."""
    p = np.clip(np.asarray(values, float).ravel(), 0.1, 99.9) / 100
    z = np.log(p / (1 - p))
    half = t * np.sqrt(((z - z.mean()) ** 2).sum() / (z.size - 1)) / np.sqrt(z.size)
    return [100 / (1 + np.exp(-(z.mean() + s * half))) for s in (-1, 1)]

# class 0: 3 of 4 right, class 1: 1 of 2, class 2: 4 of 4
Y_TRUE = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
Y_PRED = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]


def test_scores_by_hand():
    result = scores(Y_TRUE, Y_PRED)
    # F1 per class from precision and recall: class 0 3/3 and 3/4, class 1 1/2 and 1/2, class 2 4/5 and 4/4
    f1 = [2 * p * r / (p + r) for p, r in ((1.0, 0.75), (0.5, 0.5), (0.8, 1.0))]
    assert result == pytest.approx({"UA": 100 * (0.75 + 0.5 + 1.0) / 3, "WA": 80.0, "ACC": (75.0 + 80.0) / 2,
                                    "F1": 100 * sum(f1) / 3})
    assert all(type(v) is float for v in result.values())


def test_confusion_by_hand_with_an_absent_class():
    matrix = confusion(Y_TRUE, Y_PRED, 4)
    expected = [[3, 1, 0, 0], [0, 1, 1, 0], [0, 0, 4, 0], [0, 0, 0, 0]]
    np.testing.assert_array_equal(matrix, expected)
    assert np.issubdtype(matrix.dtype, np.integer)


def test_summarise_population_std_and_logit_interval():
    folds = [{"UA": 70.0, "WA": 80.0, "ACC": 75.0, "F1": 60.0}, {"UA": 80.0, "WA": 90.0, "ACC": 85.0, "F1": 70.0}]
    result = summarise(folds)
    for key, mean in (("UA", 75.0), ("WA", 85.0), ("ACC", 80.0), ("F1", 65.0)):
        low, high = logit_interval([mean - 5, mean + 5], T_975_1)
        assert result[key] == pytest.approx({"mean": mean, "std": 5.0, "low": low, "high": high})
        assert 0 <= low < mean < high <= 100
    assert result["folds"] == {"1": folds[0], "2": folds[1]}


def test_recall_per_class_by_hand():
    np.testing.assert_allclose(recall(Y_TRUE, Y_PRED, 4), [75.0, 50.0, 100.0, 0.0])


def test_interval_by_hand():
    values = np.array([[70.0, 72.0], [75.0, 71.0], [68.0, 74.0]])  # 3 folds x 2 repeats
    flat = values.ravel()
    mean = flat.sum() / 6
    std = np.sqrt(((flat - mean) ** 2).sum() / 5)
    low, high = logit_interval(values, T_975_5)
    assert interval(values) == pytest.approx({"mean": mean, "std": std, "low": low, "high": high}, rel=1e-6)


@pytest.mark.parametrize("values", [[0, 0, 0], [100, 100, 100], [0, 0, 100], [0, 100, 100], [100, 100, 99],
                                    [0, 1, 0], [0, 50, 100], [2.0, 57.3, 3.1]])
def test_interval_never_leaves_0_to_100_on_extreme_folds(values):
    result = interval(values)
    assert 0 <= result["low"] <= result["high"] <= 100
    if len(set(values)) == 1:  # no spread: the interval is the score
        assert result["low"] == result["high"] == values[0]
    else:
        assert [result["low"], result["high"]] == pytest.approx(logit_interval(values, T_975_2), rel=1e-6, abs=1e-6)
        # a plain t-interval of these folds would leave [0, 100] (the demo's macro-F1 read [-1.0, 57.3])
        half = T_975_2 * np.std(values, ddof=1) / np.sqrt(3)
        assert np.mean(values) - half < 0 or np.mean(values) + half > 100


def test_interval_refuses_scores_that_are_not_percentages():
    with pytest.raises(InputError, match=r"percentages in \[0, 100\], got -1.0..50.0"):
        interval([-1.0, 50.0])


def test_interval_needs_two_scores():
    with pytest.raises(InputError, match="2 fold scores"):
        interval([80.0])
