"""Where a run goes: the environment settings outside the cache key, and the CPU kernels the package pins."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ecaser.infra import progress, runtime
from ecaser.infra.errors import InputError

X86_AVX2 = Path("/proc/cpuinfo").is_file() and " avx2" in Path("/proc/cpuinfo").read_text()
CONV = "import ecaser, torch; torch.nn.Conv2d(16, 16, 3)(torch.randn(2, 16, 32, 32))"  # big enough for oneDNN


def kernels(env):
    """(oneDNN's instruction set for a convolution, ATen's CPU capability) in a fresh process that imports ecaser
    first, with the caps removed from the environment and `env` added."""
    base = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")}
    code = f"{CONV}; print(torch.backends.cpu.get_cpu_capability())"
    out = subprocess.run([sys.executable, "-c", code], env={**base, "ONEDNN_VERBOSE": "1", **env}, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return next(line.split("isa:")[1] for line in out if ",info,cpu,isa:" in line), out[-1]


@pytest.mark.skipif(not X86_AVX2, reason="the AVX2 cap applies to x86 processors with AVX2")
def test_cpu_kernels_are_capped_at_avx2_unless_the_user_says_otherwise():
    assert kernels({}) == ("Intel AVX2", "AVX2")
    assert kernels({"ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default"}) == ("Intel SSE4.1", "DEFAULT")


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ECASER_DEVICE", "cpu")
    monkeypatch.setenv("ECASER_PARALLEL_FOLDS", "3")
    monkeypatch.delenv("ECASER_STFT_BATCH", raising=False)
    assert runtime.device() == torch.device("cpu") and runtime.parallel_folds() == 3 and runtime.stft_batch() == 64


@pytest.mark.parametrize("variable, value", [("ECASER_PARALLEL_FOLDS", "0"), ("ECASER_PARALLEL_FOLDS", "two"),
                                             ("ECASER_STFT_BATCH", "-4")])
def test_a_bad_setting_is_refused_with_its_name(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(InputError, match=f"{variable} must be a positive integer, got '{value}'"):
        runtime.parallel_folds() if variable == "ECASER_PARALLEL_FOLDS" else runtime.stft_batch()


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("env, terminal, shown", [(None, True, True), (None, False, False), ("1", True, False)])
def test_progress_bars_show_on_a_terminal_unless_tqdm_disable_is_set(monkeypatch, env, terminal, shown):
    if env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", env)
    bar = progress.bar(range(3), file=Terminal() if terminal else io.StringIO())
    assert bar.disable is not shown
    bar.close()
