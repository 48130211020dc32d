"""The CUDA path, on a GPU: folds side by side, the resident gather, bf16 modules, float32 against the CPU, the GPU
lease and host-device synchronisations. These tests carry the `cuda` marker and are skipped without CUDA;
benchmarks/gpu_check.py runs them (`-m cuda`) and reports the figures they record (record_property) beside their
outcomes. The pieces of them that a CPU can run (the epoch arithmetic of the synchronisation count, the
ECASER_RESIDENT setting) are ordinary tests here too, so that a GPU's first run meets as little untried code as can be.

Imports stay within the training path (no soundfile, librosa, DVC): a bare CUDA image must collect this file.
"""

import copy
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's deterministic mode, read at its first use

from ecaser import models  # noqa: E402 (after cuBLAS's setting)
from ecaser.infra import runtime  # noqa: E402
from ecaser.models.registry import ATTENTION  # noqa: E402
from ecaser.training import loop  # noqa: E402

CUDA, CPU = torch.device("cuda"), torch.device("cpu")
CLASSES = ["a", "b", "c", "d"]
SRC = Path(__file__).resolve().parents[1] / "src"


def on_gpu(test):
    """A test of the CUDA path: marked `cuda` (gpu_check runs those) and skipped without CUDA."""
    skip = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA: the cuda tests run on a GPU "
                              "(make gpu-check)")
    return pytest.mark.cuda(skip(test))


