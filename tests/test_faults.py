"""Faults injected into the stages and predict: a full disk, SIGTERM mid-write, SIGKILL mid-write and mid-training.

Afterwards no temporary file may remain (for SIGKILL: once the stage has run again), `dvc status` must say which
stages are not done, and the outputs of the run that follows must be byte-identical to an uninterrupted run's.
One chain of runs stops segment (SIGTERM), stft (SIGKILL), training (SIGKILL at a checkpoint, then SIGTERM while
it writes the model) and the report (SIGKILL), each run going on from the last stop; predict's output takes all
three faults; each stage's script meets a full disk.

The full disk is a real one where this process may mount a small tmpfs (root with CAP_SYS_ADMIN, as on our
machine); elsewhere (CI as a user) a file-size limit (RLIMIT_FSIZE) stands in for it, which fails the same writes
with EFBIG instead of ENOSPC. Each such test's id says which it used: [tmpfs] or [file-size-limit]. "Mid-write" is
made deterministic by tests/fault_hook/sitecustomize.py: the stage's process stops at the rename of its temporary
file onto the output (the write complete, the output not there yet) and the test signals it there.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from corpus_fixtures import write_wav
from test_pipeline import clone, dvc, set_params, template  # noqa: F401 (template: the fixture)

from ecaser.infra import atomic
from ecaser.training import checkpoint, loop
from ecaser import models
from ecaser.infra.errors import DiskFull, InputError

HOOK = Path(__file__).with_name("fault_hook")
RESUMABLE = {"train.epochs": 3}  # epochs to resume from (test_pipeline's FAST trains one)
OUTPUTS = ["data/segments/audio.npy", "data/segments/manifest.csv", "data/features/v8.npy", "models/eca.pt",
           "metrics/eca/proposed.json", *(f"results/eca/proposed/{name}" for name in
                                          ("predictions.csv", "curves.csv", "scores.json", "config.json",
                                           "eca_weights.json"))]
REPORT = ["metrics/summary.json", "reports/report.md"]


def mountable():
    with tempfile.TemporaryDirectory() as folder:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder], capture_output=True)
        if mounted.returncode == 0:
            subprocess.run(["umount", folder], check=True)
        return mounted.returncode == 0


# ECASER_TEST_FULL_DISK=file-size-limit tries the stand-in where a tmpfs could be mounted
FULL_DISK = os.environ.get("ECASER_TEST_FULL_DISK") or (
    "tmpfs" if sys.platform.startswith("linux") and os.geteuid() == 0 and mountable() else "file-size-limit")


@contextmanager
def full_disk(folder, size=64 * 1024):
    """A full disk of `size` bytes at `folder`, and the environment its writer needs: a tmpfs mounted there, or
    a file-size limit of `size` in the stage's process."""
    folder.mkdir(parents=True, exist_ok=True)
    if FULL_DISK == "file-size-limit":
        yield {"PYTHONPATH": str(HOOK), "ECASER_TEST_FAULT": f"fsize:{size}", "PYTHONDONTWRITEBYTECODE": "1"}
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield {}
        assert not [path for path in folder.rglob("*") if path.is_file()], "a full disk kept a file"
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def temporaries(repo):
    return sorted(str(p.relative_to(repo)) for p in repo.rglob(".*.tmp") if not {".dvc", ".git"} & set(p.parts))


