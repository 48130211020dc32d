import numpy as np
import pytest

from ecaser.metrics import confusion, scores, summarise

# class 0: 3 of 4 right, class 1: 1 of 2, class 2: 4 of 4
Y_TRUE = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
Y_PRED = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]


def test_scores_by_hand():
    result = scores(Y_TRUE, Y_PRED)
    assert result == pytest.approx({"UA": 100 * (0.75 + 0.5 + 1.0) / 3, "WA": 80.0, "ACC": (75.0 + 80.0) / 2})
    assert all(type(v) is float for v in result.values())


def test_confusion_by_hand_with_an_absent_class():
    matrix = confusion(Y_TRUE, Y_PRED, 4)
    expected = [[3, 1, 0, 0], [0, 1, 1, 0], [0, 0, 4, 0], [0, 0, 0, 0]]
    np.testing.assert_array_equal(matrix, expected)
    assert np.issubdtype(matrix.dtype, np.integer)


def test_summarise_population_std():
    folds = [{"UA": 70.0, "WA": 80.0, "ACC": 75.0}, {"UA": 80.0, "WA": 90.0, "ACC": 85.0}]
    result = summarise(folds)
    assert result["UA"] == {"mean": 75.0, "std": 5.0}
    assert result["WA"] == {"mean": 85.0, "std": 5.0}
    assert result["ACC"] == {"mean": 80.0, "std": 5.0}
    assert result["folds"] == {"1": folds[0], "2": folds[1]}
