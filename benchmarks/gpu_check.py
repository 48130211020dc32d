"""The GPU check: one command that proves the CUDA path and measures what the paper grids cost on this GPU.

    make gpu-check                                   # the project's env (make venv); results in gpu-check/
    PYTHONPATH=src python benchmarks/gpu_check.py --out DIR    # a bare CUDA image: no DVC, librosa, dvclive

Sections, each saved to DIR/gpu_check.json and DIR/gpu_check.md as soon as it ends, so that a run cut short by a
time limit still returns what it measured:
  environment  torch, CUDA, cuDNN, the GPU;
  cuda tests   tests/test_cuda.py (the `cuda` marker), their outcomes and recorded figures;
  steps        a training step of the paper's CNN at n = 1, 2, 4, 8 on 64 x 301 and 64 x 601, batch 36, float32
               (TF32 off) and bf16, as clips/s and as a fraction of this GPU's measured matmul rates; the DS-LSTM's;
  folds        five folds one after another, taking turns on CUDA streams (loop.take_turns), and as one
               fold-batched model (torch.func's stacked modules under vmap, batch norm per fold), checked to compute
               what the separate models compute; torch.compile and CUDA graphs on one model;
  paper scale  cross_validate at the paper's sizes on random features, two epochs: epoch time, peak memory, and
               the paper grids' hours projected from these rates and paper_plan.json (precomputed: no DVC here).
Without CUDA, or with --dry-run, every section runs at toy sizes on the CPU and the output says what it skipped:
tests/test_gpu_check.py runs it so, so that the check cannot rot before a GPU is at hand. Nothing here imports
DVC or an audio library (the test proves it), and no fold batching or compilation enters the training loop: they
are measured candidates, to keep only where they win.
"""

import argparse
import copy
import json
import os
import platform
import re
import subprocess
import sys
import time
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
FULL = {
    "batch": 36, "steps": 10, "mm_size": 8192, "mm_runs": 10,
    "step_scales": (1, 2, 4, 8), "step_inputs": ((301, 7), (601, 4)), "precisions": ("float32", "bfloat16"),
    "fold_scales": (1, 4), "fold_input": (301, 7), "folds": 5, "compile": True,
    # (paper config, clips, frames, classes, training versions): EMODB's and IEMOCAP's sizes
    "paper": [("paper-emodb.yaml", 535, 301, 7, 1), ("paper-emodb.yaml", 535, 301, 7, 8),
              ("paper-iemocap.yaml", 2943, 601, 4, 1), ("paper-iemocap.yaml", 2943, 601, 4, 8)],
    "paper_scale": 4, "paper_epochs": 2, "budget_s": 330,
}
DRY = {**FULL, "batch": 4, "steps": 2, "mm_size": 256, "mm_runs": 3, "step_scales": (1, 2), "step_inputs": ((40, 3),),
       "fold_scales": (1,), "fold_input": (40, 3), "compile": False,
       "paper": [("paper-emodb.yaml", 20, 40, 2, 1), ("paper-emodb.yaml", 20, 40, 2, 2),
                 ("paper-iemocap.yaml", 20, 40, 2, 1)], "paper_scale": 1, "budget_s": 120}


class Check:
    """The results so far, saved after every section; what was skipped, and why."""

    def __init__(self, out, sizes, dry_run, dev):
        self.out, self.sizes, self.dev = Path(out), sizes, dev
        self.deadline = time.monotonic() + sizes["budget_s"]
        self.results = {"dry_run": dry_run, "device": str(dev), "sections": {}, "skipped": []}
        self.tables = []

    def skip(self, what, why):
        self.results["skipped"].append({"what": what, "why": why})
        print(f"skipped {what}: {why}", flush=True)

    def in_time(self, what):
        """Whether the time budget leaves room for `what`; if not, it is recorded as skipped."""
        if time.monotonic() < self.deadline:
            return True
        self.skip(what, f"the time budget of {self.sizes['budget_s']} s was spent")
        return False

    def save(self, section, data, tables):
        self.results["sections"][section] = data
        self.tables += tables
        atomic.save_json(self.out / "gpu_check.json", self.results)
        skipped = [[s["what"], s["why"]] for s in self.results["skipped"]]
        text = "\n".join(markdown(*table) for table in self.tables + [("skipped", ["what", "why"], skipped)])
        environment = self.results["sections"]["environment"]
        page = f"# GPU check: {environment['device']}, {environment['date']}\n\n{text}"
        atomic.write_bytes(self.out / "gpu_check.md", page.encode())
        for title, header, rows in tables:
            print(markdown(title, header, rows), flush=True)

    def sync(self):
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)


