"""What the paper's grids cost: FLOPs of every training stage of configs/paper-*.yaml, and the wall time they imply.

DVC resolves dvc.yaml against each paper config (every foreach and matrix item), the package's own parser reads
each training stage's command line into the Run it trains (experiments.planned), and torch's flop counter counts
one forward + backward (a training clip) and one forward (a test clip) of the model that stage builds. A run of E
epochs, F folds and R repeats of the split costs R x E x ((F - 1) x N x V training clips + N test clips), with N
the corpus's utterances (one segment each) and V the run's training versions. Adam, batch norm and pooling are not
counted (torch counts matrix products only).

Wall time is that total over a sustained rate: this machine's, measured here on a training step of the paper's
n = 4 model as fit_fold runs it (bf16 autocast and channels_last on CUDA), and a stated GPU rate, GPU_TFLOPS.
"""

import functools
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ecaser import corpora, dslstm_features, experiments, features, models, params, stage
from ecaser.corpora.synthetic import CORPORA
from ecaser.runtime import device, keep_freed_memory
from ecaser.training import heads
from table import show
from train_step import counted, model, step_fn

ROOT = Path(__file__).resolve().parents[1]
# Sustained, not peak: 64-384-channel convolutions on batches of 36 keep a GPU's tensor cores far from their
# bf16 peak (~990 TFLOP/s on an H100), and the steps are short enough for kernel launches to show.
GPU_TFLOPS = 30
def run_of(p, run):
    """(training.Config, input shapes, training versions) of a Run."""
    if run.model.architecture == "dslstm":
        sample_rate = params.get(p, "data.sample_rate")
        return stage.config(p, run), list(dslstm_features.shapes(segment_samples(p), sample_rate).values()), 1
    return stage.config(p, run), [input_shape(p, run.test)], len(run.train)


def input_shape(p, version):
    s = params.stft_version(p, version)
    return s["n_mels"], features.frames(segment_samples(p), s["hop_length"])


def segment_samples(p):
    return round(params.get(p, "data.segment_s") * params.get(p, "data.sample_rate"))


@functools.cache
def clip_flops(spec, shapes):
    """FLOPs of one training clip (forward + backward) and of one test clip (forward), counted on a batch of 2, once
    per model and input: the sweep's 64 runs hold 8 models (every version has one shape)."""
    net = spec.build()
    x = [torch.randn(2, *shape) for shape in shapes]
    with models.countable(), FlopCounterMode(display=False) as counter:
        sum(h.sum() for h in heads(net(*x))).backward()
    return counter.get_total_flops() / 2, models.summary(net, shapes)["flops"]


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
    for config in sorted((ROOT / "configs").glob("paper-*.yaml")):
        p = params.load(config)
        p["data"]["root"] = "/nowhere"  # no corpus is read: its size comes from its class counts
        corpus = params.get(p, "data.corpus")
        n = sum(CORPORA[corpus].counts.values())
        by_family, runs = defaultdict(float), defaultdict(int)
        for name, run in experiments.planned(ROOT / "dvc.yaml", config):
            cfg, shapes, versions = run_of(p, run)
            train, test = clip_flops(cfg.model, tuple(shapes))
            family = name.split("@")[0]
            by_family[family] += cfg.repeats * cfg.epochs * ((cfg.folds - 1) * n * versions * train + n * test)
            runs[family] += 1
        rates = {"this machine (measured, n = 4)": measured_rate(torch.device("cpu"), *n4_input(p))}
        if torch.cuda.is_available():
            rates["this GPU (measured, n = 4)"] = measured_rate(device("cuda"), *n4_input(p))
        rates[f"a GPU at a stated {GPU_TFLOPS} TFLOP/s"] = GPU_TFLOPS * 1e12
        total = sum(by_family.values())
        rows = [[family, runs[family], f"{flops / 1e15:.1f}"] for family, flops in by_family.items()]
        rows.append(["total", sum(runs.values()), f"{total / 1e15:.1f}"])
        show(f"{config.name}: {corpus}, {n} clips, {cfg.repeats} x {cfg.folds} folds x {cfg.epochs} epochs",
             ["stage", "runs", "PFLOP"], rows)
        totals += [[config.name, name, f"{rate / 1e12:.2f}", f"{total / rate / 3600:,.1f}"]
                   for name, rate in rates.items()]
    show("wall time of every training stage at a sustained rate", ["config", "rate", "TFLOP/s", "hours"], totals)


def n4_input(p):
    """(frames, classes) of the proposed model's input on the config's corpus."""
    return input_shape(p, params.get(p, "model.version"))[1], len(corpora.classes(params.get(p, "data.corpus")))


if __name__ == "__main__":
    main()
