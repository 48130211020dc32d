"""The paper's loss: focal loss weighted by inverse class frequency of the training fold."""

import torch
import torch.nn.functional as F
from torch import nn

from ..infra.errors import InputError


class FocalLoss(nn.Module):
    """mean over the batch of -w[y] * (1 - p_y)^gamma * log p_y.

    Confident correct clips are down-weighted by (1 - p_y)^gamma, rare classes are up-weighted by w.
    The mean is a plain mean over samples, not cross_entropy's weight-normalised sum(w l) / sum(w):
    so weights change the loss's scale as well as its balance. With gamma 0 and no weight it is
    exactly cross entropy.
    """

    def __init__(self, gamma=1.0, weight=None):
        super().__init__()
        self.gamma = gamma
        self.register_buffer("weight", weight)  # a buffer, so it follows the model to its device

    def forward(self, logits, target):
        log_p = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        loss = -((1 - log_p.exp()) ** self.gamma) * log_p
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()


def class_weights(labels, n_classes):
    """N / count of each class in the training-fold labels: the reciprocal of the class's share."""
    labels = torch.as_tensor(labels)
    counts = torch.bincount(labels, minlength=n_classes)
    missing = [c for c in range(n_classes) if counts[c] == 0]
    if missing or len(counts) > n_classes:
        raise InputError(
            f"labels: class weights need every class 0..{n_classes - 1} and no other, "
            f"missing {missing}, largest label {int(labels.max())}"
        )
    return len(labels) / counts.float()