def environment(check):
    dev, cuda = check.dev, check.dev.type == "cuda"
    data = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "python": platform.python_version(),
            "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "device": torch.cuda.get_device_name(dev) if cuda else f"CPU ({os.cpu_count()} cores; dry run)",
            "capability": ".".join(map(str, torch.cuda.get_device_capability(dev))) if cuda else None,
            "memory_gib": round(torch.cuda.get_device_properties(dev).total_memory / 2**30, 1) if cuda else None,
            "cpu_threads": torch.get_num_threads(), "commit": commit()}
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
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=max(30, check.deadline - time.monotonic()))
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:]
    except subprocess.TimeoutExpired:
        tail = ["timed out"]
    rows, data = [], {"summary": tail[0] if tail else "", "tests": {}}
    cases = ElementTree.parse(report).getroot().iter("testcase") if report.exists() else []
    for case in cases:
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome, message = {"failure": "failed"}.get(kind, kind), (node.get("message") or "").splitlines()[0]
        figures = {p.get("name"): p.get("value") for p in case.iter("property")}
        data["tests"][case.get("name")] = {"outcome": outcome, "message": message, **figures}
        rows.append([case.get("name"), outcome, "; ".join(f"{k} {v}" for k, v in figures.items()) or message[:120]])
    if check.dev.type != "cuda":
        check.skip("cuda tests", "no CUDA: collected and skipped")
    check.save("cuda_tests", data, [(f"CUDA tests: {data['summary']}", ["test", "outcome", "figures"], rows)])


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
                if not check.in_time(f"step n={n} 64x{frames} {precision}"):
                    continue
                step = step_fn(cnn(n, classes, dev), frames, classes, dev, precision, s["batch"])
                train, _ = clip_flops(models.cnn(range(classes), n, 16, "eca", (5, 6), 7), ((64, frames),))
                seconds = timed(step, s["steps"], check)
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
        if not check.in_time(f"DS-LSTM step {config}"):
            continue
        torch.manual_seed(0)
        net = models.Spec("dslstm", tuple(range(classes))).build().to(dev)
        seconds = timed(step_fn(net, None, classes, dev, "bfloat16", s["batch"], shapes), max(2, s["steps"] // 2),
                        check)
        tflops = s["batch"] * clip_flops(models.Spec("dslstm", tuple(range(classes))), shapes)[0] / seconds / 1e12
        data["dslstm"].append({"config": config, "shapes": shapes, "clips_per_s": s["batch"] / seconds,
                               "tflops": tflops})
        rows.append(["DS-LSTM", "+".join(f"{a}x{b}" for a, b in shapes), "bfloat16", f"{s['batch'] / seconds:,.0f}",
                     f"{tflops:.2f}", f"{tflops / mm['bfloat16']:.1%}", f"{tflops / mm['bfloat16']:.1%}"])
    title = (f"training steps, batch {s['batch']}; matmul {s['mm_size']}: "
             + ", ".join(f"{p} {r:.1f} TFLOP/s" for p, r in mm.items()))
    check.save("steps", data, [(title, ["model", "input", "precision", "clips/s", "TFLOP/s", "of mm (same precision)",
                                        "of bf16 mm"], rows)])


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
        self.dev, self.precision, self.fallbacks = dev, precision, []

    def losses(self, params, buffers, x, y):
        return self.loss_fn(torch.func.functional_call(self.base, (params, buffers), (x,)).float(), y)

    def step(self, x, y):
        """One training step of every fold: x [folds, batch, 1, mels, frames], y [folds, batch]."""
        loop.set_precision(self.precision)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with loop.autocast(self.dev, self.precision):
                losses = torch.vmap(self.losses)(self.params, self.buffers, x, y)
            self.optimiser.zero_grad(set_to_none=True)
            losses.sum().backward()  # fold k's parameters get the gradient of fold k's loss alone
        for warning in caught:  # ops without a batching rule, which vmap runs fold by fold
            found = re.search(r"batching rule for (\S+)\.", str(warning.message))
            if found and found.group(1) not in self.fallbacks:
                self.fallbacks.append(found.group(1))
        self.optimiser.step()
        return losses.detach()


def fold_batches(folds, batch, frames, classes, dev, count):
    generator = torch.Generator(device=dev).manual_seed(0)
    return [(torch.randn(folds, batch, 1, 64, frames, device=dev, generator=generator),
             torch.randint(classes, (folds, batch), device=dev, generator=generator)) for _ in range(count)]


def equivalence(n, frames, classes, dev, folds, batch, steps=3):
    """The fold-batched model against five separate models over the same batches, float32 (TF32 off): the first
    step's largest loss difference and gradient difference (relative to the largest gradient), whether both are
    within float32's sums in another order, and the largest loss difference over `steps` steps. Later steps and
    parameters differ more: Adam turns the noise of gradients that batch norm makes zero (the convolutions'
    biases) into whole steps of the learning rate."""
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
            "equal": loss_diffs[0] < 1e-5 and grad_diff < 1e-4, "vmap_fallbacks": batched.fallbacks}


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


