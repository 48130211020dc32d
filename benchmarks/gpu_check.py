"""The GPU check: one command that proves the CUDA path and measures what the paper grids cost on this GPU.

    make gpu-check                                   # the project's env (make venv); results in gpu-check/
    PYTHONUNBUFFERED=1 PYTHONPATH=src python3 benchmarks/gpu_check.py --out "$OUT" 2>&1 | tee "$OUT/log.txt"
                                                     # a bare CUDA image (no DVC, librosa, dvclive): docs/gpu-check.md

Sections, in this order (the most useful first), each recorded in DIR/gpu_check.json and DIR/gpu_check.md as ok,
error (with its message: the next section still runs) or skipped (with why); the files are rewritten after every
section and inside the long ones, so that a run cut short by a time limit still returns what it measured:
  environment  torch, CUDA, cuDNN, the GPU;
  cuda_tests   tests/test_cuda.py (the `cuda` marker), their outcomes and recorded figures;
  paper_scale  cross_validate at the paper's sizes on random features, two epochs, with each CUDA-only mechanism
               off and on: ECASER_RESIDENT 0 and 1, ECASER_PARALLEL_FOLDS 1 and 5 (folds one at a time, or taking
               turns on CUDA streams); epoch time, peak memory, and each mechanism's speed-up against the 1.2x bar;
  steps        a training step of the paper's CNN at n = 1, 2, 4, 8 on 64 x 301 and 64 x 601, batch 36, float32
               (TF32 off) and bf16, as clips/s and as a fraction of this GPU's measured matmul rates; the DS-LSTM's;
  projection   the paper grids' hours from these rates and paper_plan.json (precomputed: no DVC here);
  folds        five folds one after another, taking turns on CUDA streams (loop.take_turns), and as one
               fold-batched model (torch.func's stacked modules under vmap, batch norm per fold), checked to compute
               what the separate models compute;
  compile      torch.compile and its CUDA graphs on one model: last, and only with 150 s of the budget left.
Without CUDA, or with --dry-run, every section runs at toy sizes on the CPU and the output says what it skipped:
tests/test_gpu_check.py runs it so, so that the check cannot rot before a GPU is at hand. Nothing here imports
DVC or an audio library (the test proves it). The mechanisms measured here are off by default in the training loop
(ECASER_RESIDENT=0, ECASER_PARALLEL_FOLDS=1) and fold batching and compilation are not in it at all: a mechanism
is turned on only where this check measures it at 1.2x or better.
"""

import argparse
import contextlib
import copy
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ecaser.infra import atomic, progress, runtime
from ecaser import models
from ecaser.training import loop
from ecaser.training.losses import FocalLoss
from table import markdown
from train_step import clip_flops, matmul_flops, step_fn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLAN = HERE / "paper_plan.json"
STATED_TFLOPS = 30  # the rate the README's grid hours assumed before any GPU was measured
BAR = 1.2  # the speed-up a mechanism must show before it is turned on by default
DEFAULTS = {"ECASER_RESIDENT": "0", "ECASER_PARALLEL_FOLDS": "1"}  # the training loop's defaults on every device
ONE_BY_ONE = ((0, 1), (1, 1))  # (ECASER_RESIDENT, ECASER_PARALLEL_FOLDS): the resident gather off and on
EVERY_WAY = ONE_BY_ONE + ((0, 5), (1, 5))  # and the folds taking turns on streams, with either
FULL = {
    "batch": 36, "steps": 10, "mm_size": 8192, "mm_runs": 10,
    "step_scales": (1, 2, 4, 8), "step_inputs": ((301, 7), (601, 4)), "precisions": ("float32", "bfloat16"),
    "fold_scales": (1, 4), "fold_input": (301, 7), "folds": 5, "compile": True,
    # (paper config, clips, frames, classes, training versions, ways): EMODB's and IEMOCAP's sizes, the cheap cases
    # first; a case's ways are run one after another, the defaults first
    "paper": [("paper-emodb.yaml", 535, 301, 7, 1, EVERY_WAY), ("paper-iemocap.yaml", 2943, 601, 4, 1, ONE_BY_ONE),
              ("paper-emodb.yaml", 535, 301, 7, 8, ONE_BY_ONE), ("paper-iemocap.yaml", 2943, 601, 4, 8, ONE_BY_ONE)],
    "paper_scale": 4, "paper_epochs": 2,
    # seconds: the whole check's budget; what paper scale leaves to the sections after it, steps to the folds;
    # what a cold torch.compile needs (one to two and a half minutes); the CUDA tests' own limit
    "budget_s": 450, "paper_reserve_s": 120, "steps_reserve_s": 45, "compile_s": 150, "tests_s": 240,
}
# the dry run exercises every path at toy sizes, two folds; its budget is no constraint (a shared CPU is slow)
DRY = {**FULL, "batch": 4, "steps": 2, "mm_size": 256, "mm_runs": 3, "step_scales": (1, 2), "step_inputs": ((40, 3),),
       "fold_scales": (1,), "fold_input": (40, 3), "folds": 2, "compile": False,
       "paper": [("paper-emodb.yaml", 20, 40, 2, 1, EVERY_WAY), ("paper-iemocap.yaml", 20, 40, 2, 1, ONE_BY_ONE),
                 ("paper-emodb.yaml", 20, 40, 2, 2, ONE_BY_ONE[:1])],
       "paper_scale": 1, "budget_s": 900, "paper_reserve_s": 30, "steps_reserve_s": 15}


