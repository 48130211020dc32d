"""Write outputs so that no fault leaves a half-written file behind: a bad input, a full disk, a signal, a kill.

Each output is written to a temporary file beside it, `.NAME.XXXXXXXX.tmp`, and renamed onto NAME only once
complete. Its space is allocated first (posix_fallocate), so that a full disk is one error naming the file, the bytes
it needs and those free: writing a memory map's pages onto a full disk raises nothing, the kernel kills the process
with SIGBUS. A SIGTERM, SIGINT or SIGHUP raises errors.Interrupted, and the temporary file goes with the rest of the
block. A SIGKILL leaves it behind; its writer held an flock on it, which the OS drops when a process dies, so the
next writer of NAME removes the unlocked ones and never the file of a writer still running.
"""

import errno
import fcntl
import io
import json
import os
import re
import resource
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import DiskFull, Interrupted

FULL = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "the disk quota is exceeded",
        errno.EFBIG: "larger than this process's file-size limit (ulimit -f)"}


@contextmanager
def atomic_path(path, size):
    """Yield a temporary path beside `path`, `size` bytes allocated; rename it onto `path` if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(path)
        fd, tmp = locked_temporary(path)
        try:
            allocate(fd, size)
            yield Path(tmp)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are ordinary files
            os.replace(tmp, path)
        except Interrupted as e:
            e.add_note(f"{path} was being written, its temporary file is removed")
            raise
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
            os.close(fd)
    except OSError as e:
        if e.errno not in FULL:
            raise
        raise DiskFull(f"{path}: {FULL[e.errno]}: it needs {size:,} bytes, {free(path.parent)} "
                       "(nothing was written)") from None


def free(folder):
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    room = f"{shutil.disk_usage(folder).free:,} bytes are free there"
    return room if limit == resource.RLIM_INFINITY else f"{room}, the file-size limit is {limit:,} bytes"


def locked_temporary(path):
    """A new temporary file beside `path`, open and exclusively flocked: (descriptor, name)."""
    while True:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:  # between mkstemp and flock another writer may have taken it for a leftover and removed it
            if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)


def remove_leftovers(path):
    """Remove the temporary files of `path` that no process holds locked: those of writers killed by SIGKILL."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[^.]+\.tmp")
    for leftover in path.parent.iterdir():
        if not pattern.fullmatch(leftover.name):
            continue
        try:
            fd = os.open(leftover, os.O_RDONLY)
        except FileNotFoundError:  # removed meanwhile: renamed by its writer, or by another one cleaning up
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            leftover.unlink(missing_ok=True)
        except BlockingIOError:  # its writer is alive
            pass
        finally:
            os.close(fd)


def allocate(fd, size):
    """Reserve `size` bytes of the file's blocks, so that writing them cannot meet a full disk."""
    if size and hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)
    elif size:  # macOS: no fallocate; writing zeros reserves the blocks as well
        for start in range(0, size, 1 << 24):
            os.pwrite(fd, bytes(min(1 << 24, size - start)), start)


def write_bytes(path, data):
    with atomic_path(path, len(data)) as tmp, open(tmp, "r+b") as file:  # r+: truncating would free the blocks
        file.write(data)


def save_csv(path, frame):
    write_bytes(path, frame.to_csv(index=False).encode())


def save_json(path, obj):
    write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def save_figure(path, fig, **options):
    """A matplotlib figure as a PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **options)
    write_bytes(path, buffer.getvalue())


@contextmanager
def open_npy(path, shape, dtype):
    """A writable memory-mapped .npy that appears at `path` only once it is completely filled."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                  "fortran_order": False, "shape": tuple(shape)})
    size = len(header.getvalue()) + int(np.prod(shape)) * np.dtype(dtype).itemsize
    with atomic_path(path, size) as tmp:
        with open(tmp, "r+b") as file:
            file.write(header.getvalue())
        array = np.memmap(tmp, dtype=dtype, mode="r+", offset=len(header.getvalue()), shape=tuple(shape))
        yield array
        array.flush()
        del array
