"""The one description of a model (build it, record it, rebuild it) and its size as the paper's Table 4 counts it."""

import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from .cnn import BLOCKS, CNN
from .dslstm import DSLSTM


@dataclass(frozen=True)
class Spec:
    """What a model is, and nothing about how it is trained: training builds it, each run's config.json and the
    saved models record it, and predict, the report and the benchmarks rebuild it from that record.

    None marks a field that does not apply (the DS-LSTM has no channel scale; a CNN without attention no kernel).
    """

    architecture: str  # cnn: the paper's CNN; dslstm: the Dual-Sequence LSTM baseline
    classes: tuple
    channel_scale: int | None = None
    base_channels: int | None = None
    attention: str | None = None  # a key of registry.ATTENTION, after each of attention_blocks
    attention_blocks: tuple = ()
    eca_kernel: int | str | None = None  # an odd int, or "adaptive" for ECA-Net's rule per block width

    def build(self):
        if self.architecture == "dslstm":
            return DSLSTM(len(self.classes))
        return CNN(len(self.classes), self.channel_scale, self.base_channels, self.attention_blocks, self.attention,
                   self.eca_kernel)

    def to_dict(self):
        return {**asdict(self), "classes": list(self.classes), "attention_blocks": list(self.attention_blocks)}

    @classmethod
    def from_dict(cls, record):
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in record.items() if key in known}
        return cls(**{**values, "classes": tuple(values["classes"]),
                      "attention_blocks": tuple(values.get("attention_blocks", ()))})


def cnn(classes, channel_scale, base_channels, attention=None, attention_blocks=(), eca_kernel=None):
    """The CNN's Spec, with the fields that do not apply set to None: no attention without blocks, no kernel
    unless the attention is ECA."""
    attention = attention if attention_blocks else None
    return Spec("cnn", tuple(classes), channel_scale, base_channels, attention, tuple(attention_blocks),
                eca_kernel if attention == "eca" else None)


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
