"""Berlin EMODB: everything about an utterance is encoded in its file name.

Expected layout, as the corpus is released: `root/wav/*.wav`, names like `03a01Fa.wav` = speaker 03,
text a01, emotion letter F (German initials: Wut, Langeweile, Ekel, Angst, Freude, Trauer, Neutral),
version a. The release has no label or speaker table, so the letters and the male speakers below come
from the corpus documentation. A name that does not parse is an error rather than skipped, because a
silently dropped file would change the class counts the paper reports. Hidden files (`._*` left by
macOS archivers) are not corpus files and are ignored. The text code (a01 ... b10, ten texts) is each clip's
`text`: every speaker says every text, in several emotions.
"""

import re

import pandas as pd

from ...infra.errors import InputError
from .wavinfo import duration

CLASSES = ["anger", "boredom", "fear", "happiness", "sadness", "disgust", "neutral"]
LETTERS = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
MALE_SPEAKERS = {"03", "10", "11", "12", "15"}
FILES = ("wav/*.wav",)  # what the loader reads, relative to the root: the corpus fingerprint covers exactly these
NAME = re.compile(r"(?P<speaker>\d{2})(?P<text>[ab]\d{2})(?P<letter>[A-Z])[a-z]\.wav")


def manifest(root):
    folder = root / "wav"
    if not folder.is_dir():
        raise InputError(f"{folder}: folder not found (EMODB expects its WAVs in wav/)")
    paths = sorted(p for p in folder.glob("*.wav") if p.is_file() and not p.name.startswith("."))
    if not paths:
        raise InputError(f"{folder}: no .wav files")
    return pd.DataFrame([row(root, path) for path in paths])


def row(root, path):
    match = NAME.fullmatch(path.name)
    if not match:
        raise InputError(f"{path}: not an EMODB file name (expected like 03a01Fa.wav)")
    speaker, letter = match["speaker"], match["letter"]
    if letter not in LETTERS:
        raise InputError(f"{path}: unknown EMODB emotion letter {letter!r} (expected one of {' '.join(LETTERS)})")
    return {
        "id": path.stem,
        "speaker": speaker,
        "gender": "m" if speaker in MALE_SPEAKERS else "f",
        "session": "",
        "text": match["text"],
        "label": LETTERS[letter],
        "source": path.relative_to(root).as_posix(),
        "duration_s": duration(path),
    }