def compiled_runs(check, n, frames, classes, precision):
    """{way: clips/s} of one model's step, eager, torch.compile and torch.compile's CUDA graphs, with each compiled
    way's first call (its compile time) in the name."""
    s, dev = check.sizes, check.dev
    rates = {"eager": s["batch"] / timed(step_fn(cnn(n, classes, dev), frames, classes, dev, precision, s["batch"]),
                                         s["steps"], check)}
    for way, mode in [("torch.compile", "default"), ("torch.compile, CUDA graphs", "reduce-overhead")]:
        if not check.in_time(f"{way} n={n}"):
            continue
        step = step_fn(torch.compile(cnn(n, classes, dev), mode=mode), frames, classes, dev, precision, s["batch"])
        start = time.perf_counter()
        try:
            step()
            check.sync()
        except Exception as error:  # the backends raise their own types, by what is missing (a compiler, Triton)
            check.skip(f"{way} n={n}", str(error).splitlines()[0][:200])
            continue
        first = time.perf_counter() - start
        rates[f"{way} (first call {first:.0f} s)"] = s["batch"] / timed(step, s["steps"], check)
    return rates


def fold_ways(check):
    s, dev = check.sizes, check.dev
    frames, classes = s["fold_input"]
    precision = "bfloat16" if dev.type == "cuda" else "float32"
    data, rows = {"equivalence": {}, "rates": {}, "compiled": {}}, []
    for n in s["fold_scales"]:
        if not check.in_time(f"folds n={n}"):
            continue
        data["equivalence"][n] = equivalence(n, frames, classes, dev, s["folds"], s["batch"])
        data["rates"][n] = fold_runs(check, n, frames, classes, precision)
        base = data["rates"][n]["one after another"]
        rows += [[f"n={n}", way, f"{rate:,.0f}", f"{rate / base:.2f}x"] for way, rate in data["rates"][n].items()]
    tables = [(f"{s['folds']} folds' training steps, 64x{frames}, batch {s['batch']}, {precision}",
               ["model", "way", "clips/s", "vs one after another"], rows),
              ("fold-batched model against separate models (float32, TF32 off)",
               ["model", "step 1: loss difference", "step 1: gradient difference (relative)", "equal",
                "3 steps: loss difference", "ops vmap runs fold by fold"],
               [[f"n={n}", f"{e['first_loss_max_diff']:.1e}", f"{e['grad_max_rel_diff']:.1e}", e["equal"],
                 f"{e['loss_max_diff']:.1e}", ", ".join(e["vmap_fallbacks"]) or "none"]
                for n, e in data["equivalence"].items()])]
    if not s["compile"]:
        check.skip("torch.compile and CUDA graphs", "dry run: compiling costs minutes on a CPU")
    elif dev.type != "cuda":
        check.skip("torch.compile and CUDA graphs", "no CUDA")
    else:
        n = s["fold_scales"][-1]
        data["compiled"][n] = compiled_runs(check, n, frames, classes, precision)
        base = data["compiled"][n]["eager"]
        tables.append((f"one model's step, n={n}, 64x{frames}, batch {s['batch']}, {precision}",
                       ["way", "clips/s", "vs eager"],
                       [[way, f"{r:,.0f}", f"{r / base:.2f}x"] for way, r in data["compiled"][n].items()]))
    check.save("folds", data, tables)


