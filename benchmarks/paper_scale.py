"""What the paper's grids cost: FLOPs of every training stage of configs/paper-*.yaml, and the wall time they imply.

The runs and their FLOPs come from paper_plan.json (benchmarks/paper_plan.py: DVC's resolution of dvc.yaml under
each config, torch's flop counter on each run's model). Wall time is that total over a sustained rate: this
machine's, measured here on a training step of the paper's n = 4 model as fit_fold runs it (bf16 autocast and
channels_last on CUDA), and a stated GPU rate, GPU_TFLOPS. benchmarks/gpu_check.py measures a GPU's own rates.
"""

import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from ecaser.infra.runtime import device, keep_freed_memory
from table import show
from train_step import counted, model, step_fn

PLAN = Path(__file__).with_name("paper_plan.json")
# Sustained, not peak: 64-384-channel convolutions on batches of 36 keep a GPU's tensor cores far from their
# bf16 peak (~990 TFLOP/s on an H100), and the steps are short enough for kernel launches to show.
GPU_TFLOPS = 30


def measured_rate(dev, frames, classes):
    """FLOP/s of the n = 4 model's training step on dev, as counted by torch, median of the timed steps."""
    step = step_fn(model(4, classes, dev), frames, classes, dev)
    flops = counted(step)
    times = []
    for _ in range(21 if dev.type == "cuda" else 3):  # the first is a warm-up
        start = time.perf_counter()
        step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - start)
    return flops / float(np.median(times[1:]))


def main():
    keep_freed_memory()
    totals = []
    for config, plan in json.loads(PLAN.read_text()).items():
        by_family, runs = defaultdict(float), defaultdict(int)
        for run in plan["runs"]:
            family = run["stage"].split("@")[0]
            by_family[family] += run["flops"]
            runs[family] += 1
        n4_input = plan["proposed"]["frames"], plan["proposed"]["classes"]
        rates = {"this machine (measured, n = 4)": measured_rate(torch.device("cpu"), *n4_input)}
        if torch.cuda.is_available():
            rates["this GPU (measured, n = 4)"] = measured_rate(device("cuda"), *n4_input)
        rates[f"a GPU at a stated {GPU_TFLOPS} TFLOP/s"] = GPU_TFLOPS * 1e12
        total = sum(by_family.values())
        rows = [[family, runs[family], f"{flops / 1e15:.1f}"] for family, flops in by_family.items()]
        rows.append(["total", sum(runs.values()), f"{total / 1e15:.1f}"])
        first = plan["runs"][0]
        show(f"{config}: {plan['corpus']}, {plan['clips']} clips, {first['repeats']} x {first['folds']} folds x "
             f"{first['epochs']} epochs", ["stage", "runs", "PFLOP"], rows)
        totals += [[config, name, f"{rate / 1e12:.2f}", f"{total / rate / 3600:,.1f}"] for name, rate in rates.items()]
    show("wall time of every training stage at a sustained rate", ["config", "rate", "TFLOP/s", "hours"], totals)


if __name__ == "__main__":
    main()