def stopped(repo, argv, pattern, signum, tmp_path, count=1, env=None):
    """Run argv in repo; the process that makes the count-th rename of a temporary file matching `pattern` stops
    there and is sent signum. The completed run (stdout and stderr as text)."""
    paused = tmp_path / f"paused-{time.monotonic_ns()}"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=str(HOOK), ECASER_TEST_FAULT=f"pause:{pattern}:{count}", ECASER_TEST_PAUSED=str(paused),
               **(env or {}))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(argv, cwd=repo, env=env, stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + 180
        while not paused.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if paused.exists():
            os.kill(int(paused.read_text()), signum)
        else:
            process.kill()
        process.wait(timeout=120)
        out.seek(0), err.seek(0)
        result = subprocess.CompletedProcess(argv, process.returncode, out.read(), err.read())
    assert paused.exists(), f"{argv} never reached the rename of {pattern}:\n{result.stdout}\n{result.stderr}"
    return result


def repro(*stages):
    return [sys.executable, "-m", "dvc", "repro", *stages]


def pending(repo, *stages):
    return set(json.loads(dvc(repo, "status", "--json", *stages).stdout))


def single_report(repo):
    """`dvc repro` of the report alone: the families this small pipeline leaves out stand as empty folders."""
    for folder in ("results", "metrics"):
        for family in ("cnn_sweep", "cnn", "eca_kernels", "eca_blocks", "eca_original", "augment_cnn",
                       "augment_eca", "attention", "dslstm", "protocol", "calibrated", "cross_corpus", "egemaps",
                       "ssl_probe"):
            (repo / folder / family).mkdir(parents=True, exist_ok=True)
    return ["repro", "--single-item", "report"]


@pytest.fixture(scope="module")
def reference(template, tmp_path_factory):  # noqa: F811
    """The uninterrupted run, with no checkpoint, that every faulted run must equal byte for byte."""
    repo = clone(template, tmp_path_factory.mktemp("reference") / "repo")
    set_params(repo, **RESUMABLE)
    dvc(repo, "repro", "train_eca", env={"ECASER_CHECKPOINT_EVERY": "0"})
    dvc(repo, *single_report(repo))
    return repo


def assert_same(repo, reference, paths):
    for path in paths:
        assert (repo / path).read_bytes() == (reference / path).read_bytes(), path


def interrupted(result, output):
    """The one line a SIGTERM left, which must name the file it stopped writing."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: interrupted by SIGTERM (")]
    assert len(lines) == 1 and f"{output} was being written, its temporary file is removed" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.pipeline
def test_sigterm_and_sigkill_mid_write_and_mid_training_leave_nothing_and_the_rerun_equals_an_uninterrupted_run(
        reference, template, tmp_path):  # noqa: F811
    """Each stage stopped in turn, the run after each stop going on from there: dvc runs again what was stopped."""
    repo = clone(template, tmp_path / "repo")
    set_params(repo, **RESUMABLE)
    # a checkpoint every epoch, the two folds side by side (so that both have one when the third is written); the
    # uninterrupted reference trains them one after another, the default
    every = {"ECASER_CHECKPOINT_EVERY": "1", "ECASER_PARALLEL_FOLDS": "2"}

    stop = stopped(repo, repro("segment"), ".audio.npy.*", signal.SIGTERM, tmp_path)
    assert "exited with 143" in stop.stderr and "stages/segment.py" in interrupted(stop, "data/segments/audio.npy")
    assert temporaries(repo) == [] and not (repo / "data/segments/audio.npy").exists()

    stop = stopped(repo, repro("stft@v8"), ".v8.npy.*", signal.SIGKILL, tmp_path)
    assert stop.returncode != 0 and [Path(t).name[:8] for t in temporaries(repo)] == [".v8.npy."]
    assert pending(repo, "segment", "stft@v8") == {"stft@v8"}

    # mid-training, at the third checkpoint: with two folds, the first two are written; stft's leftover is removed
    stop = stopped(repo, repro("train_eca"), ".fold-*.pt.*", signal.SIGKILL, tmp_path, count=3, env=every)
    assert stop.returncode != 0 and [Path(t).name[:6] for t in temporaries(repo)] == [".fold-"]
    assert len(list((repo / ".ecaser/checkpoints").glob("*/fold-*.pt"))) == 2

    # resumed; stopped again while it writes the model, after training: every fold's last checkpoint is kept
    stop = stopped(repo, repro("train_eca"), ".eca.pt.*", signal.SIGTERM, tmp_path, env=every)
    assert stop.stderr.count("fold resumed after epoch") == 2
    assert "the next run resumes from the checkpoints of 2 fold(s)" in interrupted(stop, "models/eca.pt")
    assert temporaries(repo) == [] and pending(repo, "train_eca") == {"train_eca"}

    resumed = dvc(repo, "repro", "train_eca", env=every)
    assert resumed.stderr.count("fold resumed after epoch 3") == 2  # nothing trained again
    assert temporaries(repo) == [] and not list((repo / ".ecaser/checkpoints").rglob("*.pt"))
    assert_same(repo, reference, OUTPUTS)

    stop = stopped(repo, repro(*single_report(repo)[1:]), ".report.md.*", signal.SIGKILL, tmp_path)
    assert stop.returncode != 0 and [Path(t).name for t in temporaries(repo)][0].startswith(".report.md.")
    assert pending(repo, "report") == {"report"}
    dvc(repo, *single_report(repo))
    assert temporaries(repo) == [] and pending(repo, "segment", "stft@v8", "train_eca", "report") == set()
    assert_same(repo, reference, REPORT)


@pytest.mark.pipeline
@pytest.mark.parametrize("disk", [FULL_DISK])
def test_predicts_output_survives_a_full_disk_and_sigterm(reference, tmp_path, disk):
    wav = write_wav(tmp_path / "clip.wav", 60.0)  # 39 windows: a CSV of 7 kB
    out = tmp_path / "out" / "windows.csv"
    command = [sys.executable, "-m", "ecaser", "predict", str(wav), "--model", str(reference / "models/eca.pt"),
               "--csv", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    expected = out.read_bytes()
    out.unlink()

    with full_disk(out.parent, 4096) as env:
        failed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
        assert failed.returncode == 2 and failed.stderr.startswith(f"error: {out}: ")
        assert "Traceback" not in failed.stderr
        assert temporaries(out.parent) == [] and not out.exists()

    stop = stopped(tmp_path, command, ".windows.csv.*", signal.SIGTERM, tmp_path)
    assert stop.returncode == 128 + signal.SIGTERM and "ecaser predict" in interrupted(stop, str(out))
    assert temporaries(out.parent) == [] and not out.exists()
    # a SIGKILL's leftover, removed by the next writer, is the stages' test above: predict writes through the same code
    assert subprocess.run(command, capture_output=True, text=True).stdout == done.stdout
    assert temporaries(out.parent) == [] and out.read_bytes() == expected


@pytest.mark.pipeline
@pytest.mark.parametrize("disk", [FULL_DISK])
def test_a_full_disk_is_one_line_naming_the_file_and_bytes_and_leaves_the_last_outputs(reference, disk):
    """Each stage's script run again in the built repository, a folder it writes on a full disk: the failed write
    leaves the outputs there as they were (a tmpfs mounted over the folder hides them meanwhile), so `dvc status`
    finds every stage up to date. The training stage's first large write is a fold's checkpoint. Last in the
    module: the other tests compare with this repository's outputs."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               ECASER_CHECKPOINT_EVERY="1")
    reason = "no space left on the device" if disk == "tmpfs" else "larger than this process's file-size limit"
    train = ["stages/train.py", "train_eca", "--out", "results/eca/proposed", "--metrics", "metrics/eca/proposed.json",
             "--save-model", "models/eca.pt"]
    for command, folder, output, size in [
        (["stages/segment.py"], "data/segments", r"data/segments/audio\.npy", 65536),
        (["stages/stft.py", "v8"], "data/features", r"data/features/v8\.npy", 65536),
        (train, ".ecaser/checkpoints", r"\.ecaser/checkpoints/\w+/fold-1\.pt", 65536),
        (["stages/report.py"], "plots", r"plots/[\w-]+\.png", 4096),
    ]:
        before = {path: path.read_bytes() for path in (reference / folder).rglob("*") if path.is_file()}
        with full_disk(reference / folder, size) as fault:
            failed = subprocess.run([sys.executable, *command], cwd=reference, capture_output=True, text=True,
                                    env={**env, **fault})
            assert failed.returncode == 2, failed.stderr
            assert re.fullmatch(rf"error: {output}: {reason}(.*): it needs [\d,]+ bytes, [\d,]+ bytes are free "
                                r"there.*\n", failed.stderr), failed.stderr
            assert temporaries(reference) == []
        assert {path: path.read_bytes() for path in (reference / folder).rglob("*") if path.is_file()} == before
    assert pending(reference, "segment", "stft@v8", "train_eca", "report") == set()


def test_a_leftover_is_removed_but_a_live_writers_temporary_file_is_kept(tmp_path):
    """A killed writer's file is unlocked; a running writer holds its lock (here another open file description,
    which flock treats as another holder, as it would another process)."""
    with atomic.atomic_path(tmp_path / "out.npy", 3) as live:
        dead = tmp_path / ".out.npy.deadbeef.tmp"
        dead.write_bytes(b"abc")
        other = tmp_path / ".out.npy.x.npy.12345678.tmp"  # another output's (out.npy.x.npy), whose writer is gone
        other.write_bytes(b"abc")
        atomic.write_bytes(tmp_path / "out.npy", b"new")
        assert live.exists() and not dead.exists() and other.exists()
        live.write_bytes(b"old")
    assert (tmp_path / "out.npy").read_bytes() == b"old"


def test_an_injected_enospc_is_one_error_naming_file_and_bytes_and_leaves_nothing(tmp_path, monkeypatch):
    """The unit-level stand-in for a full disk: the allocation fails as posix_fallocate does on a full disk."""

    def no_space(fd, offset, size):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    with pytest.raises(DiskFull, match=rf"^{re.escape(str(tmp_path))}/a.npy: no space left on the device: it needs "
                                       r"4,224 bytes, [\d,]+ bytes are free there"):
        with atomic.open_npy(tmp_path / "a.npy", (16, 64), np.float32):
            pass
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_never_resumes_a_run_whose_numbers_would_differ(tmp_path):
    spec = models.cnn(range(4), 1, 4, None, (), None)
    cfg = loop.Config(spec, 2, 4, 1e-3, 1.0, 1.0, True, 2, 1, "stratified", 0, "float32")
    features = tmp_path / "v8.npy"
    np.save(features, np.zeros((8, 4, 5), np.float16))
    manifest = pd.DataFrame({"id": list("abcdefgh"), "label_index": [0, 1, 2, 3] * 2})

    def key(cfg=cfg, manifest=manifest):
        return checkpoint.digest(cfg, [np.load(features, mmap_mode="r")], manifest, torch.device("cpu"))

    first = key()
    assert key() == first
    assert key(cfg=loop.Config(spec, 3, 4, 1e-3, 1.0, 1.0, True, 2, 1, "stratified", 0, "float32")) != first
    assert key(cfg=loop.Config(models.cnn(range(4), 1, 4, "eca", (5, 6), 3), 2, 4, 1e-3, 1.0, 1.0, True, 2, 1,
                                   "stratified", 0, "float32")) != first
    assert key(manifest=manifest.assign(label_index=[0, 1, 2, 3, 3, 2, 1, 0])) != first
    # an edited fold file (cv.protocol file) is another run, though its path is the same
    edited = [loop.Config(spec, 2, 4, 1e-3, 1.0, 1.0, True, 2, 1, "file", 0, "float32", "folds.csv", md5)
              for md5 in ("0f1e", "9a8b")]
    assert len({first, *map(lambda c: key(cfg=c), edited)}) == 3
    later = features.stat().st_mtime_ns + 10**9
    os.utime(features, ns=(later, later))  # a feature file written again
    assert key() != first


def test_checkpoints_are_off_at_0_and_a_bad_interval_is_refused(monkeypatch):
    monkeypatch.setenv("ECASER_CHECKPOINT_EVERY", "0")
    assert checkpoint.Checkpoints.of(None, [], (), None) is None
    monkeypatch.setenv("ECASER_CHECKPOINT_EVERY", "-1")
    with pytest.raises(InputError, match="ECASER_CHECKPOINT_EVERY must be an integer >= 0, got '-1'"):
        checkpoint.Checkpoints.of(None, [], (), None)
