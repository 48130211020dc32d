"""Log-Mel throughput: the `stft` stage's batched torch path against a plain per-clip librosa loop.

Both compute the same features (librosa.feature.melspectrogram + power_to_db(ref=1, amin=1e-10,
top_db=None), same n_fft / hop / window) on the same 200 random 3 s clips at 16 kHz, for the shortest
(v1) and longest (v8) window of params.yaml. The machine is shared and noisy, so the two paths are timed
in alternating rounds in one process and the headline is their ratio, not either absolute rate.
A second table times the first clip in a fresh process (interpreter start, imports, one clip), where
librosa pays numba's start-up and the torch path pays torch's import.
"""

import json
import subprocess
import sys
import time

import librosa
import numpy as np

from ecaser.infra import params
from table import show

SR, SECONDS, CLIPS, ROUNDS, COLD_RUNS = 16000, 3.0, 200, 3, 3
COLD_IMPORTS = {"torch_path": "import ecaser.data.features", "librosa_path": "import librosa"}  # before the clock


def torch_path(audio, s):
    from ecaser.data import features

    out = np.empty((len(audio), s["n_mels"], features.frames(audio.shape[1], s["hop_length"])), np.float32)
    return features.compute(audio, out, s, device_name="cpu")


def librosa_path(audio, s):
    return np.stack([
        librosa.power_to_db(
            librosa.feature.melspectrogram(
                y=clip, sr=s["sample_rate"], n_fft=s["n_fft"], hop_length=s["hop_length"], win_length=s["win_length"],
                n_mels=s["n_mels"], center=True, pad_mode="constant", power=2.0),
            ref=1.0, amin=1e-10, top_db=None)
        for clip in audio
    ])


def seconds(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def cold(path, version):
    """[spawn to result, the child's imports, its first clip] in seconds, for one clip in a fresh interpreter."""
    code = (
        "import time; t0 = time.perf_counter(); import sys, json; sys.path.insert(0, 'benchmarks'); "
        f"import numpy as np; {COLD_IMPORTS[path]}; from ecaser.infra import params; from features import {path}; "
        f"s = params.stft_version(params.load(), '{version}'); "
        f"x = np.random.default_rng(0).standard_normal((1, {int(SR * SECONDS)}), np.float32); "
        f"t1 = time.perf_counter(); {path}(x, s); print(json.dumps([t1 - t0, time.perf_counter() - t1]))"
    )
    start = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return [time.perf_counter() - start, *json.loads(child.stdout)]


def main():
    p = params.load()
    audio = 0.1 * np.random.default_rng(0).standard_normal((CLIPS, int(SR * SECONDS)), np.float32)
    rows = []
    for version in ("v1", "v8"):
        s = params.stft_version(p, version)
        diff = float(np.abs(torch_path(audio, s) - librosa_path(audio, s)).max())  # warm-up, and same features
        times = {torch_path: [], librosa_path: []}
        for _ in range(ROUNDS):
            for fn in times:
                times[fn].append(seconds(fn, audio, s))
        t, l = (CLIPS / np.median(times[fn]) for fn in (torch_path, librosa_path))
        rows.append([version, f"{s['win_length']}/{s['hop_length']}/{s['n_fft']}", f"{t:.0f}", f"{l:.0f}",
                     f"{t / l:.1f}x", f"{diff:.1e}"])
    show(f"log-Mel, {CLIPS} random clips of {SECONDS:g} s, median of {ROUNDS} alternating rounds (clips/s)",
         ["version", "win/hop/n_fft", "torch batched", "librosa loop", "torch/librosa", "max |diff| dB"], rows)

    runs = {path: [] for path in COLD_IMPORTS}
    for _ in range(COLD_RUNS):
        for path in runs:
            runs[path].append(cold(path, "v8"))
    show(f"first clip (v8) in a fresh process, median of {COLD_RUNS} alternating spawns (s)",
         ["path", "spawn to result", "imports", "first clip"],
         [[path, *(f"{x:.2f}" for x in np.median(r, axis=0))] for path, r in runs.items()])


if __name__ == "__main__":
    main()
