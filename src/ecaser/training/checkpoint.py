"""Training that resumes where it stopped: each fold's state every few epochs, outside DVC's outputs.

A paper-scale training stage runs for hours; stopped by a cluster's time limit, a preemption or a kill, and run
again, it goes on from each fold's last checkpoint instead of epoch 1, and writes the same bytes as a run never
interrupted. A checkpoint holds everything the rest of the fold depends on: the model, the optimiser and schedule,
the fold's shuffle generator and torch's generators, its curves and last predictions. It is kept every
runtime.checkpoint_every() epochs and after the fold's last (so that a finished fold is not trained again while
others still run), under runtime.checkpoint_dir(), in a folder named by a digest of everything that decides the
run's numbers: the training Config with the model's Spec, the manifest, the input files, the package's source, the
library versions and the device. A changed param, input or line of code therefore starts afresh, never resumes a
stale run. The stage removes its checkpoints once its outputs are written; those of a run abandoned stay there.
"""

import hashlib
import io
import os
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..infra import atomic, runtime


def digest(cfg, streams, manifest, dev):
    """What decides a run's numbers, hashed. An input file counts by path, size, inode and modification time:
    reading gigabytes of features to hash them would cost more than it could save."""
    h = hashlib.sha256(repr(cfg).encode())
    h.update(f"{platform.python_version()} {np.__version__} {torch.__version__} {torch.version.cuda}".encode())
    h.update((torch.cuda.get_device_name(dev) if dev.type == "cuda" else dev.type).encode())
    h.update(pd.util.hash_pandas_object(manifest).to_numpy().tobytes())
    for array in streams:
        if getattr(array, "filename", None):
            info = os.stat(array.filename)
            h.update(f"{array.filename} {info.st_size} {info.st_ino} {info.st_mtime_ns}".encode())
        else:
            h.update(np.ascontiguousarray(array).tobytes())
    package = Path(__file__).parent
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".conf")):
        h.update(path.relative_to(package).as_posix().encode() + path.read_bytes())
    return h.hexdigest()[:20]


class Checkpoints:
    """The checkpoints of one run: a file per fold in a folder of its own; None where checkpoints are off."""

    @classmethod
    def of(cls, cfg, train, test, manifest):
        every = runtime.checkpoint_every()
        if not every:
            return None
        streams = [stream for version in [*train, test] for stream in version]
        return cls(Path(runtime.checkpoint_dir()) / digest(cfg, streams, manifest, runtime.device()), every)

    def __init__(self, folder, every):
        self.folder, self.every = folder, every

    def fold(self, fold):
        return Fold(self.folder / f"fold-{fold}.pt", self.every)

    def remove(self):
        for path in self.folder.glob("fold-*.pt"):
            path.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:  # not empty: another process writes the same run, or files of ours that we did not make
            pass


class Fold:
    """One fold's checkpoint file: saved after its epoch `every`, 2 x every, ... and the last."""

    def __init__(self, path, every):
        self.path, self.every = path, every

    def due(self, epoch, epochs):
        return epoch % self.every == 0 or epoch == epochs

    def save(self, probs, eca, **state):
        """The fold's state (state dicts, its shuffle generator's, curves), last predictions and torch's
        generators; numpy arrays as tensors, which torch.load(weights_only=True) reads."""
        state.update(probs=torch.from_numpy(probs), eca={block: torch.from_numpy(w) for block, w in eca.items()},
                     torch_rng=torch.get_rng_state(),
                     cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [])
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic.write_bytes(self.path, buffer.getvalue())

    def load(self):
        """The saved state, torch's generators set as they were; None where there is none."""
        if not self.path.is_file():
            return None
        state = torch.load(self.path, weights_only=True)
        tqdm.write(f"{self.path}: fold resumed after epoch {len(state['curves'])}", file=sys.stderr)  # above a bar
        torch.set_rng_state(state.pop("torch_rng"))
        cuda_rng = state.pop("cuda_rng")
        if cuda_rng:
            torch.cuda.set_rng_state_all(cuda_rng)
        state["probs"] = state["probs"].numpy()
        state["eca"] = {block: w.numpy() for block, w in state["eca"].items()}
        return state


def resumes(run):
    """What the next run of an interrupted training stage will do, in a few words."""
    kept = sorted(run.folder.glob("fold-*.pt")) if run else []
    if not kept:
        return "training stopped before any checkpoint (ECASER_CHECKPOINT_EVERY), the next run starts at epoch 1"
    return f"training stopped, the next run resumes from the checkpoints of {len(kept)} fold(s) in {run.folder}"
