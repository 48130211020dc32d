"""One training step of the paper's CNN on the CPU: samples/s, FLOPs, and how close it gets to matmul speed.

A step is what training.fit_fold does per batch: channels_last model, batch 36, weighted focal loss,
backward, Adam, after runtime.keep_freed_memory(). Models: n = 1 and n = 4 with ECA in blocks 5, 6
(kernel 7), on EMODB-sized input (64x301, 7 classes) and IEMOCAP-sized input (64x601, 4 classes).
FLOPs are torch's FlopCounterMode count of one forward + backward. The machine is shared and noisy, so
each model's rate is set against a float32 2048x2048 torch.mm timed just before it: the fraction of
matmul FLOP/s is the figure to compare across machines and runs, not the absolute rates. One profiled step
per model then shows where the time goes: convolutions, or the memory-bound batch norm, ReLU and pooling.
"""

import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ecaser import models
from ecaser.losses import FocalLoss
from ecaser.runtime import keep_freed_memory
from ecaser.training import autocast
from table import show

BATCH, MM_SIZE, MM_RUNS = 36, 2048, 5
KINDS = {"conv": ["conv"], "batch norm": ["batch_norm"], "relu": ["relu", "threshold", "clamp_min"],
         "pool": ["pool"], "other": []}
CASES = [  # (channel scale n, frames, classes, timed steps after one counted and one warm-up step)
    (1, 301, 7, 8), (4, 301, 7, 5), (1, 601, 4, 8), (4, 601, 4, 3),
]


def matmul_flops():
    a, b = torch.randn(MM_SIZE, MM_SIZE), torch.randn(MM_SIZE, MM_SIZE)
    torch.mm(a, b)
    times = []
    for _ in range(MM_RUNS):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * MM_SIZE**3 / np.median(times)


def model(n, classes, dev=torch.device("cpu"), memory_format=torch.channels_last):
    """The paper's Table 4 CNN at channel scale n (ECA k = 7 in blocks 5 and 6), as fit_fold places it."""
    torch.manual_seed(0)
    return models.cnn(range(classes), n, 16, "eca", (5, 6), 7).build().to(dev, memory_format=memory_format)


def step_fn(net, frames, classes, dev=torch.device("cpu")):
    """One training step of net on a random batch, as fit_fold takes it on dev."""
    loss_fn = FocalLoss(1.0, torch.ones(classes)).to(dev)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    x, y = torch.randn(BATCH, 1, 64, frames, device=dev), torch.randint(classes, (BATCH,), device=dev)

    def step():
        with autocast(dev, "bfloat16" if dev.type == "cuda" else "float32"):
            loss = loss_fn(net(x).float(), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    return step


def counted(step):
    """FLOPs of one call of step as torch counts them (forward + backward); the call is a step like any other."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def profile(step):
    """Share of one step's CPU time per kind of operator: convolutions do the counted FLOPs, batch norm, ReLU and
    pooling only move memory, so their share is what keeps a step below matmul speed."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    shares = dict.fromkeys(KINDS, 0.0)
    for event in prof.key_averages():
        kind = next((k for k, names in KINDS.items() if any(name in event.key for name in names)), "other")
        shares[kind] += event.self_cpu_time_total
    total = sum(shares.values())
    return [f"{share / total:.0%}" for share in shares.values()]


def main():
    keep_freed_memory()
    rows = []
    for n, frames, classes, steps in CASES:
        step = step_fn(model(n, classes), frames, classes)
        flops = counted(step)
        step()
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        seconds, peak = float(np.median(times)), matmul_flops()
        rows.append([f"n={n} 64x{frames} ({classes} classes)", steps, f"{BATCH / seconds:.1f}", f"{flops / 1e9:.1f}",
                     f"{flops / seconds / 1e9:.1f}", f"{peak / 1e9:.1f}", f"{flops / seconds / peak:.0%}",
                     *profile(step)])
    show(f"training step, batch {BATCH}, {torch.get_num_threads()} threads, median of the timed steps; "
         "then one profiled step's time by operator",
         ["model", "steps", "samples/s", "GFLOP/step", "GFLOP/s", f"mm{MM_SIZE} GFLOP/s", "of mm", *KINDS], rows)


if __name__ == "__main__":
    main()
