"""Attention modules for a conv block's output [B, C, F, T] (F Mel bins, T frames), shape-preserving.

ECA (ECA-Net, Wang et al., CVPR 2020) as the paper places it in its CNN, and the modules it is compared
with: SE, CBAM, multi-head self-attention, multiscale area attention, attention head fusion and
spectro-temporal-channel attention. None depends on x's memory format (channels_last works) and all run
under bf16 autocast.
"""

import math

import torch
from torch import nn
from torch.nn import functional

from ..infra.errors import InputError
from .registry import ATTENTION



def adaptive_kernel(channels, gamma=2, b=1):
    """ECA-Net's kernel size for a block of `channels`: wider blocks need a wider cross-channel reach.

    The rule of ECA-Net's code, t = int(|(log2 C + b) / gamma|) made odd by adding one, so the 1-D
    conv stays centred on its channel. The paper's "original ECA" uses it for all six blocks.
    """
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


def odd_kernel(kernel):
    """Whether `kernel` is a kernel an ECA block can centre on its channel: an odd integer >= 1."""
    return isinstance(kernel, int) and not isinstance(kernel, bool) and kernel >= 1 and kernel % 2 == 1


class ECA(nn.Module):
    """Reweights channels from their own time-frequency averages, with a kernel-wide view of neighbours.

    Unlike a squeeze-and-excitation block there is no dimensionality reduction: one shared 1-D conv of
    `kernel` weights (no bias) slides across the channel axis. The paper's variant has no batch norm.
    The last forward pass's sigmoid weights stay in `self.weights` [B, C], detached, so that training
    can average them per emotion over the test data (the paper's Fig. 14-15).
    """

    def __init__(self, kernel):
        super().__init__()
        if not odd_kernel(kernel):
            raise ValueError(f"an ECA kernel must be an odd integer >= 1, got {kernel!r}")
        self.conv = nn.Conv1d(1, 1, kernel, padding=kernel // 2, bias=False)
        self.weights = None

    def forward(self, x):
        pooled = x.mean(dim=(2, 3))  # [B, C]
        weights = self.conv(pooled.unsqueeze(1)).squeeze(1).sigmoid()
        self.weights = weights.detach()
        return x * weights[:, :, None, None]


def _bottleneck(channels, reduction):
    """SE's and CBAM's excitation MLP, C -> max(1, C // reduction) -> C with biases, as in both papers' code."""
    hidden = max(1, channels // reduction)
    return nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))


def _check_heads(channels, heads):
    if channels % heads:
        raise InputError(f"attention: {channels} channels do not split into {heads} heads")


def _tokens(x):
    """[B, C, F, T] -> [B, F*T, C]: one C-dim token per time-frequency position, in any memory format."""
    return x.flatten(2).transpose(1, 2)


class SE(nn.Module):
    """Squeeze-and-excitation (Hu et al., CVPR 2018): channel weights from a bottleneck MLP on channel means.

    ECA's baseline: where ECA mixes only a kernel of neighbouring channels and keeps their full width,
    SE sees all channels at once through a C/reduction-wide bottleneck, the reduction ECA-Net argues
    against. Trainable parameters 2*C*h + h + C with h = max(1, C // reduction).
    """

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.excite = _bottleneck(channels, reduction)

    def forward(self, x):
        weights = self.excite(x.mean(dim=(2, 3))).sigmoid()
        return x * weights[:, :, None, None]