@pytest.fixture(autouse=True)
def own_locks(tmp_path, monkeypatch):
    """Locks of this test's own: the process that runs the tests (gpu_check) may hold the machine's GPU lock."""
    monkeypatch.setenv("ECASER_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("ECASER_DEVICE", "cuda:0")
    monkeypatch.setenv("TQDM_DISABLE", "1")


def corpus(clips=40, frames=64):
    rng = np.random.default_rng(0)
    labels = np.arange(clips) % len(CLASSES)
    manifest = pd.DataFrame({"id": [f"u{i:02d}" for i in range(clips)], "speaker": [f"s{i % 4}" for i in range(clips)],
                             "session": "", "label": [CLASSES[y] for y in labels], "label_index": labels})
    feats = (rng.standard_normal((clips, 64, frames)) + labels[:, None, None] * 0.3).astype(np.float16)
    return manifest, feats


def config(**changes):
    settings = dict(model=models.cnn(CLASSES, 1, 16, "eca", (5, 6), 3), epochs=2, batch_size=8, lr=1e-3, lr_decay=1.0,
                    focal_gamma=1.0, weighted=True, folds=5, repeats=1, protocol="stratified", seed=0,
                    precision="float32")
    return loop.Config(**{**settings, **changes})


def five_folds(monkeypatch, width, resident, manifest, feats):
    monkeypatch.setenv("ECASER_PARALLEL_FOLDS", str(width))
    monkeypatch.setenv("ECASER_RESIDENT", str(resident))
    return loop.cross_validate(manifest, [(feats,), (feats + np.float16(1),)], (feats,), config())


@on_gpu
@pytest.mark.parametrize("resident", [0, 1])
def test_folds_one_at_a_time_equal_five_side_by_side_under_deterministic_algorithms(monkeypatch, record_property,
                                                                                    resident):
    manifest, feats = corpus()
    loose = {width: five_folds(monkeypatch, width, resident, manifest, feats) for width in (1, 5)}
    probs = [f"p_{c}" for c in CLASSES]
    record_property("max_prob_diff_nondeterministic", float(np.abs(loose[1].predictions[probs].to_numpy()
                                                                   - loose[5].predictions[probs].to_numpy()).max()))
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            strict = {width: five_folds(monkeypatch, width, resident, manifest, feats) for width in (1, 5)}
    finally:
        torch.use_deterministic_algorithms(False)
    nondeterministic = sorted({str(w.message).split(" does not have a deterministic")[0] for w in caught
                               if "deterministic" in str(w.message)})
    record_property("nondeterministic_ops", "; ".join(nondeterministic) or "none")
    pd.testing.assert_frame_equal(strict[1].predictions, strict[5].predictions, check_exact=True)
    assert strict[1].curves == strict[5].curves


def test_ecaser_resident_makes_the_features_resident_and_changes_no_prediction_on_the_cpu(monkeypatch):
    """ECASER_RESIDENT=1 on the CPU: cross_validate makes both its Inputs resident (0: neither), and the
    predictions are those of the memory-mapped gather to float32 rounding (the normaliser sums in another order)."""
    monkeypatch.setenv("ECASER_DEVICE", "cpu")
    manifest, feats = corpus()
    init, made, results = loop.Inputs.__init__, {}, {}
    for setting in ("0", "1"):
        seen = made.setdefault(setting, [])

        def spy(self, *args, _seen=seen, **kwargs):
            init(self, *args, **kwargs)
            _seen.append(self.on_device is not None)

        monkeypatch.setattr(loop.Inputs, "__init__", spy)
        monkeypatch.setenv("ECASER_RESIDENT", setting)
        results[setting] = loop.cross_validate(manifest, [(feats,)], (feats,), config(epochs=1))
    assert made == {"0": [False, False], "1": [True, True]}
    probs = [f"p_{c}" for c in CLASSES]
    np.testing.assert_allclose(results["1"].predictions[probs].to_numpy(), results["0"].predictions[probs].to_numpy(),
                               rtol=0, atol=1e-4)


@pytest.mark.parametrize("resident", [True, False])
def test_either_gather_puts_the_batch_and_the_normaliser_on_the_device_on_a_fake_device(resident):
    """On the CPU, the meta device stands in for a GPU: a batch gathered on the host must still reach the device
    (where the normaliser's statistics are), or every step on a GPU fails mixing a host and a device tensor."""
    meta = torch.device("meta")
    _, feats = corpus(clips=12, frames=10)
    y = np.arange(12) % len(CLASSES)
    inputs = loop.Inputs([(feats,), (feats,)], y, meta, resident=resident)
    stats = inputs.normaliser(np.arange(8))
    (x,), target = inputs.batch(inputs.index(np.array([(0, 1), (1, 3), (0, 5)])), stats)
    assert [t.device for t in (x, target, *stats[0])] == [meta] * 4
    assert x.shape == (3, 64, 10) and x.dtype == torch.float32 and target.shape == (3,)


@on_gpu
def test_the_resident_gather_equals_the_memory_mapped_one(tmp_path):
    _, feats = corpus()
    np.save(tmp_path / "v.npy", feats)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    versions = [(mapped,), (mapped[:, ::-1],)]
    y = np.arange(len(feats)) % len(CLASSES)
    host, device = loop.Inputs(versions, y, CPU), loop.Inputs(versions, y, CUDA, resident=True)
    rows = np.array([3, 17, 0, 39, 8, 21])
    host_stats, device_stats = host.normaliser(rows), device.normaliser(rows)
    for (m, s), (dm, ds) in zip(host_stats, device_stats):
        torch.testing.assert_close(dm.cpu(), m, rtol=1e-7, atol=1e-7)
        torch.testing.assert_close(ds.cpu(), s, rtol=1e-7, atol=1e-7)
    examples = np.array([(1, 3), (0, 3), (1, 0), (0, 39), (1, 17)])
    (x, target), (dx, dtarget) = host.batch(examples, host_stats), device.batch(device.index(examples),
                                                                               [(m.to(CUDA), s.to(CUDA))
                                                                                for m, s in host_stats])
    assert torch.equal(target, dtarget.cpu()) and torch.equal(x[0], dx[0].cpu())  # the same IEEE operations


@on_gpu
@pytest.mark.parametrize("kind", [*ATTENTION, "dslstm"])
def test_every_attention_module_and_the_dslstm_train_under_bf16(kind):
    torch.manual_seed(0)
    if kind == "dslstm":
        net = models.Spec("dslstm", tuple(CLASSES)).build().to(CUDA)
        inputs = [torch.randn(4, 39, 98, device=CUDA), torch.randn(4, 128, 63, device=CUDA),
                  torch.randn(4, 256, 32, device=CUDA)]
    else:
        net = models.cnn(CLASSES, 1, 16, kind, (5, 6) if kind != "area" else (6,), 3).build()
        net = net.to(CUDA, memory_format=torch.channels_last)
        inputs = [torch.randn(4, 1, 64, 64, device=CUDA)]
    loop.set_precision("bfloat16")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits = loop.heads(net(*inputs))
    sum(out.float().square().mean() for out in logits).backward()
    loop.set_precision("float32")
    with torch.no_grad():
        reference = loop.heads(net(*inputs))
    for out, want in zip(logits, reference):
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out.float(), want, rtol=0.1, atol=0.1)
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


