"""Building the models and measuring them the way the paper's Table 4 does."""

import warnings
from contextlib import contextmanager

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from .cnn import ATTENTION, BLOCKS, CNN


def build(classes, channel_scale=4, attention_blocks=(), attention="eca", eca_kernel=7, base_channels=16):
    return CNN(classes, channel_scale, base_channels, tuple(attention_blocks), attention, eca_kernel)


@contextmanager
def countable():
    """Run attention and LSTMs as plain matrix products, which the flop counter sees: fused kernels (PyTorch's
    multi-head attention fast path, its fused CPU attention, oneDNN's LSTM) escape it and would count as zero."""
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
            with torch.backends.mkldnn.flags(enabled=False), sdpa_kernel(SDPBackend.MATH):
                yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def summary(model, input_shapes):
    """Trainable parameters and the FLOPs of one forward pass on one clip whose inputs have input_shapes.

    input_shapes: one (features, frames) per input array of the model, e.g. [(64, 301)] for the CNN.
    FLOPs are torch's own count: 2 per multiply-add in convolutions and matrix products (LSTMs and attention
    included); batch norm, pooling, activations and the ECA product are not counted. The model's train/eval
    mode is restored.
    """
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    inputs = [torch.zeros(1, *shape, device=dev) for shape in input_shapes]
    with torch.no_grad(), countable(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    model.train(was_training)
    return {"parameters": parameters(model), "flops": counter.get_total_flops()}


def parameters(model):
    """Trainable parameters, as the paper's Table 4 counts them (running batch-norm statistics are buffers)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
