"""Make docs/predict_timeline.png, the README's picture of `ecaser predict --plot`.

    python docs/predict_timeline.py                          # with models/eca_augmented.pt, the final model
    python docs/predict_timeline.py --model models/eca.pt    # the model without augmentation

Run in the repository root after `dvc repro segment`: it takes one clip per emotion from data/segments/ (the
synthetic corpus by default), trims the zeros segmentation padded them with, and joins them into one recording,
with half a second between clips and 4 s after the third, so that the picture shows a silent stretch too.
The clips are in the model's training folds: the picture shows what the command draws, not how well it scores.
"""

import argparse
import os
import tempfile
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from ecaser.data import dataset
from ecaser.commands.cli import MODEL, main

EMOTIONS = ["anger", "sadness", "happiness", "neutral", "fear", "boredom"]
PAUSES_S = [0.5, 0.5, 4.0, 0.5, 0.5, 0.0]  # after each clip
SR = 16000


def recording(manifest, clips):
    """The joined samples, and what is where: (emotion, start s, end s) per clip."""
    parts, where, at = [], [], 0
    for emotion, pause in zip(EMOTIONS, PAUSES_S):
        clip, _ = librosa.effects.trim(np.asarray(clips[manifest.index[manifest["label"] == emotion][0]]), top_db=60)
        parts += [clip, np.zeros(round(pause * SR), np.float32)]
        where.append((emotion, at / SR, (at + len(clip)) / SR))
        at += len(clip) + round(pause * SR)
    return np.concatenate(parts), where


def run():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=MODEL, help="default: %(default)s")
    args = p.parse_args()
    y, where = recording(dataset.load_manifest(), dataset.load_audio())
    print("  ".join(f"{emotion} {start:.1f}-{end:.1f} s" for emotion, start, end in where))
    model, out = Path(args.model).resolve(), Path("docs/predict_timeline.png").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # so that the picture's title names the file and the model as a user's would, not temp paths
        sf.write("six_emotions.wav", y, SR)
        Path("models").mkdir()
        Path("models", model.name).symlink_to(model)
        main(["predict", "six_emotions.wav", "--model", f"models/{model.name}", "--timeline", "--plot", str(out)])


if __name__ == "__main__":
    run()