# float32 with TF32 off: cuDNN's and oneDNN's convolutions sum in other orders, so they agree to float32's
# accumulated rounding, not bit for bit. Stated tolerance: logits within 1e-4 (relative and absolute), gradients
# within 1e-3 of the largest gradient.
LOGIT_TOLERANCE, GRAD_TOLERANCE = 1e-4, 1e-3


@on_gpu
@pytest.mark.parametrize("architecture", ["cnn", "dslstm"])
def test_float32_on_cuda_matches_the_cpu_within_the_stated_tolerance(architecture, record_property):
    torch.manual_seed(0)
    if architecture == "dslstm":
        cpu_net = models.Spec("dslstm", tuple(CLASSES)).build()
        inputs = [torch.randn(4, 39, 98), torch.randn(4, 128, 63), torch.randn(4, 256, 32)]
    else:
        cpu_net = models.cnn(CLASSES, 1, 16, "eca", (5, 6), 3).build()
        inputs = [torch.randn(4, 1, 64, 64)]
    cuda_net = copy.deepcopy(cpu_net).to(CUDA)
    loop.set_precision("float32")
    results = []
    for net, dev in ((cpu_net, CPU), (cuda_net, CUDA)):
        logits = loop.heads(net(*(x.to(dev) for x in inputs)))
        sum(out.square().mean() for out in logits).backward()
        results.append(([out.detach().cpu() for out in logits],
                        {name: p.grad.cpu() for name, p in net.named_parameters()}))
    (cpu_logits, cpu_grads), (cuda_logits, cuda_grads) = results
    logit_diff = max(float((a - b).abs().max()) for a, b in zip(cpu_logits, cuda_logits))
    scale = max(float(g.abs().max()) for g in cpu_grads.values())
    grad_diff = max(float((cpu_grads[n] - cuda_grads[n]).abs().max()) for n in cpu_grads) / scale
    record_property("logit_max_diff", logit_diff)
    record_property("grad_max_rel_diff", grad_diff)
    for a, b in zip(cpu_logits, cuda_logits):
        torch.testing.assert_close(b, a, rtol=LOGIT_TOLERANCE, atol=LOGIT_TOLERANCE)
    assert grad_diff < GRAD_TOLERANCE


HOLD = """
import sys
from ecaser.infra import runtime
print(runtime.device("cuda:0"), flush=True)
sys.stdin.readline()
"""


