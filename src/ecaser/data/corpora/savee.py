"""SAVEE: `AudioData/<speaker>/<code><NN>.wav`, four male speakers (DC, JE, JK, KL), file names reused by each.

Codes, from the corpus's documentation: a anger, d disgust, f fear, h happiness, n neutral, sa sadness,
su surprise (15 sentences per emotion per speaker, 30 neutral). The code is the name with its digits stripped:
a first-letter parse would read sa and su as s. The speaker is the folder, and ids are `<speaker>_<stem>`
(DC_a01) because the stems repeat across speakers. The stem (a01, sa01: code and number) is each clip's `text`: the
corpus's notes say one stem names the same sentence for every speaker. Which of an emotion's 15 sentences are the
ones common to all emotions the name does not say, so two stems of different emotions may share their words
unseen: a text-independent split of SAVEE keeps apart what the names tell, no more.
"""

import re

import pandas as pd

from ...infra.errors import InputError
from . import tree
from .wavinfo import duration

CLASSES = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"]
CODES = dict(zip(("a", "d", "f", "h", "n", "sa", "su"), CLASSES))
SPEAKERS = ("DC", "JE", "JK", "KL")
FILES = ("AudioData/*/*.wav",)  # what the loader reads, relative to the root: the fingerprint's files
NAME = re.compile(rf"(?P<code>{'|'.join(sorted(CODES, key=len, reverse=True))})\d{{2}}\.wav")


def manifest(root):
    folder = root / "AudioData"
    if not folder.is_dir():
        raise InputError(f"{folder}: folder not found (SAVEE keeps its WAVs in AudioData/<speaker>/)")
    paths = tree.find(root, FILES)
    if not paths:
        raise InputError(f"{folder}: no <speaker>/*.wav files")
    return pd.DataFrame([row(root, path) for path in paths])


def row(root, path):
    speaker = path.parent.name
    if speaker not in SPEAKERS:
        raise InputError(f"{path}: {speaker!r} is not a SAVEE speaker (expected one of {' '.join(SPEAKERS)})")
    match = NAME.fullmatch(path.name)
    if not match:
        raise InputError(f"{path}: not a SAVEE file name (expected like sa01.wav: one of {' '.join(CODES)}, then "
                         "two digits)")
    return {
        "id": f"{speaker}_{path.stem}",
        "speaker": speaker,
        "gender": "m",
        "session": "",
        "text": path.stem,
        "label": CODES[match["code"]],
        "source": path.relative_to(root).as_posix(),
        "duration_s": duration(path),
    }
