"""Where and how fast a run goes, which changes none of its numbers: taken from the environment, not params.yaml.

A param is part of every stage's cache key, so the same run on another GPU, or with its folds side by side,
would be trained again instead of coming from DVC's cache. These settings are environment variables instead:

    ECASER_DEVICE          auto (a free GPU when CUDA is present, else the CPU) | cpu | cuda (auto among GPUs) | cuda:1
    ECASER_LOCK_DIR        where the GPU locks live; default <tempdir>/ecaser-gpu-locks, one per machine
    ECASER_GPU_WAIT        seconds to wait for a free GPU before giving up with an error; default: no limit
    ECASER_PARALLEL_FOLDS  folds trained at once, a step each in turn (on a GPU, a CUDA stream each); default 5
    ECASER_STFT_BATCH      clips per torch.stft call of the feature stages; default 64
    ECASER_CHECKPOINT_EVERY  epochs between a training fold's checkpoints (and after its last); 0: none; default 5
    ECASER_CHECKPOINT_DIR    where training checkpoints live (src/ecaser/checkpoint.py); default .ecaser/checkpoints
    TQDM_DISABLE=1         no progress bars (src/ecaser/progress.py; they are off anyway where stderr is no terminal)

Numeric precision does change numbers, so it is a param (train.precision), not one of these.

GPUs are shared by lock, so that stages run side by side (`dvc queue start -j N`, `dvc exp run --run-all --jobs N`)
spread over a machine's GPUs: a process that runs on CUDA holds an exclusive flock on ECASER_LOCK_DIR/cuda-K.lock
for its lifetime. auto and cuda take the first free GPU and wait, saying so once on stderr, while none is free;
cuda:K waits for that GPU's lock, so it never shares one with auto processes; cpu takes no lock. With
ECASER_GPU_WAIT set, a process that gets no GPU within that many seconds stops with one line naming the variable.
The OS drops a lock when its process ends, however it ends (SIGKILL too), so a lock file left behind holds nothing.
"""

import ctypes
import fcntl
import os
import sys
import tempfile
import time

import torch

from .errors import InputError


def device(name=None):
    """The torch device this process runs on; on CUDA, a GPU it holds the lock of (see the module docstring)."""
    name = name or os.environ.get("ECASER_DEVICE") or "auto"
    if name == "auto" and not torch.cuda.is_available():
        return torch.device("cpu")
    try:
        dev = torch.device("cuda" if name == "auto" else name)
    except RuntimeError:
        raise InputError(f"ECASER_DEVICE must be auto, cpu, cuda or cuda:N, got {name!r}") from None
    if dev.type != "cuda" or not torch.cuda.is_available():  # cpu; or cuda without CUDA, which torch refuses at use
        return dev
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise InputError(f"ECASER_DEVICE is {name!r}, but this machine has {count} GPU(s): cuda:0 to cuda:{count - 1}")
    candidates = [str(dev)] if dev.index is not None else [f"cuda:{k}" for k in range(count)]
    dev = torch.device(claim(candidates, lock_dir(), limit=gpu_wait()))
    torch.cuda.set_device(dev)  # so that calls without a device (and CUDA's own context) land on it, not on cuda:0
    return dev


def lock_dir():
    """ECASER_LOCK_DIR, or the machine's shared default, made like /tmp (anyone may add a lock, remove only theirs)."""
    if os.environ.get("ECASER_LOCK_DIR"):
        return os.environ["ECASER_LOCK_DIR"]
    directory = os.path.join(tempfile.gettempdir(), "ecaser-gpu-locks")
    try:
        os.mkdir(directory)
        os.chmod(directory, 0o1777)  # mkdir's mode is cut by the umask, chmod's is not
    except FileExistsError:
        pass
    return directory


_held = {}  # lock file path -> its open descriptor, never closed: the lock lasts as long as the process


def claim(candidates, directory, poll=0.5, limit=None):
    """The first of `candidates` (device names) whose lock in `directory` this process holds or gets; while all
    are held by other processes, wait, polling every `poll` seconds, for at most `limit` seconds if given.
    Idempotent: a device already held is returned at once. The lock is an exclusive flock on
    `directory`/<name with - for :>.lock."""
    paths = {name: os.path.join(directory, name.replace(":", "-") + ".lock") for name in candidates}
    for name, path in paths.items():
        if path in _held:
            return name
    if not candidates:
        raise ValueError("no device to claim")
    os.makedirs(directory, exist_ok=True)
    said, deadline = False, None if limit is None else time.monotonic() + limit
    while True:
        for name, path in paths.items():
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)  # flock needs no write access: any user may lock
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _held[path] = fd
            return name
        which = "a free GPU" if len(candidates) > 1 else candidates[0]
        if deadline is not None and time.monotonic() >= deadline:
            raise InputError(f"ECASER_GPU_WAIT={limit:g} s passed waiting for {which}: held by other processes "
                             f"(locks in {directory})")
        if not said:
            print(f"ecaser: waiting for {which}: held by other processes (locks in {directory})",
                  file=sys.stderr, flush=True)
            said = True
        time.sleep(poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic())))


def gpu_wait():
    """ECASER_GPU_WAIT in seconds, or None (wait as long as it takes) where it is unset or empty."""
    text = os.environ.get("ECASER_GPU_WAIT")
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise InputError(f"ECASER_GPU_WAIT must be a number of seconds >= 0, got {text!r}")
    return seconds


def positive_int(variable, default, least=1):
    """The whole number in an environment variable, at least `least` (0 where 0 means off)."""
    text = os.environ.get(variable) or str(default)
    if not text.isdigit() or int(text) < least:
        what = "a positive integer" if least else "an integer >= 0"
        raise InputError(f"{variable} must be {what}, got {text!r}")
    return int(text)


def parallel_folds():
    return positive_int("ECASER_PARALLEL_FOLDS", 5)


def stft_batch():
    return positive_int("ECASER_STFT_BATCH", 64)


def checkpoint_every():
    return positive_int("ECASER_CHECKPOINT_EVERY", 5, least=0)


def checkpoint_dir():
    return os.environ.get("ECASER_CHECKPOINT_DIR") or os.path.join(".ecaser", "checkpoints")


def set_precision(precision):
    """float32 means float32 on CUDA too: cuDNN's convolutions otherwise run in TF32 by default."""
    torch.backends.cudnn.allow_tf32 = precision != "float32"
    torch.backends.cuda.matmul.allow_tf32 = precision != "float32"


def keep_freed_memory():
    """Stop glibc from handing large freed blocks back to the kernel after every training step.

    Activations of a batch are tens of MB, above glibc's mmap threshold, so each step maps fresh pages and
    the kernel zeroes them again: measured here, a third of a CPU epoch went to page faults. Raising the mmap
    and trim thresholds (mallopt, or MALLOC_MMAP_THRESHOLD_ in the environment) lets the blocks be reused.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...): nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_trim_threshold, 1 << 30)
    libc.mallopt(m_mmap_threshold, 1 << 30)