@on_gpu
def test_a_real_gpu_lease_is_claimed_held_and_released(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
           "ECASER_LOCK_DIR": str(tmp_path / "locks")}
    holder = subprocess.Popen([sys.executable, "-c", HOLD], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "cuda:0"
        refused = subprocess.run([sys.executable, "-c", HOLD], env={**env, "ECASER_GPU_WAIT": "1"}, input="",
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "ECASER_GPU_WAIT=1 s passed waiting for cuda:0" in refused.stderr
        holder.stdin.close()  # the holder ends, and the OS drops its lock
        holder.wait(60)
        taken = subprocess.run([sys.executable, "-c", HOLD], env={**env, "ECASER_GPU_WAIT": "30"}, input="",
                               capture_output=True, text=True, timeout=120)
        assert taken.returncode == 0 and taken.stdout.strip() == "cuda:0"
    finally:
        holder.kill()
        holder.wait()


def first_epoch(run, steps_in_epoch, count, begin=lambda: None):
    """Advance a fit_fold run through its first epoch: (what `count` counted over its steps 2 to last, what it
    counted over the next next(): the epoch's end, its scores on the host, and the second epoch's first step).
    fit_fold yields after each step, so the epoch's end runs on next() number steps_in_epoch + 1; `begin` is called
    after the first step (its set-up is not counted)."""
    next(run)  # the first step: cuDNN's and cuBLAS's set-up
    begin()
    start = count()
    for _ in range(steps_in_epoch - 1):
        next(run)
    in_steps = count() - start
    next(run)
    return in_steps, count() - start - in_steps


class Bar:
    """cross_validate's progress bar, counting the epochs' ends (fit_fold updates it after each)."""

    def __init__(self):
        self.updates = 0

    def update(self, *args):
        self.updates += 1

    def set_postfix(self, *args, **kwargs):
        pass


def synchronisations(caught):
    """Of recorded warnings, those of torch.cuda.set_sync_debug_mode("warn")."""
    return [w for w in caught if "synchronizing CUDA operation" in str(w.message)]


@on_gpu
@pytest.mark.parametrize("resident", [True, False])
def test_a_training_step_makes_the_host_wait_for_the_device_nowhere_with_resident_features(resident, record_property):
    """With resident features fit_fold's steps within an epoch never synchronise the host with the device (torch's
    sync debug mode counts the synchronising calls); the epoch's end does (its test scores are computed on the
    host). Without them each batch's plain copy to the device is counted: recorded, the cost the resident gather
    saves."""
    manifest, feats = corpus(clips=80)
    y = manifest["label_index"].to_numpy()
    dev = runtime.device()
    train = loop.Inputs([(feats,)], y, dev, resident=resident)
    test = loop.Inputs([(feats,)], y, dev, resident=resident)
    rows = np.arange(80)
    run = loop.fit_fold(config(epochs=2), train, test, y, rows[:64], rows[64:], 1, Bar())

    def begin():
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("warn")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            in_steps, at_epoch_end = first_epoch(run, 64 // 8, lambda: len(synchronisations(caught)), begin)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    record_property("syncs_per_step", in_steps / (64 // 8 - 1))
    record_property("syncs_at_epoch_end", at_epoch_end)
    assert at_epoch_end > 0  # the count sees synchronisations where there are some
    if resident:
        assert in_steps == 0, [str(w.message).splitlines()[0] for w in synchronisations(caught)[:3]]


def test_the_sync_count_sees_the_epochs_end_on_the_ninth_next_on_the_cpu(monkeypatch):
    """The arithmetic of the test above, on the CPU: 64 training rows at batch 8 are 8 steps, and the epoch's end
    (bar.update) runs on the ninth next(), so first_epoch counts it apart from the steps."""
    monkeypatch.setenv("ECASER_DEVICE", "cpu")
    manifest, feats = corpus(clips=80)
    y = manifest["label_index"].to_numpy()
    rows = np.arange(80)

    def run(bar):
        inputs = loop.Inputs([(feats,)], y, CPU)
        return loop.fit_fold(config(epochs=2), inputs, inputs, y, rows[:64], rows[64:], 1, bar)

    bar, updates = Bar(), []
    steps = run(bar)
    for _ in range(9):
        next(steps)
        updates.append(bar.updates)
    assert updates == [0] * 8 + [1]
    bar = Bar()
    assert first_epoch(run(bar), 64 // 8, lambda: bar.updates) == (0, 1)