class Check:
    """The results so far, written after every section and inside the long ones; what was skipped, and why."""

    def __init__(self, out, sizes, dry_run, dev, budget):
        self.out, self.sizes, self.dev, self.budget = Path(out), sizes, dev, budget
        self.out.mkdir(parents=True, exist_ok=True)
        self.deadline = time.monotonic() + budget
        self.results = {"dry_run": dry_run, "device": str(dev), "budget_s": budget, "status": {}, "seconds": {},
                        "sections": {}, "skipped": [], "errors": []}
        self.tables = {}

    def left(self):
        return self.deadline - time.monotonic()

    def skip(self, what, why):
        self.results["skipped"].append({"what": what, "why": why})
        print(f"skipped {what}: {why}", flush=True)

    def error(self, what, error):
        """An exception inside a section, recorded; the section goes on with its next part."""
        traceback.print_exception(error)
        self.results["errors"].append({"what": what, "error": describe(error)})

    def in_time(self, what, reserve=0):
        """Whether the budget leaves more than `reserve` seconds (kept for later sections); if not, `what` is
        recorded as skipped."""
        if self.left() > reserve:
            return True
        kept = f", {reserve:.0f} s of it kept for later sections" if reserve else ""
        self.skip(what, f"{max(0, self.left()):.0f} s of the {self.budget:.0f} s budget left{kept}")
        return False

    def save(self, section, data, tables, show=True):
        self.results["sections"][section] = data
        self.tables[section] = tables
        self.write()
        for table in tables if show else ():
            print(markdown(*table), flush=True)

    def write(self):
        atomic.save_json(self.out / "gpu_check.json", self.results)
        status = [[name, s["status"], s.get("message", ""), self.results["seconds"].get(name, "")]
                  for name, s in self.results["status"].items()]
        tables = [("sections", ["section", "status", "error or why skipped", "s"], status)]
        tables += [table for name in SECTIONS for table in self.tables.get(name, [])]
        tables.append(("errors inside sections (each went on)", ["what", "error"],
                       [[e["what"], e["error"]] for e in self.results["errors"]]))
        tables.append(("skipped", ["what", "why"], [[s["what"], s["why"]] for s in self.results["skipped"]]))
        environment = self.results["sections"].get("environment", {})
        title = f"# GPU check: {environment.get('device', self.results['device'])}, {environment.get('date', '')}"
        page = title + "\n\n" + "\n".join(markdown(*table) for table in tables)
        atomic.write_bytes(self.out / "gpu_check.md", page.encode())

    def sync(self):
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)


def describe(error):
    """An exception in one line: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300] if lines else ''}".rstrip(": ")


def environment(check):
    dev, cuda = check.dev, check.dev.type == "cuda"
    data = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "python": platform.python_version(),
            "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "device": torch.cuda.get_device_name(dev) if cuda else f"CPU ({os.cpu_count()} cores; dry run)",
            "capability": ".".join(map(str, torch.cuda.get_device_capability(dev))) if cuda else None,
            "memory_gib": round(torch.cuda.get_device_properties(dev).total_memory / 2**30, 1) if cuda else None,
            "cpu_threads": torch.get_num_threads(), "commit": commit(),
            "settings": {name: os.environ.get(name) for name in ("ECASER_DEVICE", *DEFAULTS)}}
    check.save("environment", data, [("environment", ["", ""], [[k, v] for k, v in data.items()])])

def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):  # a copy of the tree without .git, or no git at all
        return None


def cuda_tests(check):
    """tests/test_cuda.py in a pytest process of its own (a crash there is a result here), read from its JUnit XML."""
    report = check.out / "cuda_tests.xml"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_cuda.py"), "-m", "cuda", "-q",
               "-p", "no:cacheprovider", f"--junitxml={report}", "-o", "junit_family=xunit1"]
    report.unlink(missing_ok=True)  # a rerun into the same folder must not read the last run's report
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=max(30, min(check.sizes["tests_s"], check.left())))
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:]
    except subprocess.TimeoutExpired:
        tail = [f"timed out after {max(30, min(check.sizes['tests_s'], check.left())):.0f} s"]
    rows, data = [], {"last_line": tail[0] if tail else "", "tests": {}}
    cases = ElementTree.parse(report).getroot().iter("testcase") if report.exists() else []
    for case in cases:
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                message = ((node.get("message") or node.text or "").strip().splitlines() or [""])[0]
        figures = {p.get("name"): p.get("value") for p in case.iter("property")}
        data["tests"][case.get("name")] = {"outcome": outcome, "message": message, **figures}
        rows.append([case.get("name"), outcome, "; ".join([*(f"{k} {v}" for k, v in figures.items()),
                                                           *([message[:200]] if message else [])])])
    if check.dev.type != "cuda":
        check.skip("cuda tests", "no CUDA: collected and skipped")
    outcomes = [test["outcome"] for test in data["tests"].values()]
    data["summary"] = (", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes)) if outcomes else
                       f"no test reported: {data['last_line']}")
    check.save("cuda_tests", data, [(f"CUDA tests: {data['summary']}", ["test", "outcome", "figures"], rows)])
    return data["summary"]


def timed(step, steps, check):
    """Seconds per call of step: one warm-up call, then `steps` calls between two synchronisations (as the training
    loop runs: the host queues steps without waiting for each)."""
    step()
    check.sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    check.sync()
    return (time.perf_counter() - start) / steps


def cnn(n, classes, dev, seed=0):
    """The paper's CNN at channel scale n (ECA k = 7 in blocks 5 and 6), placed as fit_fold places it."""
    torch.manual_seed(seed)
    return models.cnn(range(classes), n, 16, "eca", (5, 6), 7).build().to(dev, memory_format=torch.channels_last)