class CBAM(nn.Module):
    """Convolutional block attention module (Woo et al., ECCV 2018): a channel gate, then a spatial gate.

    The channel gate passes both the average- and the max-pooled descriptor through one shared SE
    bottleneck and sums them, as the max keeps the most salient response that the mean blurs. The spatial
    gate then weights each time-frequency position from the channel-wise max and mean maps through a
    spatial_kernel-square conv, so it can single out bands and moments, not only channels. As in the authors'
    code (Jongchan/attention-module, MODELS/cbam.py) the maps are stacked max first and the conv has no
    bias but a batch norm after it (eps 1e-5, momentum 0.01). Trainable parameters, h = max(1, C // reduction)
    and k = spatial_kernel: 2*C*h + h + C + 2*k*k + 2 (the last 2 the norm's scale and shift), so
    2*C*h + h + C + 100 at k = 7.
    """

    def __init__(self, channels, reduction=16, spatial_kernel=7):
        super().__init__()
        self.channel_mlp = _bottleneck(channels, reduction)
        self.spatial_conv = nn.Conv2d(2, 1, spatial_kernel, padding=spatial_kernel // 2, bias=False)
        self.spatial_bn = nn.BatchNorm2d(1, momentum=0.01)

    def forward(self, x):
        logits = self.channel_mlp(x.mean(dim=(2, 3))) + self.channel_mlp(x.amax(dim=(2, 3)))
        x = x * logits.sigmoid()[:, :, None, None]
        maps = torch.stack([x.amax(dim=1), x.mean(dim=1)], dim=1)  # [B, 2, F, T]
        return x * self.spatial_bn(self.spatial_conv(maps)).sigmoid()


class MHSA(nn.Module):
    """Multi-head self-attention (Vaswani et al., NeurIPS 2017) among the F*T positions, with a residual.

    Each position's C channels are one token, so every position can draw on the whole map instead of a
    3x3 neighbourhood; out = x + attention(x) keeps the block's own features. No positional encoding:
    the conv features already carry position through zero padding, and the comparison is of the
    attention alone; for the same reason no layer norm. Trainable parameters 4*C*C + 4*C (Q, K, V and
    output projections, each with a bias).
    """

    def __init__(self, channels, heads=4):
        super().__init__()
        _check_heads(channels, heads)
        self.attention = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x):
        tokens = _tokens(x)
        attended, _ = self.attention(tokens, tokens, tokens, need_weights=False)
        return x + attended.transpose(1, 2).reshape(x.shape)


class AreaAttention(nn.Module):
    """Multiscale area attention (Li et al., ICML 2019) as Xu et al. (ICASSP 2021) apply it to SER.

    Each position attends to every rectangular area of 1..max_height Mel bins by 1..max_width frames
    (clipped to the map), so one softmax weighs emotional cues of several granularities at once. An
    area's key is the mean of its positions' keys, its value their sum: Li et al.'s basic mean/sum form,
    the one Xu et al. use. Area means come from one average pool per area shape. Queries, keys and values
    are Linear(C, C) projections split into heads, weighted by softmax(QK^T / sqrt(C / heads)); the heads
    are concatenated back to C channels. Trainable parameters 3*C*C + 3*C.

    Checked against Xu et al.'s code (lessonxmk/Optimized_attention_for_SER, model.py, AACNN), which calls
    tensor2tensor's dot_product_area_attention: like it, no output projection and no residual. Unlike it,
    which attends with q = k = v = the raw conv map (its query/key/value Dense layers go unused), unscaled
    logits and 0.5 dropout on the attention weights, this follows Li et al.'s multi-head form above and
    leaves dropout out, as for the other modules. Its 4-D input with tensor2tensor's default
    memory_height=1 also confines areas to 1 x w within each row; the 2-D areas here follow the paper.
    """

    def __init__(self, channels, heads=4, max_height=3, max_width=3):
        super().__init__()
        _check_heads(channels, heads)
        self.heads, self.max_height, self.max_width = heads, max_height, max_width
        self.query = nn.Linear(channels, channels)
        self.key = nn.Linear(channels, channels)
        self.value = nn.Linear(channels, channels)

    def forward(self, x):
        batch, channels, freq, time = x.shape
        depth = channels // self.heads
        tokens = _tokens(x)
        query = self.query(tokens).reshape(batch, -1, self.heads, depth).transpose(1, 2)  # [B, heads, F*T, d]
        keys, values = self._areas(self.key(tokens), self.value(tokens), freq, time)  # [B, C, areas] each
        keys = keys.reshape(batch, self.heads, depth, -1)  # K transposed, per head
        values = values.reshape(batch, self.heads, depth, -1).transpose(2, 3)  # [B, heads, areas, d]
        weights = ((query * depth ** -0.5) @ keys).softmax(dim=-1)
        return (weights @ values).transpose(2, 3).reshape(batch, channels, freq, time)

    def _areas(self, keys, values, freq, time):
        """Tokens' keys and values [B, F*T, C] -> every area's mean key and summed value, [B, C, areas] each."""
        channels = keys.shape[2]
        both = torch.cat([keys, values], dim=2).transpose(1, 2).reshape(keys.shape[0], 2 * channels, freq, time)
        area_keys, area_values = [], []
        for height in range(1, min(self.max_height, freq) + 1):
            for width in range(1, min(self.max_width, time) + 1):
                means = functional.avg_pool2d(both, (height, width), stride=1).flatten(2)
                area_keys.append(means[:, :channels])
                area_values.append(means[:, channels:] * (height * width))
        return torch.cat(area_keys, dim=2), torch.cat(area_values, dim=2)


