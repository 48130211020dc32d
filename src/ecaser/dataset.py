"""The on-disk arrays the stages hand each other: segments (audio + manifest) and feature files.

Every array is a memory-mappable .npy whose rows follow manifest.csv, so training reads only the rows
of the current batch and any number of STFT versions can be combined without copying them into memory.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import atomic, audio, corpora, features
from .errors import InputError

SEGMENTS = Path("data/segments")
FEATURES = Path("data/features")


def segment_corpus(data, out_dir=SEGMENTS):
    """Manifest and fixed-length mono segments of the whole corpus named by the `data` params."""
    rows = corpora.manifest(data["corpus"], data["root"], data["seed"], data["synthetic_size"])
    if rows.empty:
        raise InputError(f"{data['root'] or data['corpus']}: the corpus has no utterances")
    sr = data["sample_rate"]
    length = round(data["segment_s"] * sr)
    out_dir = Path(out_dir)
    with atomic.open_npy(out_dir / "audio.npy", (len(rows), length), np.float32) as segments:
        for i, row in enumerate(tqdm(rows.itertuples(), total=len(rows), desc="segment", unit="clip", disable=None)):
            x, rate = corpora.load(data["corpus"], data["root"], row, data["seed"])
            segments[i] = audio.segment(x, rate, sr, length, row.source)
        atomic.save_csv(out_dir / "manifest.csv", rows)
    return rows


def load_manifest(path=SEGMENTS / "manifest.csv"):
    """The manifest with ids, speakers and sessions kept as strings ('03' stays '03', '' stays '')."""
    text = {c: str for c in ("id", "speaker", "gender", "session", "label", "source")}
    return pd.read_csv(path, dtype=text, keep_default_na=False)


def load_audio(path=SEGMENTS / "audio.npy"):
    return np.load(path, mmap_mode="r")


def feature_path(version):
    return FEATURES / f"{version}.npy"


def compute_features(version, settings, batch_size):
    """Log-Mel features of every segment for one STFT version, written as float16 [N, n_mels, T]."""
    clips = load_audio()
    shape = (len(clips), settings["n_mels"], features.frames(clips.shape[1], settings["hop_length"]))
    with atomic.open_npy(feature_path(version), shape, np.float16) as array:
        features.compute(clips, array, settings, batch_size, desc=f"stft {version}")


def load_features(version, n_rows, path=None, stage=None):
    """A version's features, memory-mapped, refusing a file that does not belong to the manifest."""
    path = Path(path or feature_path(version))
    if not path.is_file():
        raise InputError(f"{path}: features not found (run `dvc repro {stage or f'stft@{version}'}`)")
    array = np.load(path, mmap_mode="r")
    if array.ndim != 3 or array.shape[0] != n_rows:
        raise InputError(f"{path}: shape {array.shape} does not match the manifest's {n_rows} utterances")
    return array
