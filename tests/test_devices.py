"""GPUs shared by lock between processes: runtime.claim over fake device names, and device()'s use of it."""

import json
import multiprocessing
import os
import random
import signal
import sys
import time

import pytest
import torch

from ecaser.infra import runtime

FORK = multiprocessing.get_context("fork")  # the children only lock files and sleep: no torch after the fork
PATIENCE = 20  # seconds before a test gives up on something it waits for


def wait_for(condition, what):
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def append(log, **record):
    """One JSON line, written with a single write() to a file opened for appending: lines of processes don't mix."""
    with open(log, "a") as f:
        f.write(json.dumps({"pid": os.getpid(), "time": time.monotonic(), **record}) + "\n")


def records(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def hold_for_a_while(devices, lock_dir, log, seed):
    sys.stderr = open(os.devnull, "w")  # the waiting line of six workers is not this test's business
    device = runtime.claim(devices, str(lock_dir), poll=0.05)
    append(log, device=device, event="start")
    time.sleep(random.Random(seed).uniform(0.05, 0.3))
    append(log, device=device, event="end")


def hold_forever(devices, lock_dir, log):
    device = runtime.claim(devices, str(lock_dir), poll=0.05)
    append(log, device=device, event="start")
    time.sleep(PATIENCE * 10)


def wait_then_hold(devices, lock_dir, log, stderr):
    sys.stderr = open(stderr, "w")
    device = runtime.claim(devices, str(lock_dir), poll=0.05)
    append(log, device=device, event="start")


@pytest.fixture
def own_held(monkeypatch):
    """A fresh holder for this test's claims in the pytest process, its locks released afterwards."""
    held = {}
    monkeypatch.setattr(runtime, "_held", held)
    yield held
    for fd in held.values():
        os.close(fd)


def test_no_two_processes_hold_a_device_at_once(tmp_path):
    log, devices = tmp_path / "log.jsonl", ["cuda:0", "cuda:1"]
    args = [(devices, tmp_path / "locks", log, seed) for seed in range(6)]
    workers = [FORK.Process(target=hold_for_a_while, args=a) for a in args]
    for w in workers:
        w.start()
    for w in workers:
        w.join(PATIENCE)
    assert [w.exitcode for w in workers] == [0] * 6
    events = records(log)
    spans = {}  # pid -> [device, start, end]
    for e in events:
        span = spans.setdefault(e["pid"], [e["device"], None, None])
        assert span[0] == e["device"]
        span[1 if e["event"] == "start" else 2] = e["time"]
    assert len(spans) == 6 and all(None not in span for span in spans.values())
    assert {span[0] for span in spans.values()} == set(devices)
    for device in devices:
        intervals = sorted((start, end) for d, start, end in spans.values() if d == device)
        for (_, end), (next_start, _) in zip(intervals, intervals[1:]):
            assert end <= next_start, f"{device} was held by two processes at once"


def test_a_killed_holder_frees_its_device(tmp_path):
    log, stderr, locks, devices = tmp_path / "log.jsonl", tmp_path / "waiter.err", tmp_path / "locks", ["cuda:0"]
    holder = FORK.Process(target=hold_forever, args=(devices, locks, log))
    holder.start()
    try:
        wait_for(lambda: len(records(log)) == 1, "the holder's lock")
        waiter = FORK.Process(target=wait_then_hold, args=(devices, locks, log, stderr))
        waiter.start()
        wait_for(lambda: stderr.exists() and stderr.read_text(), "the waiter's message")
        assert stderr.read_text() == f"ecaser: waiting for cuda:0: held by other processes (locks in {locks})\n"
        assert len(records(log)) == 1  # it said it waits, so it does not hold the device
        os.kill(holder.pid, signal.SIGKILL)
        waiter.join(PATIENCE)
        assert waiter.exitcode == 0
    finally:
        holder.kill()
        holder.join()
    assert [(r["pid"], r["device"]) for r in records(log)] == [(holder.pid, "cuda:0"), (waiter.pid, "cuda:0")]
    assert stderr.read_text().count("\n") == 1  # one line, however long it waited


def test_a_process_claims_once_and_keeps_its_device(tmp_path, own_held):
    devices, locks = ["cuda:0", "cuda:1"], str(tmp_path)
    assert runtime.claim(devices, locks) == "cuda:0"
    assert runtime.claim(devices, locks) == "cuda:0" and len(own_held) == 1  # no second lock, not cuda:1
    assert runtime.claim(["cuda:1", "cuda:0"], locks) == "cuda:0"  # whichever of the candidates it already holds
    assert runtime.claim(["cuda:1"], locks) == "cuda:1" and len(own_held) == 2  # an explicit other one is locked too


def other_process_holds(path):
    """Lock `path` through a descriptor of its own: to flock, that is another holder, even in this process."""
    import fcntl

    fd = os.open(path, os.O_RDONLY | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_device_takes_a_free_gpu_when_cuda_is_present(tmp_path, monkeypatch, own_held):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setattr(torch.cuda, "set_device", lambda dev: None)
    monkeypatch.setenv("ECASER_LOCK_DIR", str(tmp_path))
    monkeypatch.delenv("ECASER_DEVICE", raising=False)
    taken = other_process_holds(tmp_path / "cuda-0.lock")
    try:
        assert runtime.device() == torch.device("cuda:1") and runtime.device() == torch.device("cuda:1")
        monkeypatch.setenv("ECASER_DEVICE", "cuda")
        assert runtime.device() == torch.device("cuda:1")
        monkeypatch.setenv("ECASER_DEVICE", "cuda:2")
        assert runtime.device() == torch.device("cuda:2")
        assert sorted(os.path.basename(p) for p in own_held) == ["cuda-1.lock", "cuda-2.lock"]
        monkeypatch.setenv("ECASER_DEVICE", "cuda:3")
        with pytest.raises(runtime.InputError, match="has 3 GPU"):
            runtime.device()
        monkeypatch.setenv("ECASER_DEVICE", "gpu0")
        with pytest.raises(runtime.InputError, match="ECASER_DEVICE must be auto, cpu, cuda or cuda:N, got 'gpu0'"):
            runtime.device()
    finally:
        os.close(taken)


@pytest.mark.parametrize("setting", [None, "auto", "cpu"])
def test_without_cuda_the_cpu_is_used_and_nothing_locked(tmp_path, monkeypatch, own_held, setting):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("ECASER_LOCK_DIR", str(tmp_path / "locks"))
    if setting is None:
        monkeypatch.delenv("ECASER_DEVICE", raising=False)
    else:
        monkeypatch.setenv("ECASER_DEVICE", setting)
    assert runtime.device() == torch.device("cpu")
    assert not own_held and not (tmp_path / "locks").exists()


def test_a_bounded_wait_gives_up_with_one_line_naming_its_variable(tmp_path, monkeypatch, own_held):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda dev: None)
    monkeypatch.setenv("ECASER_LOCK_DIR", str(tmp_path))
    monkeypatch.setenv("ECASER_DEVICE", "auto")
    monkeypatch.setenv("ECASER_GPU_WAIT", "0.3")
    taken = other_process_holds(tmp_path / "cuda-0.lock")
    try:
        start = time.monotonic()
        with pytest.raises(runtime.InputError) as error:
            runtime.device()
        waited = time.monotonic() - start
    finally:
        os.close(taken)
    assert str(error.value) == f"ECASER_GPU_WAIT=0.3 s passed waiting for cuda:0: held by other processes " \
                               f"(locks in {tmp_path})"
    assert 0.3 <= waited < 0.3 + PATIENCE / 4 and not own_held
    assert runtime.device() == torch.device("cuda:0")  # free now: the same limit lets it through at once


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_a_bad_gpu_wait_is_refused_with_its_name(monkeypatch, value):
    monkeypatch.setenv("ECASER_GPU_WAIT", value)
    with pytest.raises(runtime.InputError, match=f"ECASER_GPU_WAIT must be a number of seconds >= 0, got '{value}'"):
        runtime.gpu_wait()