class HeadFusion(nn.Module):
    """Attention head fusion (Xu et al., CCWC 2020): several heads' attention maps averaged into one.

    One head's softmax tends to settle on a single attention point; averaging heads lets one map keep
    several, which is the paper's argument for it. Each head gates every position's channels by
    softmax(Q * K) * V, with Q, K and V 1x1 projections (with biases) of that position's C channels.
    Checked against the authors' code (lessonxmk/head_fusion, model.py, MACNN), whose choices are kept:
    - the product Q * K is element-wise and its softmax runs over the channels of each position (their
      F.softmax without dim on a 4-D map), unscaled: a per-position gate, not a softmax over positions;
    - no output projection and no residual;
    - the heads are fused by ReLU then averaging: they concatenate the heads along the frequency axis, apply
      ReLU and pool globally, which equals pooling the mean of the ReLU'd heads, so where a global average
      pool follows (block 6 here) this is exactly theirs.
    Their training script uses 4 heads of 64 hidden channels; here the heads are C wide, so the block keeps
    its width without a projection that their model does not have. Trainable parameters
    3*heads*(C*C + C), so 12*C*C + 12*C at 4 heads.
    """

    def __init__(self, channels, heads=4):
        super().__init__()
        if not isinstance(heads, int) or heads < 1:
            raise InputError(f"attention: head fusion needs an integer number of heads >= 1, got {heads!r}")
        self.heads = heads
        self.project = nn.Linear(channels, 3 * heads * channels)  # Q of every head, then K, then V

    def forward(self, x):
        query, key, value = self.project(_tokens(x)).unflatten(2, (3, self.heads, -1)).unbind(2)  # [B, F*T, h, C]
        fused = ((query * key).softmax(dim=-1) * value).relu().mean(dim=2)
        return fused.transpose(1, 2).reshape(x.shape)


def _axis_branch(channels, hidden, kernel=3):
    """STC's spectral or temporal scorer: Conv1d(C, h, kernel) -> ReLU -> Conv1d(h, 1, 1) along one axis."""
    return nn.Sequential(nn.Conv1d(channels, hidden, kernel, padding=kernel // 2), nn.ReLU(), nn.Conv1d(hidden, 1, 1))


class STC(nn.Module):
    """Spectro-temporal-channel attention (Guo et al., ICASSP 2021; DSTCNet, IEEE TNNLS 2023).

    Emotion shows in some frequency bands, some frames and some feature channels, so three independent
    branches score one axis each from the map averaged over the other two, and, as in BAM (Park et al.,
    BMVC 2018), the sigmoid of their broadcast sum is one 3-D map M [B, C, F, T] and out = x * (1 + M):
    the residual keeps a position the map scores low from being switched off. The channel branch is SE's
    bottleneck on the channel means; the spectral (temporal) one scores each bin (frame) from the time
    (frequency) means of all channels. Trainable parameters, h = max(1, C // reduction):
    (2*C*h + h + C) + 2*(3*C*h + 2*h + 1) = 8*C*h + 5*h + C + 2.
    Where the papers say nothing (no public code), chosen here:
    - spectral and temporal branches are 1-D convs along their axis, BAM's spatial bottleneck made 1-D:
      Conv1d(C, h, 3) -> ReLU -> Conv1d(h, 1, 1); convs, not layers over all F or T, so any length works;
    - one reduction, 16, for all three branches, as SE and BAM;
    - average pooling only, as BAM (CBAM adds max pooling);
    - no batch norm in the branches (BAM has it), as SE here: the map does not depend on the batch;
    - the branches combine as BAM's: summed, then one sigmoid, then x * (1 + M).
    """

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.channel = _bottleneck(channels, reduction)
        self.spectral = _axis_branch(channels, hidden)
        self.temporal = _axis_branch(channels, hidden)

    def forward(self, x):
        channel = self.channel(x.mean(dim=(2, 3)))[:, :, None, None]  # [B, C, 1, 1]
        spectral = self.spectral(x.mean(dim=3))[:, :, :, None]  # [B, 1, F, 1]
        temporal = self.temporal(x.mean(dim=2))[:, :, None, :]  # [B, 1, 1, T]
        return x * (1 + (channel + spectral + temporal).sigmoid())



def build(kind, channels, eca_kernel):
    """The attention module `kind` (a key of registry.ATTENTION) for a block of `channels`."""
    cls = globals()[ATTENTION[kind].cls]
    if cls is ECA:
        return ECA(adaptive_kernel(channels) if eca_kernel == "adaptive" else eca_kernel)
    return cls(channels)
