"""Efficient channel attention (ECA-Net, Wang et al., CVPR 2020) as the paper places it in its CNN."""

import math

from torch import nn

from ..errors import InputError


def adaptive_kernel(channels, gamma=2, b=1):
    """ECA-Net's kernel size for a block of `channels`: wider blocks need a wider cross-channel reach.

    The rule of ECA-Net's code, t = int(|(log2 C + b) / gamma|) made odd by adding one, so the 1-D
    conv stays centred on its channel. The paper's "original ECA" uses it for all six blocks.
    """
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


class ECA(nn.Module):
    """Reweights channels from their own time-frequency averages, with a kernel-wide view of neighbours.

    Unlike a squeeze-and-excitation block there is no dimensionality reduction: one shared 1-D conv of
    `kernel` weights (no bias) slides across the channel axis. The paper's variant has no batch norm.
    The last forward pass's sigmoid weights stay in `self.weights` [B, C], detached, so that training
    can average them per emotion over the test data (the paper's Fig. 14-15).
    """

    def __init__(self, kernel):
        super().__init__()
        if not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
            raise InputError(f"params: 'eca.kernel' must be an odd integer >= 1, got {kernel!r}")
        self.conv = nn.Conv1d(1, 1, kernel, padding=kernel // 2, bias=False)
        self.weights = None

    def forward(self, x):
        pooled = x.mean(dim=(2, 3))  # [B, C]
        weights = self.conv(pooled.unsqueeze(1)).squeeze(1).sigmoid()
        self.weights = weights.detach()
        return x * weights[:, :, None, None]
