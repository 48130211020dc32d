"""`ecaser predict` on a long recording: windows per second with several windows per forward pass against one
at a time, and what an hour of audio costs, on one thread. A window's cost is its log-Mel and a forward pass of
every fold model; the figures include reading the WAV and finding its silences.

The model is params.yaml's proposed one (model.channel_scale, eca.*, cv.folds fold models, STFT model.version,
data.segment_s) with random weights, saved by models.bundle.save as training saves it. The recording is a WAV of
MINUTES of noise bursts and pauses at 16 kHz, so that reading, silence detection and windowing are timed with
the model, at predict's default hop of half a window. The machine is shared and noisy, so the batch sizes are
timed in alternating rounds and each figure is the median. A second table is the paper's n = 4 model with 5
folds, on a shorter recording, at predict.BATCH only.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ecaser.data import corpora
from ecaser import models
from ecaser.models.bundle import save as save_model
from ecaser.infra import params
from ecaser.commands import predict
from table import show

MINUTES, PAPER_MINUTES, SR, ROUNDS = 10, 2, 16000, 2
BATCHES = [1, predict.BATCH, 64]  # 1: one window at a time, each fold a forward pass per window


def recording(path, minutes):
    """Bursts of noise of 0.5 to 4 s with pauses of 0.2 to 5 s, written to path."""
    rng, parts = np.random.default_rng(0), []
    while sum(map(len, parts)) < minutes * 60 * SR:
        parts += [0.1 * rng.standard_normal(round(rng.uniform(0.5, 4) * SR)), np.zeros(round(rng.uniform(0.2, 5) * SR))]
    sf.write(path, np.concatenate(parts)[: minutes * 60 * SR].astype(np.float32), SR)


def bundle(path, p, channel_scale, n_folds):
    torch.manual_seed(0)
    spec = models.cnn(corpora.classes(corpora.data(p)["corpus"]), channel_scale, params.get(p, "model.base_channels"),
                      "eca", params.get(p, "eca.blocks"), params.get(p, "eca.kernel"))
    stft = params.stft_version(p, params.get(p, "model.version"))
    folds = [{"state_dict": spec.build().state_dict(), "mean": [torch.full((stft["n_mels"], 1), -40.0)],
              "std": [torch.full((stft["n_mels"], 1), 15.0)]} for _ in range(n_folds)]
    save_model(path, spec, folds, stft, params.get(p, "data.segment_s"), "benchmark", params.get(p, "model.version"))
    return predict.Predictor(path)


def timed(predictor, wav, batch):
    start = time.perf_counter()
    result = predictor(wav, batch=batch)
    return time.perf_counter() - start, len(result["windows"])


def row(name, seconds, windows, minutes):
    return [name, f"{windows / seconds:.0f}", f"{seconds:.1f}", f"{seconds * 60 / minutes:.0f}"]


def main():
    torch.set_num_threads(1)
    p = params.load()
    n, n_folds = params.get(p, "model.channel_scale"), params.get(p, "cv.folds")
    header = ["windows per forward pass", "windows/s", "seconds", "seconds per hour of audio"]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        recording(folder / "long.wav", MINUTES)
        predictor = bundle(folder / "model.pt", p, n, n_folds)
        timed(predictor, folder / "long.wav", predict.BATCH)  # warm-up
        times = {batch: [] for batch in BATCHES}
        for _ in range(ROUNDS):
            for batch in BATCHES:
                times[batch].append(timed(predictor, folder / "long.wav", batch))
        show(f"predict, {MINUTES} min of audio, n = {n}, {n_folds} folds, 1 thread, median of {ROUNDS} rounds",
             header, [row(f"{batch}" + (" (predict.BATCH)" if batch == predict.BATCH else ""),
                          np.median([t for t, _ in runs]), runs[0][1], MINUTES) for batch, runs in times.items()])

        recording(folder / "short.wav", PAPER_MINUTES)
        paper = bundle(folder / "paper.pt", p, 4, 5)
        seconds, windows = timed(paper, folder / "short.wav", predict.BATCH)
        show(f"predict, {PAPER_MINUTES} min of audio, the paper's n = 4, 5 folds, 1 thread, one run", header,
             [row(f"{predict.BATCH} (predict.BATCH)", seconds, windows, PAPER_MINUTES)])


if __name__ == "__main__":
    main()
