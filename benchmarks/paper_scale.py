"""What the paper's grids cost: FLOPs of every training stage of configs/paper-*.yaml, and the wall time they imply.

DVC resolves dvc.yaml against each paper config (every foreach and matrix item), each training stage's command
line is read by its own stage script's parser, and torch's flop counter counts one forward + backward (a training
clip) and one forward (a test clip) of the model that stage builds. A run of E epochs and F folds costs
E x ((F - 1) x N x V training clips + N test clips), with N the corpus's utterances (one segment each) and V the
run's training versions. Adam, batch norm and pooling are not counted (torch counts matrix products only).

Wall time is that total over a sustained rate: this machine's, measured here on a training step of the paper's
n = 4 model as fit_fold runs it (bf16 autocast and channels_last on CUDA), and a stated GPU rate, GPU_TFLOPS.
"""

import functools
import importlib.util
import logging
import shlex
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from dvc.repo import Repo
from torch.utils.flop_counter import FlopCounterMode

from ecaser import corpora, dslstm_features, experiment, features, models, params
from ecaser.corpora.synthetic import CORPORA
from ecaser.runtime import device, keep_freed_memory
from ecaser.training import Config, heads
from table import show
from train_step import counted, model, step_fn

ROOT = Path(__file__).resolve().parents[1]
# Sustained, not peak: 64-384-channel convolutions on batches of 36 keep a GPU's tensor cores far from their
# bf16 peak (~990 TFLOP/s on an H100), and the steps are short enough for kernel launches to show.
GPU_TFLOPS = 30
MODEL = ("architecture", "channel_scale", "base_channels", "attention_blocks", "attention", "eca_kernel")


def stage_script(name):
    spec = importlib.util.spec_from_file_location(f"stage_{name}", ROOT / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def training_commands(config):
    """(stage, command) of every training stage of dvc.yaml under the params of config."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(ROOT / "dvc.yaml", folder)
        shutil.copy(config, Path(folder) / "params.yaml")
        logging.getLogger("dvc").setLevel(logging.WARNING)
        Repo.init(folder, no_scm=True)
        stages = Repo(folder).index.stages
        return [(s.name, s.cmd) for s in stages if s.cmd.split()[1] in SCRIPTS]


def run_of(p, command):
    """(training.Config, input shapes, training versions) of the run a stage's command line trains."""
    script, *argv = shlex.split(command)[1:]
    name = Path(script).stem
    if name == "dslstm":
        args = SCRIPTS[script].arguments(argv)
        sample_rate = params.get(p, "data.sample_rate")
        shapes = list(dslstm_features.shapes(segment_samples(p), sample_rate).values())
        return experiment.config(p, args["loss"], architecture="dslstm"), shapes, 1
    args = SCRIPTS[script].arguments(argv, p)
    choices = {key: args[key] for key in MODEL[1:] if key in args}
    cfg = experiment.config(p, args.get("loss", "focal"), **choices)
    return cfg, [input_shape(p, args["test_version"])], len(args["train_versions"])


def input_shape(p, version):
    s = params.stft_version(p, version)
    return s["n_mels"], features.frames(segment_samples(p), s["hop_length"])


def segment_samples(p):
    return round(params.get(p, "data.segment_s") * params.get(p, "data.sample_rate"))


def clip_flops(cfg, shapes):
    """FLOPs of one training clip (forward + backward) and of one test clip (forward), counted on a batch of 2."""
    choices = {key: getattr(cfg, key) for key in MODEL}
    return count(tuple(choices.items()), len(cfg.classes), tuple(shapes))


@functools.cache
def count(choices, classes, shapes):
    """clip_flops of one model and input, once: the sweep's 64 runs hold 8 models (every version has one shape)."""
    net = Config(list(range(classes)), **dict(choices)).model()
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
        for stage, command in training_commands(config):
            cfg, shapes, versions = run_of(p, command)
            train, test = clip_flops(cfg, shapes)
            family = stage.split("@")[0]
            by_family[family] += cfg.epochs * ((cfg.folds - 1) * n * versions * train + n * test)
            runs[family] += 1
        rates = {"this machine (measured, n = 4)": measured_rate(torch.device("cpu"), *n4_input(p))}
        if torch.cuda.is_available():
            rates["this GPU (measured, n = 4)"] = measured_rate(device("cuda"), *n4_input(p))
        rates[f"a GPU at a stated {GPU_TFLOPS} TFLOP/s"] = GPU_TFLOPS * 1e12
        total = sum(by_family.values())
        rows = [[family, runs[family], f"{flops / 1e15:.1f}"] for family, flops in by_family.items()]
        rows.append(["total", sum(runs.values()), f"{total / 1e15:.1f}"])
        show(f"{config.name}: {corpus}, {n} clips, {cfg.folds} folds x {cfg.epochs} epochs",
             ["stage", "runs", "PFLOP"], rows)
        totals += [[config.name, name, f"{rate / 1e12:.2f}", f"{total / rate / 3600:,.1f}"]
                   for name, rate in rates.items()]
    show("wall time of every training stage at a sustained rate", ["config", "rate", "TFLOP/s", "hours"], totals)


def n4_input(p):
    """(frames, classes) of the proposed model's input on the config's corpus."""
    return input_shape(p, params.get(p, "model.version"))[1], len(corpora.classes(params.get(p, "data.corpus")))


SCRIPTS = {f"stages/{name}.py": stage_script(name) for name in ("train", "augment", "dslstm")}

if __name__ == "__main__":
    main()