class EpochClock:
    """A progress bar that keeps the time of each update: cross_validate updates its bar once per fold and epoch."""

    def __init__(self, *args, **kwargs):
        self.times = []

    def update(self, *args):
        self.times.append(time.perf_counter())

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def paper_case(check, clips, frames, classes, versions):
    """cross_validate on random features of the paper's size: (seconds of the second epoch, of the whole run, peak
    GiB, FLOPs of one epoch)."""
    s, rng = check.sizes, np.random.default_rng(0)
    labels = np.arange(clips) % classes
    manifest = pd.DataFrame({"id": [f"c{i}" for i in range(clips)], "speaker": [f"s{i % 10}" for i in range(clips)],
                             "session": "", "label": labels.astype(str), "label_index": labels})
    feats = rng.standard_normal((clips, 64, frames), dtype=np.float32).astype(np.float16)
    spec = models.cnn(range(classes), s["paper_scale"], 16, "eca", (5, 6), 7)
    precision = "bfloat16" if check.dev.type == "cuda" else "float32"
    cfg = loop.Config(spec, epochs=s["paper_epochs"], batch_size=s["batch"], lr=1e-3, lr_decay=1.0, focal_gamma=1.0,
                          weighted=True, folds=s["folds"], repeats=1, protocol="stratified", seed=0,
                          precision=precision)
    clock, bar = EpochClock(), progress.bar
    if check.dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(check.dev)
    progress.bar = lambda *args, **kwargs: clock
    try:
        start = time.perf_counter()
        loop.cross_validate(manifest, [(feats,)] * versions, (feats,), cfg)
        total = time.perf_counter() - start
    finally:
        progress.bar = bar
    folds = s["folds"]
    epoch = clock.times[2 * folds - 1] - clock.times[folds - 1]  # the folds side by side end an epoch together
    train, test = clip_flops(spec, ((64, frames),))
    peak = torch.cuda.max_memory_allocated(check.dev) / 2**30 if check.dev.type == "cuda" else None
    return epoch, total, peak, (folds - 1) * clips * versions * train + clips * test


def paper_scale(check):
    s, data, rows = check.sizes, {"cases": [], "projection": {}}, []
    for config, clips, frames, classes, versions in s["paper"]:
        if not check.in_time(f"paper scale {clips}x64x{frames}, {versions} version(s)"):
            continue
        epoch, total, peak, flops = paper_case(check, clips, frames, classes, versions)
        data["cases"].append({"config": config, "clips": clips, "frames": frames, "versions": versions,
                              "epoch_s": epoch, "run_s": total, "peak_gib": peak, "tflops": flops / epoch / 1e12})
        rows.append([f"{clips} x 64 x {frames}", versions, f"{epoch:.1f}", f"{total:.1f}",
                     "" if peak is None else f"{peak:.1f}", f"{flops / epoch / 1e12:.2f}"])
    tables = [(f"cross_validate, n={s['paper_scale']}, {s['folds']} folds side by side, batch {s['batch']}, "
               f"{'bf16' if check.dev.type == 'cuda' else 'float32'}, {s['paper_epochs']} epochs",
               ["features", "training versions", "epoch s", "run s", "peak GiB", "TFLOP/s"], rows)]
    steps_data = check.results["sections"].get("steps", {})
    projection = []
    for config, plan in json.loads(PLAN.read_text()).items():
        hours = project(config, plan, [c for c in data["cases"] if c["config"] == config], steps_data,
                        s["paper_scale"])
        if hours is None:
            check.skip(f"projection {config}", "no paper-scale case of its size was measured")
            continue
        data["projection"][config] = hours
        projection.append([config, len(plan["runs"]), f"{hours['pflop']:,.0f}", f"{hours['measured']:,.1f}",
                           f"{hours['stated']:,.1f}"])
    tables.append(("the paper grids' training runs (paper_plan.json) at the measured rates"
                   + (" (dry run: toy sizes on the CPU, no projection)" if check.results["dry_run"] else ""),
                   ["config", "runs", "PFLOP", "hours (measured here)", f"hours at a stated {STATED_TFLOPS} TFLOP/s"],
                   projection))
    check.save("paper_scale", data, tables)


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
            "dslstm_step_measured": dslstm is not None, "scales_measured": [n for n, _ in cnn_steps]}


def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--out", default=os.environ.get("OUT") or "gpu-check", help="results folder (default $OUT, else "
                   "gpu-check/)")
    a.add_argument("--dry-run", action="store_true", help="toy sizes on the CPU (the default without CUDA)")
    args = a.parse_args(argv)
    runtime.keep_freed_memory()
    dry_run = args.dry_run or not torch.cuda.is_available()
    dev = torch.device("cpu") if dry_run else runtime.device("cuda")
    check = Check(args.out, DRY if dry_run else FULL, dry_run, dev)
    os.environ["ECASER_DEVICE"] = str(dev)  # cross_validate's device: the one this process holds
    os.environ["ECASER_PARALLEL_FOLDS"] = str(check.sizes["folds"])  # all folds side by side, as by default
    for name, section in [("environment", environment), ("cuda_tests", cuda_tests), ("steps", steps),
                          ("folds", fold_ways), ("paper_scale", paper_scale)]:
        start = time.monotonic()
        section(check)
        check.results.setdefault("seconds", {})[name] = round(time.monotonic() - start, 1)
        atomic.save_json(check.out / "gpu_check.json", check.results)
    print(f"wrote {check.out / 'gpu_check.json'} and {check.out / 'gpu_check.md'}")


if __name__ == "__main__":
    main()
