import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ecaser.infra.errors import InputError
from ecaser.training.losses import FocalLoss, class_weights

LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-2.0, 3.0, 0.0], [1.0, 1.0, 4.0]])
LABELS = np.array([0, 2, 0, 1])
WEIGHTS = np.array([1.5, 3.0, 0.5])


def numpy_focal(gamma, weights):
    log_p = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    log_p_y = log_p[np.arange(len(LABELS)), LABELS]
    return np.mean(-weights[LABELS] * (1 - np.exp(log_p_y)) ** gamma * log_p_y)


@pytest.mark.parametrize("gamma", [1.0, 2.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_focal_loss_matches_numpy(gamma, weighted):
    weight = torch.tensor(WEIGHTS) if weighted else None
    loss = FocalLoss(gamma, weight)(torch.tensor(LOGITS), torch.tensor(LABELS))
    expected = numpy_focal(gamma, WEIGHTS if weighted else np.ones(3))
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_gamma_zero_is_cross_entropy():
    logits, labels = torch.tensor(LOGITS), torch.tensor(LABELS)
    assert FocalLoss(0.0)(logits, labels).item() == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-12)


def test_weighted_mean_is_plain_not_weight_normalised():
    logits, labels, weight = torch.tensor(LOGITS), torch.tensor(LABELS), torch.tensor(WEIGHTS)
    loss = FocalLoss(0.0, weight)(logits, labels).item()
    plain = (weight[labels] * F.cross_entropy(logits, labels, reduction="none")).mean().item()
    assert loss == pytest.approx(plain, rel=1e-12)
    assert loss != pytest.approx(F.cross_entropy(logits, labels, weight=weight).item(), rel=1e-3)


def test_class_weights_are_reciprocal_shares():
    weights = class_weights([0, 0, 0, 1, 2, 2], 3)
    assert weights.dtype == torch.float32
    assert weights.tolist() == [2.0, 6.0, 3.0]


@pytest.mark.parametrize("labels", [[0, 0, 2], [0, 1, 2, 3]])
def test_class_weights_reject_missing_or_unknown_class(labels):
    with pytest.raises(InputError, match="labels"):
        class_weights(labels, 3)
