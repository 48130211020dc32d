"""What the corpus stage costs on a tree of IEMOCAP's size: 2,943 improvised turns in the real layout.

The `corpus` stage runs at every `dvc repro`, so its cost is paid even when nothing changed. It is timed here
on 2,943 16 kHz WAVs of 4.5 s on average (IEMOCAP's improvised turns; about 420 MB) with both digests: `content`
(MD5 of every byte) and `stat` (size and mtime, no reading). The files were just written, so they are in the
page cache, as an often-read corpus is; a cold disk adds its read time to `content` only.
"""

import tempfile
import time
from pathlib import Path

import numpy as np

from ecaser.data import fingerprint
from table import show

TURNS, SESSIONS, SR = 2943, 5, 16000


def tree(root):
    rng = np.random.default_rng(0)
    seconds = rng.uniform(1.5, 7.5, TURNS)  # mean 4.5 s
    for i, s in enumerate(seconds):
        session = i % SESSIONS + 1
        dialog = f"Ses0{session}F_impro{i % 7 + 1:02d}"
        path = root / f"Session{session}/sentences/wav/{dialog}/{dialog}_F{i:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = b"RIFF" + b"\0" * 40  # the digest reads bytes, so any content of the real size will do
        path.write_bytes(header + rng.integers(-2000, 2000, round(s * SR), dtype=np.int16).tobytes())
    for session in range(1, SESSIONS + 1):
        labels = root / f"Session{session}/dialog/EmoEvaluation"
        labels.mkdir(parents=True, exist_ok=True)
        (labels / f"Ses0{session}F_impro01.txt").write_text("% header\n")
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main():
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        size = tree(root)
        rows = []
        for method in fingerprint.METHODS:
            times = []
            for _ in range(3):
                start = time.perf_counter()
                lines = fingerprint.lines("iemocap", root, method)
                times.append(time.perf_counter() - start)
            rows.append([method, len(lines) - 1, f"{np.median(times):.2f}"])
    show(f"corpus fingerprint of {TURNS:,} WAVs + label files ({size / 1e6:.0f} MB, page cache warm), median of 3",
         ["digest", "files", "seconds"], rows)


if __name__ == "__main__":
    main()
