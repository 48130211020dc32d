"""Faults injected into the stages and predict: a full disk, SIGTERM mid-write, SIGKILL mid-write and mid-training.

Afterwards no temporary file may remain (for SIGKILL: once the stage has run again), `dvc status` must say which
stages are not done, and the outputs of the run that follows must be byte-identical to an uninterrupted run's.

The full disk is a real one where this process may mount a small tmpfs (root with CAP_SYS_ADMIN, as on our
machine); elsewhere (CI as a user) a file-size limit (RLIMIT_FSIZE) stands in for it, which fails the same writes
with EFBIG instead of ENOSPC. Each test's id says which it used: [tmpfs] or [file-size-limit]. "Mid-write" is
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

from ecaser import atomic, checkpoint, models, training
from ecaser.errors import DiskFull

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


FULL_DISK = "tmpfs" if sys.platform.startswith("linux") and os.geteuid() == 0 and mountable() else "file-size-limit"


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
        assert not list(folder.iterdir()), "a full disk kept a file"
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
                       "augment_eca", "attention", "dslstm"):
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


@pytest.mark.pipeline
def test_sigkill_mid_write_and_mid_training_leaves_what_the_next_run_removes_and_resumes(reference, template,  # noqa: F811
                                                                                         tmp_path):
    repo = clone(template, tmp_path / "repo")
    set_params(repo, **RESUMABLE)
    every = {"ECASER_CHECKPOINT_EVERY": "1"}

    killed = stopped(repo, repro("segment"), ".audio.npy.*", signal.SIGKILL, tmp_path)
    assert killed.returncode != 0
    assert len(temporaries(repo)) == 1 and not (repo / "data/segments/audio.npy").exists()
    assert "segment" in pending(repo, "segment")

    killed = stopped(repo, repro("stft@v8"), ".v8.npy.*", signal.SIGKILL, tmp_path)  # segment's is removed
    assert killed.returncode != 0 and [t.split("/")[-1][:8] for t in temporaries(repo)] == [".v8.npy."]

    # mid-training: at the third checkpoint (with two folds, the first fold's second), the first two written
    killed = stopped(repo, repro("train_eca"), ".fold-*.pt.*", signal.SIGKILL, tmp_path, count=3, env=every)
    assert killed.returncode != 0 and len(temporaries(repo)) == 1 and "checkpoints" in temporaries(repo)[0]
    assert len(list((repo / ".ecaser/checkpoints").glob("*/fold-*.pt"))) == 2
    assert {"train_eca"} <= pending(repo, "train_eca")

    resumed = dvc(repo, "repro", "train_eca", env=every)
    assert resumed.stderr.count("fold resumed after epoch") == 2, resumed.stderr
    assert temporaries(repo) == [] and not list((repo / ".ecaser/checkpoints").rglob("*.pt"))
    assert pending(repo, "train_eca") == set()
    assert_same(repo, reference, OUTPUTS)

    killed = stopped(repo, repro(*single_report(repo)[1:]), ".report.md.*", signal.SIGKILL, tmp_path)
    assert killed.returncode != 0 and len(temporaries(repo)) == 1 and "report" in pending(repo, "report")
    dvc(repo, *single_report(repo))
    assert temporaries(repo) == [] and pending(repo, "report") == set()
    assert_same(repo, reference, REPORT)


@pytest.mark.pipeline
def test_sigterm_mid_write_removes_the_temporary_file_and_says_what_it_stopped(reference, template,  # noqa: F811
                                                                                 tmp_path):
    repo = clone(template, tmp_path / "repo")
    set_params(repo, **RESUMABLE)
    for stage, pattern, output in [("segment", ".audio.npy.*", "data/segments/audio.npy"),
                                   ("stft@v8", ".v8.npy.*", "data/features/v8.npy"),
                                   ("train_eca", ".eca.pt.*", "models/eca.pt")]:
        stopped_run = stopped(repo, repro(stage), pattern, signal.SIGTERM, tmp_path)
        assert stopped_run.returncode != 0 and "exited with 143" in stopped_run.stderr
        lines = [line for line in stopped_run.stderr.splitlines() if line.startswith("error: interrupted")]
        assert len(lines) == 1 and lines[0].startswith("error: interrupted by SIGTERM (stages/")
        assert f"{output} was being written, its temporary file is removed" in lines[0]
        assert temporaries(repo) == [] and not (repo / output).exists()
        assert stage in pending(repo, stage)
    # stopped after training: every fold's last checkpoint is kept, and the next run trains nothing again
    assert "the next run resumes from the checkpoints of 2 fold(s)" in lines[0]
    resumed = dvc(repo, "repro", "train_eca")
    assert resumed.stderr.count("fold resumed after epoch 3") == 2
    assert temporaries(repo) == [] and pending(repo, "train_eca") == set()
    assert_same(repo, reference, OUTPUTS)

    stopped_run = stopped(repo, repro(*single_report(repo)[1:]), ".report.md.*", signal.SIGTERM, tmp_path)
    assert "error: interrupted by SIGTERM (stages/report.py): reports/report.md was being written" in stopped_run.stderr
    assert temporaries(repo) == [] and not (repo / "reports/report.md").exists()


@pytest.mark.pipeline
@pytest.mark.parametrize("disk", [FULL_DISK])
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(template, tmp_path, disk):  # noqa: F811
    repo = clone(template, tmp_path / "repo")
    nothing = {"ECASER_CHECKPOINT_EVERY": "0"}  # else a checkpoint, larger than the model, fills the disk first
    for stage, output in [("segment", "data/segments/audio.npy"), ("stft@v8", "data/features/v8.npy"),
                          ("train_eca", "models/eca.pt")]:
        with full_disk((repo / output).parent) as env:
            failed = dvc(repo, "repro", stage, check=False, env={**env, **nothing})
            reason = "no space left on the device" if disk == "tmpfs" else "larger than this process's file-size"
            assert failed.returncode != 0 and "exited with 2" in failed.stderr
            assert f"error: {output}: {reason}" in failed.stderr and "bytes are free there" in failed.stderr
            assert "Traceback" not in failed.stderr and "-7" not in failed.stderr  # SIGBUS
            assert temporaries(repo) == [] and not (repo / output).exists()
            assert stage in pending(repo, stage)


@pytest.mark.pipeline
@pytest.mark.parametrize("disk", [FULL_DISK])
def test_predicts_outputs_survive_a_full_disk_sigterm_and_sigkill(reference, tmp_path, disk):
    wav = write_wav(tmp_path / "clip.wav", 4.0)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ecaser", "predict", str(wav), "--model", str(reference / "models/eca.pt"),
               "--csv", str(out / "windows.csv"), "--plot", str(out / "windows.png")]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    expected = {name: (out / name).read_bytes() for name in ("windows.csv", "windows.png")}
    for name in expected:
        (out / name).unlink()

    with full_disk(out, 4096) as env:  # the CSV fits, the PNG does not
        failed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
        assert failed.returncode == 2 and failed.stderr.startswith(f"error: {out / 'windows.png'}: ")
        assert temporaries(out) == [] and not (out / "windows.png").exists()
        (out / "windows.csv").unlink()

    stopped_run = stopped(tmp_path, command, ".windows.png.*", signal.SIGTERM, tmp_path)
    assert stopped_run.returncode == 128 + signal.SIGTERM
    assert f"{out / 'windows.png'} was being written" in stopped_run.stderr.splitlines()[-1]
    assert temporaries(out) == []
    stopped(tmp_path, command, ".windows.png.*", signal.SIGKILL, tmp_path)
    assert len(temporaries(out)) == 1
    assert subprocess.run(command, capture_output=True, text=True).stdout == done.stdout
    assert temporaries(out) == [] and {name: (out / name).read_bytes() for name in expected} == expected


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
    cfg = training.Config(spec, 2, 4, 1e-3, 1.0, 1.0, True, 2, 1, "stratified", 0, "float32")
    features = tmp_path / "v8.npy"
    np.save(features, np.zeros((8, 4, 5), np.float16))
    manifest = pd.DataFrame({"id": list("abcdefgh"), "label_index": [0, 1, 2, 3] * 2})

    def key(cfg=cfg, manifest=manifest):
        return checkpoint.digest(cfg, [np.load(features, mmap_mode="r")], manifest, torch.device("cpu"))

    first = key()
    assert key() == first
    assert key(cfg=training.Config(spec, 3, 4, 1e-3, 1.0, 1.0, True, 2, 1, "stratified", 0, "float32")) != first
    assert key(cfg=training.Config(models.cnn(range(4), 1, 4, "eca", (5, 6), 3), 2, 4, 1e-3, 1.0, 1.0, True, 2, 1,
                                   "stratified", 0, "float32")) != first
    assert key(manifest=manifest.assign(label_index=[0, 1, 2, 3, 3, 2, 1, 0])) != first
    later = features.stat().st_mtime_ns + 10**9
    os.utime(features, ns=(later, later))  # a feature file written again
    assert key() != first
