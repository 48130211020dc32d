"""How far a run's probabilities can be taken at their word: calibration of the out-of-fold probabilities.

From predictions.csv's p_<class> columns (every clip once per repeat, from the fold that held it out):
- ECE, expected calibration error (Guo et al., 2017): the top class's probability binned into 15 equal-width bins
  on [0, 1] (bin i holds confidences in (i/15, (i+1)/15], the first bin also holds 0); the clip-weighted mean over
  bins of |accuracy - mean confidence|. No library we use has a multi-class ECE, so it is computed here, the bins'
  means by scipy.stats.binned_statistic.
- Brier score, multi-class: the mean over clips of the sum over classes of (p - one-hot)^2, in [0, 2]; scikit-learn's
  brier_score_loss with scale_by_half=False (Brier's 1950 definition; halve it for the binary convention).
- log loss: scikit-learn's log_loss, natural log, every class listed so a class absent from the clips still counts.

ECE and Brier are in [0, 1] and [0, 2] (not percent); lower is better for all three. temperature() fits the one
scalar T of temperature scaling on held-out probabilities or logits (scipy.optimize), apply_temperature uses it: the
train_calibrated stage fits one T per fold on clips held out of its training fold (training/loop.py).
"""

import numpy as np
from scipy import optimize, special, stats
from sklearn.metrics import brier_score_loss, log_loss

from ..infra.errors import InputError

BINS = 15


def check(y_true, probs, probabilities=True):
    """Labels and scores as arrays; probabilities must be >= 0 with rows summing to 1 (to 1e-4; float32 softmax
    outputs are then divided by their sums, so that scikit-learn's tighter check passes)."""
    y_true, probs = np.asarray(y_true), np.asarray(probs, dtype=float)
    if probs.ndim != 2 or len(y_true) != len(probs) or not len(probs):
        raise InputError(f"calibration: need one row of class probabilities per clip, got {probs.shape} for "
                         f"{len(y_true)} labels")
    if y_true.min() < 0 or y_true.max() >= probs.shape[1]:
        raise InputError(f"calibration: labels must lie in 0..{probs.shape[1] - 1}, got {y_true.min()}..{y_true.max()}")
    if probabilities:
        sums = probs.sum(axis=1)
        if (probs < 0).any() or not np.allclose(sums, 1, rtol=0, atol=1e-4):
            worst = int(np.argmax(np.abs(sums - 1)))
            raise InputError(f"calibration: each row must be probabilities summing to 1, row {worst} sums to "
                             f"{sums[worst]:.6g}")
        probs = probs / sums[:, None]
    return y_true, probs


def ece(y_true, probs, bins=BINS):
    """Expected calibration error of the top-class probability, equal-width bins (module docstring)."""
    y_true, probs = check(y_true, probs)
    confidence = probs.max(axis=1)
    right = (probs.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    # binned_statistic's bins are [a, b) but the last [a, b]; ours (a, b] as in Guo et al.: bin the negated values
    gap, _, _ = stats.binned_statistic(-confidence, right - confidence, "sum", bins=-edges[::-1])
    return float(np.abs(gap).sum() / len(y_true))


def scores(y_true, probs):
    """{"ECE", "Brier", "log_loss"} of the probabilities [clips, classes] and true class indices."""
    y_true, probs = check(y_true, probs)
    labels = list(range(probs.shape[1]))
    return {"ECE": ece(y_true, probs),
            "Brier": float(brier_score_loss(y_true, probs, labels=labels, scale_by_half=False)),
            "log_loss": float(log_loss(y_true, probs, labels=labels))}


def of_predictions(predictions, classes):
    """scores() of a predictions.csv frame (true, p_<class> columns in class order)."""
    columns = [f"p_{name}" for name in classes]
    missing = [c for c in columns if c not in predictions]
    if missing:
        raise InputError(f"predictions: no column {', '.join(missing)} (expected p_<class> for {', '.join(classes)})")
    return scores(predictions["true"].to_numpy(), predictions[columns].to_numpy())


def temperature(y_true, scores_, logits=False, bounds=(0.05, 20.0)):
    """The temperature T minimising the log loss of softmax(z / T) on held-out clips (z: logits, or the log of
    probabilities, which softmax maps back to themselves at T = 1), by scipy's bounded scalar minimisation."""
    y_true, z = check(y_true, scores_, probabilities=not logits)
    z = z if logits else np.log(np.clip(z, 1e-12, None))
    rows = np.arange(len(y_true))

    def nll(log_t):
        return float(-special.log_softmax(z / np.exp(log_t), axis=1)[rows, y_true].mean())

    result = optimize.minimize_scalar(nll, bounds=np.log(bounds), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))


def apply_temperature(scores_, t, logits=False):
    """Probabilities softmax(z / T) of logits or probabilities."""
    z = np.asarray(scores_, dtype=float)
    z = z if logits else np.log(np.clip(z, 1e-12, None))
    return special.softmax(z / t, axis=1)