def steps(check):
    s, dev, data, rows = check.sizes, check.dev, {"matmul_tflops": {}, "cnn": [], "dslstm": []}, []
    for precision in s["precisions"]:
        data["matmul_tflops"][precision] = matmul_flops(dev, precision, s["mm_size"], s["mm_runs"]) / 1e12
    mm = data["matmul_tflops"]
    for frames, classes in s["step_inputs"]:
        for n in s["step_scales"]:
            for precision in s["precisions"]:
                if not check.in_time(f"step n={n} 64x{frames} {precision}", s["steps_reserve_s"]):
                    continue
                try:
                    step = step_fn(cnn(n, classes, dev), frames, classes, dev, precision, s["batch"])
                    train, _ = clip_flops(models.cnn(range(classes), n, 16, "eca", (5, 6), 7), ((64, frames),))
                    seconds = timed(step, s["steps"], check)
                except Exception as error:  # out of memory at n = 8, say: the other cases still run
                    check.error(f"step n={n} 64x{frames} {precision}", error)
                    continue
                tflops = s["batch"] * train / seconds / 1e12
                data["cnn"].append({"scale": n, "frames": frames, "precision": precision, "clips_per_s":
                                    s["batch"] / seconds, "tflops": tflops})
                rows.append([f"CNN n={n}", f"64x{frames}", precision, f"{s['batch'] / seconds:,.0f}", f"{tflops:.2f}",
                             f"{tflops / mm[precision]:.1%}", f"{tflops / mm['bfloat16']:.1%}"])
    for config, plan in json.loads(PLAN.read_text()).items():  # the DS-LSTM at each corpus's input, bf16
        shapes = tuple(tuple(shape) for shape in next(r for r in plan["runs"] if r["architecture"] == "dslstm")["shapes"])
        if check.sizes is DRY:
            shapes = tuple((features, 24) for features, _ in shapes)
        classes = plan["proposed"]["classes"]
        if not check.in_time(f"DS-LSTM step {config}", s["steps_reserve_s"]):
            continue
        torch.manual_seed(0)
        try:
            net = models.Spec("dslstm", tuple(range(classes))).build().to(dev)
            seconds = timed(step_fn(net, None, classes, dev, "bfloat16", s["batch"], shapes),
                            max(2, s["steps"] // 2), check)
        except Exception as error:
            check.error(f"DS-LSTM step {config}", error)
            continue
        tflops = s["batch"] * clip_flops(models.Spec("dslstm", tuple(range(classes))), shapes)[0] / seconds / 1e12
        data["dslstm"].append({"config": config, "shapes": shapes, "clips_per_s": s["batch"] / seconds,
                               "tflops": tflops})
        rows.append(["DS-LSTM", "+".join(f"{a}x{b}" for a, b in shapes), "bfloat16", f"{s['batch'] / seconds:,.0f}",
                     f"{tflops:.2f}", f"{tflops / mm['bfloat16']:.1%}", f"{tflops / mm['bfloat16']:.1%}"])
    title = (f"training steps, batch {s['batch']}; matmul {s['mm_size']}: "
             + ", ".join(f"{p} {r:.1f} TFLOP/s" for p, r in mm.items()))
    check.save("steps", data, [(title, ["model", "input", "precision", "clips/s", "TFLOP/s", "of mm (same precision)",
                                        "of bf16 mm"], rows)])




@contextlib.contextmanager
def vmap_fallback_warnings():
    """torch.vmap's warning for each op that has no batching rule (vmap then runs it fold by fold in a loop): off
    by default in torch, on while this is open. Yields whether this torch has the switch at all."""
    switch = getattr(getattr(torch._C, "_functorch", None), "_set_vmap_fallback_warning_enabled", None)
    if switch is None:
        yield False
        return
    switch(True)
    try:
        yield True
    finally:
        switch(False)


class FoldBatched:
    """Five folds' models as one: their parameters and buffers stacked (torch.func.stack_module_state) and the
    model's forward vmapped over the fold axis, so every layer runs once for all folds. Batch norm stays per fold:
    its running statistics are stacked buffers too. Adam is elementwise, so one Adam over the stacked parameters is
    five Adams."""

    def __init__(self, nets, classes, dev, precision):
        self.params, self.buffers = torch.func.stack_module_state(nets)
        self.base = copy.deepcopy(nets[0]).to("meta")
        self.loss_fn = FocalLoss(1.0, torch.ones(classes, device=dev))
        self.optimiser = torch.optim.Adam(self.params.values(), lr=1e-3)
        self.dev, self.precision, self.fallbacks, self.observable = dev, precision, [], None

    def losses(self, params, buffers, x, y):
        return self.loss_fn(torch.func.functional_call(self.base, (params, buffers), (x,)).float(), y)

    def step(self, x, y):
        """One training step of every fold: x [folds, batch, 1, mels, frames], y [folds, batch]."""
        loop.set_precision(self.precision)
        with warnings.catch_warnings(record=True) as caught, vmap_fallback_warnings() as self.observable:
            warnings.simplefilter("always")
            with loop.autocast(self.dev, self.precision):
                losses = torch.vmap(self.losses)(self.params, self.buffers, x, y)
            self.optimiser.zero_grad(set_to_none=True)
            losses.sum().backward()  # fold k's parameters get the gradient of fold k's loss alone
        for warning in caught:  # ops without a batching rule, which vmap runs fold by fold
            found = re.search(r"batching rule for (\S+?)\.? ", str(warning.message))
            if found and found.group(1) not in self.fallbacks:
                self.fallbacks.append(found.group(1))
        self.optimiser.step()
        return losses.detach()


def fold_batches(folds, batch, frames, classes, dev, count):
    generator = torch.Generator(device=dev).manual_seed(0)
    return [(torch.randn(folds, batch, 1, 64, frames, device=dev, generator=generator),
             torch.randint(classes, (folds, batch), device=dev, generator=generator)) for _ in range(count)]


LOSS_TOLERANCE, GRAD_TOLERANCE = 1e-5, 1e-4  # "equal": float32 rounding, not bit for bit (see equivalence)


def equivalence(n, frames, classes, dev, folds, batch, steps=3):
    """The fold-batched model against five separate models over the same batches, float32 (TF32 off): the first
    step's largest loss difference and gradient difference (relative to the largest gradient), whether both are
    within float32's sums in another order, and the largest loss difference over `steps` steps. On CUDA the vmapped
    convolutions are grouped ones, for which cuDNN may pick other algorithms than for the separate models': equal
    means within that rounding, never bit for bit. Later steps and parameters differ more: Adam turns the noise of
    gradients that batch norm makes zero (the convolutions' biases) into whole steps of the learning rate."""
    nets = [cnn(n, classes, dev, seed) for seed in range(folds)]
    batched = FoldBatched(nets, classes, dev, "float32")
    separate = [step_fn(net, frames, classes, dev, "float32", batch) for net in nets]
    loss_diffs, grad_diff = [], None
    for x, y in fold_batches(folds, batch, frames, classes, dev, steps):
        together = batched.step(x, y)
        alone = torch.stack([step([x[k]], y[k]) for k, step in enumerate(separate)])
        loss_diffs.append(float((together - alone).abs().max()))
        if grad_diff is None:
            grads = {name: torch.stack([dict(net.named_parameters())[name].grad for net in nets])
                     for name in batched.params}
            scale = max(float(g.abs().max()) for g in grads.values())
            grad_diff = max(float((batched.params[name].grad - g).abs().max()) for name, g in grads.items()) / scale
    return {"first_loss_max_diff": loss_diffs[0], "grad_max_rel_diff": grad_diff, "loss_max_diff": max(loss_diffs),
            "equal": loss_diffs[0] < LOSS_TOLERANCE and grad_diff < GRAD_TOLERANCE,
            "vmap_fallbacks": batched.fallbacks, "fallbacks_observable": batched.observable}


def fold_runs(check, n, frames, classes, precision):
    """{way: clips/s} of five folds' training steps: one after another, taking turns on streams, fold-batched."""
    s, dev, folds = check.sizes, check.dev, check.sizes["folds"]
    count = s["steps"]
    batches = fold_batches(folds, s["batch"], frames, classes, dev, count + 1)
    clips = folds * count * s["batch"]
    separate = [step_fn(cnn(n, classes, dev, seed), frames, classes, dev, precision, s["batch"])
                for seed in range(folds)]

    def fold(k):
        for x, y in batches[1:]:
            separate[k]([x[k]], y[k])
            yield

    for k, step in enumerate(separate):  # warm-up
        step([batches[0][0][k]], batches[0][1][k])
    rates = {}
    check.sync()
    start = time.perf_counter()
    loop.take_turns([fold(k) for k in range(folds)], 1, dev)
    check.sync()
    rates["one after another"] = clips / (time.perf_counter() - start)
    start = time.perf_counter()
    loop.take_turns([fold(k) for k in range(folds)], folds, dev)
    check.sync()
    rates["taking turns (streams on CUDA)"] = clips / (time.perf_counter() - start)
    batched = FoldBatched([cnn(n, classes, dev, seed) for seed in range(folds)], classes, dev, precision)
    batched.step(*batches[0])
    check.sync()
    start = time.perf_counter()
    for x, y in batches[1:]:
        batched.step(x, y)
    check.sync()
    rates["fold-batched (vmap)"] = clips / (time.perf_counter() - start)
    return rates


def fold_tables(check, data, frames, precision):
    s, rows = check.sizes, []
    for n, rates in data["rates"].items():
        base = rates["one after another"]
        rows += [[f"n={n}", way, f"{rate:,.0f}", f"{rate / base:.2f}x",
                  "" if way == "one after another" else ("yes" if rate / base >= BAR else "no")]
                 for way, rate in rates.items()]
    unobservable = "not observable: this torch has no switch for vmap's fallback warnings"
    return [(f"{s['folds']} folds' training steps, 64x{frames}, batch {s['batch']}, {precision}",
             ["model", "way", "clips/s", "vs one after another", f"{BAR}x or better"], rows),
            ("fold-batched model against separate models (float32, TF32 off; equal: within float32 rounding, as "
             "cuDNN may pick other algorithms for the grouped convolutions than for the separate ones, not bit for "
             f"bit: loss {LOSS_TOLERANCE:g}, gradient {GRAD_TOLERANCE:g} of the largest)",
             ["model", "step 1: loss difference", "step 1: gradient difference (relative)",
              "equal (float32, within cuDNN's algorithm differences)", "3 steps: loss difference",
              "ops vmap runs fold by fold"],
             [[f"n={n}", f"{e['first_loss_max_diff']:.1e}", f"{e['grad_max_rel_diff']:.1e}", e["equal"],
               f"{e['loss_max_diff']:.1e}",
               ", ".join(e["vmap_fallbacks"]) or ("none" if e["fallbacks_observable"] else unobservable)]
              for n, e in data["equivalence"].items()])]


def fold_ways(check):
    s, dev = check.sizes, check.dev
    frames, classes = s["fold_input"]
    precision = "bfloat16" if dev.type == "cuda" else "float32"
    data = {"equivalence": {}, "rates": {}}
    for n in s["fold_scales"]:
        if not check.in_time(f"folds n={n}"):
            continue
        for part, what, measure in [
                ("equivalence", "fold-batched equivalence", lambda: equivalence(n, frames, classes, dev, s["folds"],
                                                                                  s["batch"])),
                ("rates", "fold rates", lambda: fold_runs(check, n, frames, classes, precision))]:
            try:
                data[part][n] = measure()
            except Exception as error:
                check.error(f"{what} n={n}", error)
            check.save("folds", data, fold_tables(check, data, frames, precision), show=False)
    check.save("folds", data, fold_tables(check, data, frames, precision))


class Skipped(Exception):
    """A whole section not run, and why."""


def compile_ways(check):
    """torch.compile and its CUDA graphs on one model's step against eager: last, as a cold compile costs one to
    two and a half minutes and nothing turns on without a measurement."""
    s, dev = check.sizes, check.dev
    if not s["compile"]:
        raise Skipped("dry run: a cold compile costs minutes on a CPU")
    if dev.type != "cuda":
        raise Skipped("no CUDA")
    if check.left() < s["compile_s"]:
        raise Skipped(f"{max(0, check.left()):.0f} s of the {check.budget:.0f} s budget left; a cold torch.compile "
                      f"needs about {s['compile_s']} s")
    frames, classes = s["fold_input"]
    n, precision = s["fold_scales"][-1], "bfloat16"
    rates = compiled_runs(check, n, frames, classes, precision)
    base = rates["eager"]
    check.save("compile", {"scale": n, "frames": frames, "precision": precision, "rates": rates},
               [(f"one model's step, n={n}, 64x{frames}, batch {s['batch']}, {precision}",
                 ["way", "clips/s", "vs eager", f"{BAR}x or better"],
                 [[way, f"{r:,.0f}", f"{r / base:.2f}x", "" if way == "eager" else ("yes" if r / base >= BAR else "no")]
                  for way, r in rates.items()])])


def compiled_runs(check, n, frames, classes, precision):
    """{way: clips/s} of one model's step, eager, torch.compile and torch.compile's CUDA graphs, with each compiled
    way's first call (its compile time) in the name. A way that raises, in its compile or in its timed steps, is
    recorded as an error and the next way still runs."""
    s, dev = check.sizes, check.dev
    rates = {"eager": s["batch"] / timed(step_fn(cnn(n, classes, dev), frames, classes, dev, precision, s["batch"]),
                                         s["steps"], check)}
    for way, mode in [("torch.compile", "default"), ("torch.compile, CUDA graphs", "reduce-overhead")]:
        # the second compile reuses the first one's kernels, so it needs less of the budget
        if not check.in_time(f"{way} n={n}", 0 if len(rates) == 1 else s["compile_s"] / 3):
            continue
        try:  # the backends raise their own types, by what is missing (a compiler, Triton)
            step = step_fn(torch.compile(cnn(n, classes, dev), mode=mode), frames, classes, dev, precision, s["batch"])
            start = time.perf_counter()
            step()
            check.sync()
            first = time.perf_counter() - start
            rates[f"{way} (first call {first:.0f} s)"] = s["batch"] / timed(step, s["steps"], check)
        except Exception as error:
            check.error(f"{way} n={n}", error)
    return rates


class EpochClock:
    """A stand-in for cross_validate's progress bar that keeps when each fold ended each epoch: fit_fold calls
    set_postfix(fold=, epoch=, ...) and then update() at every epoch's end."""

    def __init__(self):
        self.ends, self.at = {}, None

    def set_postfix(self, fold=None, epoch=None, **kwargs):
        self.at = (fold, epoch)

    def update(self, *args):
        self.ends[self.at] = time.perf_counter()

    def close(self):
        pass

    def epoch_seconds(self, folds, epochs, width):
        """Seconds of one epoch of every fold: each fold's last epoch, end to end (without its set-up and its first
        epoch), summed, over the folds that ran at once (width of them take turns, so their epochs overlap)."""
        spans = [self.ends[fold, epochs] - self.ends[fold, epochs - 1] for fold in range(1, folds + 1)]
        return sum(spans) / min(width, folds)


@contextlib.contextmanager
def watching_inputs(seen):
    """Appends, for every loop.Inputs made while open, whether its features were made resident on the
    device: what cross_validate did with ECASER_RESIDENT, not what was asked of it."""
    init = loop.Inputs.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        seen.append(getattr(self, "on_device", None) is not None)

    loop.Inputs.__init__ = spy
    try:
        yield
    finally:
        loop.Inputs.__init__ = init


def paper_run(check, case, feats, resident, width):
    """cross_validate on random features of a paper size with ECASER_RESIDENT=resident and
    ECASER_PARALLEL_FOLDS=width: its epoch's and whole run's seconds, peak GiB and TFLOP/s."""
    s = check.sizes
    config, clips, frames, classes, versions = case
    labels = np.arange(clips) % classes
    manifest = pd.DataFrame({"id": [f"c{i}" for i in range(clips)], "speaker": [f"s{i % 10}" for i in range(clips)],
                             "session": "", "label": labels.astype(str), "label_index": labels})
    spec = models.cnn(range(classes), s["paper_scale"], 16, "eca", (5, 6), 7)
    precision = "bfloat16" if check.dev.type == "cuda" else "float32"
    cfg = loop.Config(spec, epochs=s["paper_epochs"], batch_size=s["batch"], lr=1e-3, lr_decay=1.0, focal_gamma=1.0,
                          weighted=True, folds=s["folds"], repeats=1, protocol="stratified", seed=0,
                          precision=precision)
    clock, bar, seen = EpochClock(), progress.bar, []
    if check.dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(check.dev)
    os.environ.update({"ECASER_RESIDENT": str(resident), "ECASER_PARALLEL_FOLDS": str(width)})
    progress.bar = lambda *args, **kwargs: clock
    try:
        with watching_inputs(seen):
            start = time.perf_counter()
            loop.cross_validate(manifest, [(feats,)] * versions, (feats,), cfg)
            check.sync()
            total = time.perf_counter() - start
    finally:
        progress.bar = bar
        os.environ.update(DEFAULTS)
    epoch = clock.epoch_seconds(s["folds"], s["paper_epochs"], width)
    train, test = clip_flops(spec, ((64, frames),))
    flops = (s["folds"] - 1) * clips * versions * train + clips * test  # one epoch of every fold
    peak = torch.cuda.max_memory_allocated(check.dev) / 2**30 if check.dev.type == "cuda" else None
    return {"config": config, "clips": clips, "frames": frames, "versions": versions, "resident": resident,
            "parallel_folds": width, "resident_as_run": all(seen) if seen else None, "epoch_s": epoch, "run_s": total,
            "peak_gib": peak, "epoch_tflop": flops / 1e12, "tflops": flops / epoch / 1e12}


def honoured(run):
    """Whether cross_validate did with the features what ECASER_RESIDENT asked."""
    return run["resident_as_run"] == bool(run["resident"])


def case_name(run):
    corpus = run["config"].removeprefix("paper-").removesuffix(".yaml")
    return f"{corpus}: {run['clips']} x 64 x {run['frames']}, {run['versions']} version(s)"


def mechanisms(runs):
    """Each mechanism's speed-up of an epoch, on against off with everything else equal: ECASER_RESIDENT=1 against
    0, and the folds taking turns (ECASER_PARALLEL_FOLDS > 1) against one at a time."""
    way = lambda run: (run["config"], run["clips"], run["frames"], run["versions"], run["resident"],
                       run["parallel_folds"])
    index = {way(run): run for run in runs}
    found = []
    for run in runs:
        pairs = []
        if run["resident"]:
            pairs.append(("ECASER_RESIDENT=1", f"ECASER_PARALLEL_FOLDS={run['parallel_folds']}", 0,
                          run["parallel_folds"]))
        if run["parallel_folds"] > 1:
            pairs.append((f"ECASER_PARALLEL_FOLDS={run['parallel_folds']}", f"ECASER_RESIDENT={run['resident']}",
                          run["resident"], 1))
        for mechanism, beside, resident, width in pairs:
            off = index.get(way(run)[:4] + (resident, width))
            if off is None:
                continue
            entry = {"mechanism": mechanism, "with": beside, "case": case_name(run), "off_s": off["epoch_s"],
                     "on_s": run["epoch_s"], "speedup": None, "passes": None}
            if honoured(off) and honoured(run):
                entry["speedup"] = off["epoch_s"] / run["epoch_s"]
                entry["passes"] = entry["speedup"] >= BAR
            else:
                entry["note"] = "not measured: loop.cross_validate ignored ECASER_RESIDENT"
            found.append(entry)
    return found


def paper_tables(check, data):
    s, cuda = check.sizes, check.dev.type == "cuda"
    rows = [[case_name(r), r["resident"], r["parallel_folds"],
             ("resident" if r["resident_as_run"] else "memory-mapped") + ("" if honoured(r) else " (setting ignored)"),
             f"{r['epoch_s']:.2f}", f"{r['run_s']:.1f}", "" if r["peak_gib"] is None else f"{r['peak_gib']:.1f}",
             f"{r['tflops']:.2f}"] for r in data["runs"]]
    verdicts = "; ".join(f"{m}: {v['passes']} of {v['measured']} cases" for m, v in data["verdicts"].items())
    return [(f"cross_validate, n={s['paper_scale']}, {s['folds']} folds, batch {s['batch']}, "
             f"{'bf16' if cuda else 'float32'}, {s['paper_epochs']} epochs; epoch s: one epoch of every fold, "
             "the last, without set-up",
             ["features", "ECASER_RESIDENT", "ECASER_PARALLEL_FOLDS", "features as run", "epoch s", "run s",
              "peak GiB", "TFLOP/s"], rows),
            (f"mechanisms: an epoch's speed-up, on against off (on by default only at {BAR}x or better)"
             + (f"; {verdicts}" if verdicts else ""),
             ["mechanism", "with", "case", "epoch s off", "epoch s on", "speed-up", f"{BAR}x or better"],
             [[m["mechanism"], m["with"], m["case"], f"{m['off_s']:.2f}", f"{m['on_s']:.2f}",
               m.get("note") or f"{m['speedup']:.2f}x", "" if m["passes"] is None else ("yes" if m["passes"] else "no")]
              for m in data["mechanisms"]])]


def estimate(runs, frames, flops, epochs):
    """Seconds a run of `flops` per epoch would take at the slowest rate measured so far on its input size (or on
    any), with one more epoch for its set-up; None before any run."""
    rates = [r["tflops"] for r in runs if r["frames"] == frames] or [r["tflops"] for r in runs]
    return (epochs + 1) * flops / (min(rates) * 1e12) if rates else None


def paper_scale(check):
    """Every case's ways one after another, the results rewritten after each run."""
    s, data = check.sizes, {"runs": [], "mechanisms": [], "verdicts": {}}
    with tempfile.TemporaryDirectory() as folder:
        for config, clips, frames, classes, versions, ways in s["paper"]:
            case, features = (config, clips, frames, classes, versions), None
            for resident, width in ways:
                what = (f"paper scale {clips}x64x{frames}, {versions} version(s), ECASER_RESIDENT={resident}, "
                        f"ECASER_PARALLEL_FOLDS={width}")
                if not check.in_time(what, s["paper_reserve_s"]):
                    continue
                spec = models.cnn(range(classes), s["paper_scale"], 16, "eca", (5, 6), 7)
                train, test = clip_flops(spec, ((64, frames),))
                need = estimate(data["runs"], frames, (s["folds"] - 1) * clips * versions * train + clips * test,
                                s["paper_epochs"])
                if need is not None and need > check.left() - s["paper_reserve_s"]:
                    check.skip(what, f"estimated {need:.0f} s at the rates measured so far; "
                                     f"{check.left() - s['paper_reserve_s']:.0f} s left before the "
                                     f"{s['paper_reserve_s']} s kept for later sections")
                    continue
                if features is None:  # the features as the pipeline keeps them: a memory-mapped .npy file
                    path = Path(folder) / f"{clips}x{frames}.npy"
                    if not path.exists():
                        rng = np.random.default_rng(0)
                        np.save(path, rng.standard_normal((clips, 64, frames), dtype=np.float32).astype(np.float16))
                    features = np.load(path, mmap_mode="r")
                try:
                    data["runs"].append(paper_run(check, case, features, resident, width))
                except Exception as error:  # out of memory, say: the next way or case still runs
                    check.error(what, error)
                    continue
                finally:
                    if check.dev.type == "cuda":
                        torch.cuda.empty_cache()
                data["mechanisms"] = mechanisms(data["runs"])
                names = dict.fromkeys(m["mechanism"] for m in data["mechanisms"] if m["passes"] is not None)
                data["verdicts"] = {name: {"passes": sum(bool(m["passes"]) for m in data["mechanisms"]
                                                         if m["mechanism"] == name),
                                           "measured": sum(m["passes"] is not None for m in data["mechanisms"]
                                                           if m["mechanism"] == name)} for name in names}
                check.save("paper_scale", data, paper_tables(check, data), show=False)
                print(f"{what}: epoch {data['runs'][-1]['epoch_s']:.2f} s, run {data['runs'][-1]['run_s']:.1f} s",
                      flush=True)
            features = None
    check.save("paper_scale", data, paper_tables(check, data))


def projection(check):
    """The paper grids' hours at the measured paper-scale rates (folds one at a time), with the resident gather off
    (the default) and on; the step rates of the steps section scale them to each run's channel scale."""
    s = check.sizes
    runs = check.results["sections"].get("paper_scale", {}).get("runs", [])
    steps_data = check.results["sections"].get("steps", {})
    data, rows = {}, []
    for config, plan in json.loads(PLAN.read_text()).items():
        hours = {}
        for resident in (0, 1):
            cases = [r for r in runs if r["config"] == config and r["parallel_folds"] == 1
                     and r["resident"] == resident and honoured(r)]
            hours[f"ECASER_RESIDENT={resident}"] = project(config, plan, cases, steps_data, s["paper_scale"])
        if all(h is None for h in hours.values()):
            check.skip(f"projection {config}", "no paper-scale run of its size was measured")
        total = sum(run["flops"] for run in plan["runs"])
        data[config] = {"runs": len(plan["runs"]), "pflop": total / 1e15,
                        "stated_hours": total / (STATED_TFLOPS * 1e12) / 3600, "hours": hours}
        measured = next((h for h in hours.values() if h), {})
        rows.append([config, len(plan["runs"]), f"{total / 1e15:,.0f}",
                     *("" if h is None else f"{h['measured']:,.1f}" for h in hours.values()),
                     f"{total / (STATED_TFLOPS * 1e12) / 3600:,.1f}",
                     ", ".join(map(str, measured.get("versions_measured", []))),
                     ", ".join(map(str, measured.get("scales_measured", [])))])
    check.save("projection", data, [
        ("the paper grids' training runs (paper_plan.json) at the measured rates, folds one at a time"
         + (" (dry run: toy sizes on the CPU, no projection)" if check.results["dry_run"] else ""),
         ["config", "runs", "PFLOP", "hours, ECASER_RESIDENT=0 (default)", "hours, ECASER_RESIDENT=1",
          f"hours at a stated {STATED_TFLOPS} TFLOP/s", "versions measured", "step scales measured"], rows)])


def project(config, plan, cases, steps_data, measured_scale):
    """Hours of a plan's runs: each CNN run at the paper-scale rate of its number of training versions (linear
    between the measured ones), times the training-step rate of its channel scale over that of the measured scale
    (bf16, the corpus's input; linear between measured scales); the DS-LSTM at the one-version rate times its own
    step rate over the measured scale's. None without a measured case."""
    if not cases:
        return None
    cases = sorted(cases, key=lambda c: c["versions"])
    run_rate = lambda v: 1e12 * np.interp(v, [c["versions"] for c in cases], [c["tflops"] for c in cases])
    cnn_steps = sorted((r["scale"], r["tflops"]) for r in steps_data.get("cnn", [])
                       if r["precision"] == "bfloat16" and r["frames"] == cases[0]["frames"])
    step_rate = lambda n: np.interp(n, *zip(*cnn_steps)) if cnn_steps else 1.0
    dslstm = next((r["tflops"] for r in steps_data.get("dslstm", []) if r["config"] == config), None)
    seconds = 0.0
    for run in plan["runs"]:
        own = dslstm if run["architecture"] == "dslstm" else step_rate(run["channel_scale"])
        versions = 1 if run["architecture"] == "dslstm" else run["versions"]
        seconds += run["flops"] / (run_rate(versions) * (own or step_rate(measured_scale)) / step_rate(measured_scale))
    total = sum(run["flops"] for run in plan["runs"])
    return {"pflop": total / 1e15, "measured": seconds / 3600, "stated": total / (STATED_TFLOPS * 1e12) / 3600,
            "dslstm_step_measured": dslstm is not None, "scales_measured": [n for n, _ in cnn_steps],
            "versions_measured": [c["versions"] for c in cases]}


SECTIONS = {"environment": environment, "cuda_tests": cuda_tests, "paper_scale": paper_scale, "steps": steps,
            "projection": projection, "folds": fold_ways, "compile": compile_ways}


def arguments(argv):
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--out", default=os.environ.get("OUT") or "gpu-check", help="results folder (default $OUT, else "
                   "gpu-check/)")
    a.add_argument("--dry-run", action="store_true", help="toy sizes on the CPU (the default without CUDA)")
    a.add_argument("--budget", help=f"seconds for the whole check (default {FULL['budget_s']}, dry run "
                   f"{DRY['budget_s']}): a part that would start after it is skipped")
    a.add_argument("--sections", help=f"a comma-separated few of {', '.join(SECTIONS)} (default: all), e.g. for a "
                   "short rerun")
    args = a.parse_args(argv)
    names = [name.strip() for name in (args.sections or ",".join(SECTIONS)).split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        what = f"unknown {', '.join(map(repr, unknown))}" if unknown else "no section named"
        raise SystemExit(f"gpu_check: --sections {args.sections!r}: {what}; choose from {', '.join(SECTIONS)}")
    args.sections = names
    if args.budget is not None:
        text = args.budget
        try:
            args.budget = float(text)
        except ValueError:
            args.budget = -1.0
        if not args.budget > 0:  # also refuses nan
            raise SystemExit(f"gpu_check: --budget must be a number of seconds > 0, got {text!r}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise SystemExit(f"gpu_check: --out {args.out} is a file, not a folder")
    return args


def main(argv=None):
    args = arguments(argv)
    runtime.keep_freed_memory()
    dry_run = args.dry_run or not torch.cuda.is_available()
    dev = torch.device("cpu") if dry_run else runtime.device("cuda")
    sizes = DRY if dry_run else FULL
    check = Check(args.out, sizes, dry_run, dev, args.budget or sizes["budget_s"])
    os.environ["ECASER_DEVICE"] = str(dev)  # cross_validate's device: the one this process holds
    os.environ.update(DEFAULTS)  # the training loop's defaults, set here, not assumed; paper_scale varies them
    for name, section in SECTIONS.items():
        status = check.results["status"]
        if name not in args.sections:
            status[name] = {"status": "skipped", "message": "not chosen (--sections)"}
            continue
        print(f"== {name} ({max(0, check.left()):.0f} s of the budget left)", flush=True)
        status[name] = {"status": "running"}  # what a run cut short was doing
        check.write()
        start = time.monotonic()
        try:
            note = section(check)
            status[name] = {"status": "ok", **({"message": note} if note else {})}
        except Skipped as why:
            status[name] = {"status": "skipped", "message": str(why)}
        except Exception as error:  # recorded; the next section still runs
            traceback.print_exc()
            status[name] = {"status": "error", "message": describe(error)}
        check.results["seconds"][name] = round(time.monotonic() - start, 1)
        check.write()
    check.write()  # with the sections not chosen after the last that ran
    counts = {}
    for name, s in check.results["status"].items():
        counts.setdefault(s["status"], []).append(name)
    print("sections: " + "; ".join(f"{kind} {', '.join(names)}" for kind, names in counts.items()))
    print(f"wrote {check.out / 'gpu_check.json'} and {check.out / 'gpu_check.md'}")
    return 1 if "error" in counts else 0


if __name__ == "__main__":
    sys.exit(main())
