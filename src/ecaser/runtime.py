"""Where and how fast a run goes, which changes none of its numbers: taken from the environment, not params.yaml.

A param is part of every stage's cache key, so the same run on another GPU, or with its folds side by side,
would be trained again instead of coming from DVC's cache. These settings are environment variables instead:

    ECASER_DEVICE          auto (CUDA when present, else the CPU) | cpu | cuda | cuda:1
    ECASER_PARALLEL_FOLDS  folds trained at once, a step each in turn (on a GPU, a CUDA stream each); default 5
    ECASER_STFT_BATCH      clips per torch.stft call of the feature stages; default 64
    TQDM_DISABLE=1         no progress bars (tqdm's own switch; they are off anyway where stderr is no terminal)

Numeric precision does change numbers, so it is a param (train.precision), not one of these.
"""

import ctypes
import os
import sys

import torch

from .errors import InputError


def device(name=None):
    name = name or os.environ.get("ECASER_DEVICE") or "auto"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise InputError(f"ECASER_DEVICE must be auto, cpu, cuda or cuda:N, got {name!r}") from None


def positive_int(variable, default):
    text = os.environ.get(variable) or str(default)
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"{variable} must be a positive integer, got {text!r}")
    return int(text)


def parallel_folds():
    return positive_int("ECASER_PARALLEL_FOLDS", 5)


def stft_batch():
    return positive_int("ECASER_STFT_BATCH", 64)


def set_precision(precision):
    """float32 means float32 on CUDA too: cuDNN's convolutions otherwise run in TF32 by default."""
    torch.backends.cudnn.allow_tf32 = precision != "float32"
    torch.backends.cuda.matmul.allow_tf32 = precision != "float32"


def keep_freed_memory():
    """Stop glibc from handing large freed blocks back to the kernel after every training step.

    Activations of a batch are tens of MB, above glibc's mmap threshold, so each step maps fresh pages and
    the kernel zeroes them again: measured here, a third of a CPU epoch went to page faults. Raising the mmap
    and trim thresholds (mallopt, or MALLOC_MMAP_THRESHOLD_ in the environment) lets the blocks be reused.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...): nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_trim_threshold, 1 << 30)
    libc.mallopt(m_mmap_threshold, 1 << 30)
