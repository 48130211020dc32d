"""ecaser: speech emotion recognition with a CNN and efficient channel attention, as a DVC pipeline.

CPU kernels: oneDNN (torch's convolutions) and ATen's own vectorised kernels (pooling, means, activations) run
AVX-512 code where the processor has it and AVX2 code elsewhere, and the two sum in different orders. Measured on
the demo's train_eca: per-fold UA moved by up to 4.5 points between the two. Capped at AVX2, as here unless the
variables are already set, runs on an AVX-512 machine reproduced bit for bit the metrics of a machine without it
(same thread count). Both libraries read their variable at their first kernel, so setting it here is enough.
"""

import os
from pathlib import Path


def _has_avx2():
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.is_file() and " avx2" in cpuinfo.read_text()


if _has_avx2():  # forcing AVX2 on a processor without it would stop on an illegal instruction
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
