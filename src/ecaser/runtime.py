"""Where tensors live, and how the CPU allocator treats them."""

import ctypes
import sys

import torch


def device(name="auto"):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


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
