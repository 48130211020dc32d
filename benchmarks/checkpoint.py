"""What a training checkpoint costs (src/ecaser/training/checkpoint.py): its size, the time to save it, and that time per
epoch at the default ECASER_CHECKPOINT_EVERY, set against the epoch it protects.

A checkpoint is saved as fit_fold saves it: the model, Adam with its moments (after a step, so they exist), the
schedule, the shuffle generator, curves and last predictions, through atomic.write_bytes into a temporary folder.
The epoch is estimated as its training steps, each timed as benchmarks/train_step.py times it, on the CPU: the demo
(n = 1, 64x301, 7 classes, batch 12, the demo corpus's training fold of 143 clips) and the paper's EMODB model
(n = 4, batch 36, 428 training clips: 4/5 of 535).
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ecaser.training import checkpoint
from ecaser.infra import runtime
from table import show
from train_step import model, step_fn

CASES = [("demo", 1, 12, 143, 71), ("paper EMODB", 4, 36, 428, 107)]  # name, n, batch, training and test clips
SAVES, STEPS = 5, 3


def median_time(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    runtime.keep_freed_memory()
    every, rows = runtime.checkpoint_every(), []
    for name, n, batch, clips, tests in CASES:
        net = model(n, 7)
        step = step_fn(net, 301, 7)
        step()
        seconds = median_time(step, STEPS) * batch / 36  # step_fn's batch is 36; a step's time scales with its rows
        epoch = seconds * -(-clips // batch)
        optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
        net(torch.randn(2, 1, 64, 301)).sum().backward()
        optimiser.step()
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=1.0)
        shuffle = np.random.default_rng(0)
        curves = [{"epoch": e, "train_loss": 1.0, "UA": 50.0, "WA": 50.0, "ACC": 50.0} for e in range(100)]
        with tempfile.TemporaryDirectory() as folder:
            fold = checkpoint.Fold(Path(folder) / "fold-1.pt", every)
            save = lambda: fold.save(np.zeros((tests, 7), np.float32), {}, model=net.state_dict(),  # noqa: E731
                                     optimiser=optimiser.state_dict(), schedule=schedule.state_dict(),
                                     shuffle=shuffle.bit_generator.state, curves=curves)
            save()
            cost, size = median_time(save, SAVES), fold.path.stat().st_size
        rows.append([f"{name} (n={n})", f"{size / 1e6:.1f}", f"{cost * 1e3:.0f}", f"{epoch:.1f}",
                     f"{cost / every * 1e3:.0f}", f"{cost / every / epoch:.2%}"])
    show(f"one fold's checkpoint, CPU, {torch.get_num_threads()} threads; epoch = training steps x the median step "
         f"time; per epoch: saved every {every} epochs (ECASER_CHECKPOINT_EVERY)",
         ["model", "MB", "save ms", "epoch s", "ms per epoch", "of an epoch"], rows)


if __name__ == "__main__":
    main()
