"""The on-disk arrays the stages hand each other, and how to read them: segments (audio + manifest) and features.

Every array is a memory-mappable .npy whose rows follow manifest.csv, so training reads only the rows
of the current batch and any number of STFT versions can be combined without copying them into memory.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..infra.errors import InputError

SEGMENTS = Path("data/segments")
FEATURES = Path("data/features")
DSLSTM = Path("data/dslstm")
DSLSTM_STREAMS = ("mfcc", "fine", "coarse")  # the DS-LSTM's three inputs, in its forward's order


def load_manifest(path=SEGMENTS / "manifest.csv"):
    """The manifest with ids, speakers, sessions and texts kept as strings ('03' stays '03', '' stays ''); a
    manifest written before the text column existed reads with every text empty. `path` may also be an open file
    (compare reads a manifest out of DVC's cache)."""
    if isinstance(path, (str, Path)) and not Path(path).is_file():
        raise InputError(f"{path}: the segments' manifest is not there (run `dvc repro segment`)")
    text = {c: str for c in ("id", "speaker", "gender", "session", "text", "label", "source")}
    rows = pd.read_csv(path, dtype=text, keep_default_na=False)
    if "text" not in rows:
        rows.insert(rows.columns.get_loc("session") + 1 if "session" in rows else len(rows.columns), "text", "")
    return rows


def load_audio(path=SEGMENTS / "audio.npy"):
    return np.load(path, mmap_mode="r")


def feature_path(version):
    return FEATURES / f"{version}.npy"


def load_features(version, n_rows, path=None, stage=None):
    """A version's features, memory-mapped, refusing a file that does not belong to the manifest."""
    path = Path(path or feature_path(version))
    if not path.is_file():
        raise InputError(f"{path}: features not found (run `dvc repro {stage or f'stft@{version}'}`)")
    array = np.load(path, mmap_mode="r")
    if array.ndim != 3 or array.shape[0] != n_rows:
        raise InputError(f"{path}: shape {array.shape} does not match the manifest's {n_rows} utterances")
    return array


def load_dslstm(n_rows, root=DSLSTM):
    """The DS-LSTM's (mfcc, fine, coarse) arrays, memory-mapped; InputError names a file that is missing or has
    other rows."""
    return tuple(load_features(name, n_rows, Path(root) / f"{name}.npy", "dslstm_features") for name in DSLSTM_STREAMS)


def classes(manifest):
    """The corpus's class names in label_index order, as the segment stage numbered them; InputError where an index
    has no clip (a model's outputs follow label_index, so a gap would shift every later class)."""
    pairs = manifest[["label_index", "label"]].drop_duplicates().sort_values("label_index")
    if list(pairs["label_index"]) != list(range(len(pairs))):
        raise InputError(f"{SEGMENTS / 'manifest.csv'}: label_index must number the classes 0..K-1 with a clip each, "
                         f"got {sorted(set(pairs['label_index']))}")
    return tuple(pairs["label"])
