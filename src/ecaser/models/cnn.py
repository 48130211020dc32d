"""The paper's six-block CNN (Fig. 3, Table 3), with ECA (or another attention module) after the chosen blocks."""

from collections import OrderedDict

from torch import nn

from ..infra.errors import InputError
from . import attention as modules

BLOCKS = 6


class CNN(nn.Module):
    """Log-Mel spectrogram [B, 1, n_mels, T] (or [B, n_mels, T]) -> emotion logits [B, classes].

    Block L is conv 3x3 (with bias) -> batch norm -> ReLU -> [attention] -> 2x2 average pool, with
    base_channels * channel_scale * L channels; block 6 ends in global average pooling instead, so
    any clip length works. Two linear layers follow with no activation between them: the paper names
    none, and an activation would change no parameter count, so the literal reading is kept.

    Parameter check against the paper's Table 4 (channel_scale 4, 4 classes, ECA k=7 after blocks 5, 6):
    convs 9*(1*64 + 64*128 + 128*192 + 192*256 + 256*320 + 320*384) + 1344 biases = 2,582,400;
    batch norm scale and shift 2 * 1344 = 2,688; Linear(384, 384) 147,840; Linear(384, 4) 1,540;
    ECA 2 * 7 = 14; total 2,734,482, exactly the paper's figure (running BN statistics are buffers).

    attention: the module after each of attention_blocks, a key of registry.ATTENTION.
    eca_kernel: an odd int for every chosen block, or "adaptive" for ECA-Net's rule per block width.
    """

    def __init__(self, classes, channel_scale, base_channels, attention_blocks=(), attention=None, eca_kernel=None):
        super().__init__()
        if channel_scale < 1:
            raise InputError(f"params: 'model.channel_scale' must be >= 1, got {channel_scale!r}")
        outside = [block for block in attention_blocks if block not in range(1, BLOCKS + 1)]
        if outside:
            raise InputError(f"params: 'eca.blocks' must lie in 1..{BLOCKS}, got {list(attention_blocks)!r}")
        widths = [base_channels * channel_scale * block for block in range(1, BLOCKS + 1)]
        self.blocks = nn.ModuleList()
        for block, (c_in, c_out) in enumerate(zip([1, *widths], widths), start=1):
            layers = OrderedDict(conv=nn.Conv2d(c_in, c_out, 3, padding=1), bn=nn.BatchNorm2d(c_out), relu=nn.ReLU())
            if block in attention_blocks:
                layers["attention"] = modules.build(attention, c_out, eca_kernel)
            layers["pool"] = nn.AvgPool2d(2, 2) if block < BLOCKS else nn.AdaptiveAvgPool2d(1)
            self.blocks.append(nn.Sequential(layers))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1], widths[-1]), nn.Linear(widths[-1], classes))
        # He initialisation of the paper's own layers; attention modules keep their papers' initialisation
        for module in [*(block.conv for block in self.blocks), self.head[1], self.head[2]]:
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)

    def forward(self, x):
        if x.dim() == 3:
            x = x.unsqueeze(1)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def eca_weights(self):
        """{block number: the last forward pass's ECA channel weights [B, C]} for blocks with ECA."""
        return {number: block.attention.weights for number, block in enumerate(self.blocks, start=1)
                if isinstance(getattr(block, "attention", None), modules.ECA)}
