"""What PyTorch offers for a CPU training step, tried on the paper's n = 4 model: which options the loop keeps.

Every variant is one training step built by benchmarks/train_step.py (batch 36, EMODB-sized 64x301 input,
ECA in blocks 5 and 6, weighted focal loss, Adam), with its own model and optimiser. The machine is shared and
noisy, so the variants are timed in alternating rounds and each is reported against the first, the loop's
choice (channels_last, every core, eager). Evaluation and data loading are compared the same way: a forward pass
under inference_mode against no_grad and against autograd on, and our memory-mapped row gather against a
torch DataLoader over the same memmap.
"""

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from ecaser.infra.runtime import keep_freed_memory
from ecaser.training.loop import Inputs
from table import show
from train_step import BATCH, model, step_fn

N, FRAMES, CLASSES, ROUNDS, STEPS = 4, 301, 7, 6, 2
THREADS = torch.get_num_threads()


def threaded(fn, threads=THREADS):
    """fn, run on `threads` threads whichever variant ran before it."""
    def call():
        torch.set_num_threads(threads)
        fn()

    return call


def training(net, threads=THREADS):
    return threaded(step_fn(net, FRAMES, CLASSES), threads)


def evaluation(context):
    net, x = model(N, CLASSES).eval(), torch.randn(BATCH, 1, 64, FRAMES)

    def forward():
        with context():
            net(x)

    return threaded(forward)


def compiled_step():
    """{name: step} of torch.compile's default (inductor) backend, named with the seconds its first call took;
    empty, with the reason printed, where inductor cannot build its kernels (no C++ compiler, say)."""
    step = training(torch.compile(model(N, CLASSES)))
    start = time.perf_counter()
    try:
        step()
    except Exception as error:  # torch raises its own backend errors, whose types vary by what is missing
        print(f"torch.compile left out: {str(error).splitlines()[0]}")
        return {}
    return {f"torch.compile (first call {time.perf_counter() - start:.0f} s)": step}


def race(variants, rounds=ROUNDS, steps=STEPS):
    """Median seconds per call of each variant, timed in alternating rounds after one warm-up call each."""
    for fn in variants.values():
        fn()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            for _ in range(steps):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def loaders(folder):
    """Our gather (Inputs.batch) against a shuffling DataLoader, both over one memory-mapped float16 file."""
    n = 535
    path = Path(folder) / "features.npy"
    np.save(path, np.random.default_rng(0).standard_normal((n, 64, FRAMES), dtype=np.float32).astype(np.float16))
    feats = np.load(path, mmap_mode="r")
    inputs = Inputs([(feats,)], np.zeros(n, np.int64), torch.device("cpu"))
    stats = [(torch.zeros(64, 1), torch.ones(64, 1))]
    order = np.stack([np.zeros(n, np.int64), np.random.default_rng(1).permutation(n)], axis=1)
    loader = torch.utils.data.DataLoader(feats, batch_size=BATCH, shuffle=True)
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")  # read-only map: we only read

    def ours():
        for start in range(0, n, BATCH):
            inputs.batch(order[start : start + BATCH], stats)

    def dataloader():  # with the widening to float32 and the normalisation that Inputs.batch does
        for x in loader:
            (x.float() - stats[0][0]) / stats[0][1]

    return {"ours": ours, "DataLoader": dataloader}


def main():
    keep_freed_memory()
    steps = race({
        "eager, channels_last, all cores (the loop's)": training(model(N, CLASSES)),
        "eager, contiguous (NCHW)": training(model(N, CLASSES, memory_format=torch.contiguous_format)),
        "eager, channels_last, 1 thread": training(model(N, CLASSES), threads=1),
        **compiled_step(),
    })
    evals = race({"inference_mode (the loop's)": evaluation(torch.inference_mode),
                  "no_grad": evaluation(torch.no_grad), "autograd on": evaluation(torch.enable_grad)}, steps=4)
    with tempfile.TemporaryDirectory() as folder:
        data = race(loaders(folder), steps=3)
    for title, times, unit in [("training step", steps, BATCH), ("evaluation forward", evals, BATCH),
                               ("one epoch of batches, 535 clips", data, 535)]:
        base = next(iter(times.values()))
        rows = [[name, f"{1000 * t:.1f}", f"{unit / t:.1f}", f"{base / t:.2f}"] for name, t in times.items()]
        show(f"{title}: n={N}, 64x{FRAMES}, batch {BATCH}, {THREADS} threads, median over alternating rounds",
             ["variant", "ms", "clips/s", "speed vs first"], rows)


if __name__ == "__main__":
    main()
