"""Building the paper's CNN and measuring it the way its Table 4 does."""

import torch
from torch.utils.flop_counter import FlopCounterMode

from .cnn import BLOCKS, CNN


def build(classes, channel_scale, eca_blocks, eca_kernel, base_channels=16):
    return CNN(classes, channel_scale, base_channels, tuple(eca_blocks), eca_kernel)


def summary(model, input_shape):
    """Trainable parameters and the FLOPs of one forward pass on one clip of input_shape (n_mels, frames).

    FLOPs are torch's own count: 2 per multiply-add in convolutions and matrix products; batch norm,
    pooling, activations and the ECA product are not counted. The model's train/eval mode is restored.
    """
    was_training = model.training
    model.eval()
    x = torch.zeros(1, 1, *input_shape, device=next(model.parameters()).device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was_training)
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"parameters": parameters, "flops": counter.get_total_flops()}
