"""The `segment` stage's work: the corpus named by the data params -> fixed-length mono clips and their manifest."""

from pathlib import Path

import numpy as np

from ..infra import atomic, progress
from . import audio, corpora
from .dataset import SEGMENTS
from ..infra.errors import InputError


def write(data, out_dir=SEGMENTS):
    """Manifest and fixed-length mono segments of the whole corpus named by the `data` params."""
    rows = corpora.manifest(data["corpus"], data["root"], data["seed"], data["synthetic_size"], data["iemocap_set"],
                            data["csv"], data["classes"])
    if rows.empty:
        raise InputError(f"{data['root'] or data['corpus']}: the corpus has no utterances")
    sr = data["sample_rate"]
    length = round(data["segment_s"] * sr)
    out_dir = Path(out_dir)
    with atomic.open_npy(out_dir / "audio.npy", (len(rows), length), np.float32) as segments:
        for i, row in enumerate(progress.bar(rows.itertuples(), total=len(rows), desc="segment", unit="clip")):
            x, rate = corpora.load(data["corpus"], data["root"], row, data["seed"])
            segments[i] = audio.segment(x, rate, sr, length, row.source)
        atomic.save_csv(out_dir / "manifest.csv", rows)
    return rows
