"""Calibration scores against scikit-learn and computations written out another way."""

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, log_loss

from ecaser.evaluation import calibration
from ecaser.infra.errors import InputError


def sample(n=3000, classes=4, sharpen=1.0, seed=0):
    """Logits z and labels drawn from softmax(z): softmax(z) is calibrated, softmax(sharpen * z) is not."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, classes))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return z * sharpen, y


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ece_by_loop(y, p, bins=15):
    """Guo et al.'s ECE clip by clip: bin (lo, hi] of the top probability (0 in the first), |acc - conf| weighted."""
    total = 0.0
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i in range(len(y)) if (lo < conf[i] <= hi) or (b == 0 and conf[i] == 0)]
        if members:
            acc = sum(pred[i] == y[i] for i in members) / len(members)
            total += len(members) / len(y) * abs(acc - sum(conf[i] for i in members) / len(members))
    return total


@pytest.mark.parametrize("sharpen", [1.0, 3.0, 0.3])
def test_scores_against_sklearn_and_formulas(sharpen):
    z, y = sample(sharpen=sharpen)
    p = softmax(z)
    result = calibration.scores(y, p)
    onehot = np.eye(4)[y]
    assert result["Brier"] == pytest.approx(np.mean(np.sum((p - onehot) ** 2, axis=1)))
    assert result["Brier"] == pytest.approx(sum(brier_score_loss(y == k, p[:, k]) for k in range(4)))  # one vs rest
    assert result["log_loss"] == pytest.approx(-np.mean(np.log(p[np.arange(len(y)), y])))
    assert result["log_loss"] == pytest.approx(log_loss(y, p))
    assert result["ECE"] == pytest.approx(ece_by_loop(y, p), abs=1e-12)


def test_ece_of_calibrated_probabilities_is_small_and_of_sharpened_ones_large():
    z, y = sample(n=20000)
    assert calibration.ece(y, softmax(z)) < 0.02 < 0.1 < calibration.ece(y, softmax(3 * z))


def test_ece_bins_confidences_on_their_edges_as_written():
    p = np.array([[1.0, 0.0], [0.5, 0.5], [0.6, 0.4], [0.8, 0.2], [2 / 3, 1 / 3]])
    y = np.array([0, 1, 0, 1, 0])
    assert calibration.ece(y, p) == pytest.approx(ece_by_loop(y, p), abs=1e-12)


def test_a_class_without_clips_still_counts_in_the_log_loss():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    assert calibration.scores([0, 1], p)["log_loss"] == pytest.approx(-np.log([0.7, 0.8]).mean())


def test_temperature_undoes_a_sharpening_and_minimises_the_log_loss():
    z, y = sample(n=5000, sharpen=3.0)
    t = calibration.temperature(y, z, logits=True)
    assert t == pytest.approx(3.0, rel=0.1)
    grid = np.linspace(0.5, 6, 1101)  # the held-out log loss at every T, by the formula
    nll = [-np.mean(np.log(softmax(z / g)[np.arange(len(y)), y])) for g in grid]
    assert abs(t - grid[int(np.argmin(nll))]) <= grid[1] - grid[0]
    # from probabilities as from logits: softmax(log p / T) is softmax(z / T)
    assert calibration.temperature(y, softmax(z)) == pytest.approx(t, rel=1e-4)
    scaled = calibration.apply_temperature(z, t, logits=True)
    np.testing.assert_allclose(scaled, softmax(z / t))
    assert calibration.scores(y, scaled)["ECE"] < calibration.scores(y, softmax(z))["ECE"]


@pytest.mark.parametrize("y, p", [([0, 1], [0.2, 0.8]), ([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]]), ([0, 2], [[1, 0], [0, 1]]),
                                  ([0, 1], [[0.5, 0.6], [0.5, 0.5]]), ([0, 1], [[1.2, -0.2], [0.5, 0.5]])])
def test_bad_input_is_one_line(y, p):
    with pytest.raises(InputError, match="^calibration: ") as error:
        calibration.scores(y, p)
    assert "\n" not in str(error.value)
