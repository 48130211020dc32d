"""One training step of the paper's CNN on the CPU: samples/s, FLOPs, and how close it gets to matmul speed.

A step is what training.fit_fold does per batch: channels_last model, batch 36, weighted focal loss,
backward, Adam, after runtime.keep_freed_memory(). Models: n = 1 and n = 4 with ECA in blocks 5, 6
(kernel 7), on EMODB-sized input (64x301, 7 classes) and IEMOCAP-sized input (64x601, 4 classes).
FLOPs are torch's FlopCounterMode count of one forward + backward. The machine is shared and noisy, so
each model's rate is set against a float32 2048x2048 torch.mm timed just before it: the fraction of
matmul FLOP/s is the figure to compare across machines and runs, not the absolute rates. One profiled step
per model then shows where the time goes: convolutions, or the memory-bound batch norm, ReLU and pooling.
"""

import functools
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ecaser import models
from ecaser.training.losses import FocalLoss
from ecaser.infra.runtime import keep_freed_memory
from ecaser.training.loop import set_precision
from ecaser.training.loop import autocast, heads
from table import show

BATCH, MM_SIZE, MM_RUNS = 36, 2048, 5
KINDS = {"conv": ["conv"], "batch norm": ["batch_norm"], "relu": ["relu", "threshold", "clamp_min"],
         "pool": ["pool"], "other": []}
CASES = [  # (channel scale n, frames, classes, timed steps after one counted and one warm-up step)
    (1, 301, 7, 8), (4, 301, 7, 5), (1, 601, 4, 8), (4, 601, 4, 3),
]


def matmul_flops(dev=torch.device("cpu"), precision="float32", size=MM_SIZE, runs=MM_RUNS):
    """FLOP/s of a size x size torch.mm on dev, median of `runs`: float32 (TF32 off), or bfloat16 inputs."""
    set_precision(precision)
    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
    a, b = (torch.randn(size, size, device=dev, dtype=dtype) for _ in range(2))
    torch.mm(a, b)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        torch.mm(a, b)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / np.median(times)


def model(n, classes, dev=torch.device("cpu"), memory_format=torch.channels_last):
    """The paper's Table 4 CNN at channel scale n (ECA k = 7 in blocks 5 and 6), as fit_fold places it."""
    torch.manual_seed(0)
    return models.cnn(range(classes), n, 16, "eca", (5, 6), 7).build().to(dev, memory_format=memory_format)


def step_fn(net, frames, classes, dev=torch.device("cpu"), precision=None, batch=BATCH, shapes=None):
    """One training step of net on a random batch, as fit_fold takes it on dev: in `precision` (default bfloat16 on
    CUDA, float32 elsewhere), set on every call as cross_validate sets it, so float32 is never TF32 on a GPU.
    The batch is [batch, 1, 64, frames], or one [batch, *shape] per input of `shapes` (the DS-LSTM's three)."""
    precision = precision or ("bfloat16" if dev.type == "cuda" else "float32")
    loss_fn = FocalLoss(1.0, torch.ones(classes)).to(dev)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = [torch.randn(batch, *shape, device=dev) for shape in shapes or [(1, 64, frames)]]
    y = torch.randint(classes, (batch,), device=dev)

    def step(inputs=None, target=None):
        """One step on the random batch, or on the given one (a list of inputs and their targets); its loss."""
        set_precision(precision)
        with autocast(dev, precision):
            outputs = heads(net(*(x if inputs is None else inputs)))
            loss = sum(loss_fn(logits.float(), y if target is None else target) for logits in outputs) / len(outputs)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return loss.detach()

    return step


@functools.cache
def clip_flops(spec, shapes):
    """FLOPs of one training clip (forward + backward) and of one test clip (forward) of a models.Spec whose inputs
    have `shapes`, counted on a batch of 2, once per model and input. On the meta device: counting needs only
    shapes, so nothing is computed."""
    with torch.device("meta"):
        net = spec.build()
        x = [torch.randn(2, *shape) for shape in shapes]
    with models.countable(), FlopCounterMode(display=False) as counter:
        sum(h.sum() for h in heads(net(*x))).backward()
    return counter.get_total_flops() / 2, models.summary(net, shapes)["flops"]


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
