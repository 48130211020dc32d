"""TESS: `<speaker>_<word>_<emotion>.wav` under folders whose names and case differ from copy to copy.

The folders (OAF_Fear, YAF_pleasant_surprised, OAF_Pleasant_surprise, ...) are not a reliable label, so the
label comes from the file name's last token, which is the same in every copy: angry, disgust, fear, happy,
neutral, ps (pleasant surprise), sad. The class names are the seven the corpus's description lists. Its two
speakers are women, aged 64 (OAF) and 26 (YAF). Every WAV under the root is read, at any depth; a copy that
holds the files twice (Kaggle's nests a second copy) is refused. The word (`OAF_back_angry` -> back, lower-cased;
200 words, both speakers say each in every emotion) is each clip's `text`.
"""

import re

import pandas as pd

from ...infra.errors import InputError
from . import tree
from .wavinfo import duration

CLASSES = ["anger", "disgust", "fear", "happiness", "pleasant_surprise", "sadness", "neutral"]
TOKENS = dict(zip(("angry", "disgust", "fear", "happy", "ps", "sad", "neutral"), CLASSES))
FILES = ("**/*.wav",)  # what the loader reads, relative to the root: the fingerprint's files
NAME = re.compile(rf"(?P<speaker>OAF|YAF)_(?P<word>[A-Za-z]+)_(?P<token>{'|'.join(TOKENS)})\.wav")


def manifest(root):
    paths = tree.one_copy(tree.find(root, FILES), root, "TESS")
    if not paths:
        raise InputError(f"{root}: no .wav files (TESS: <speaker>_<word>_<emotion>.wav in any folders)")
    return pd.DataFrame([row(root, path) for path in paths])


def row(root, path):
    match = NAME.fullmatch(path.name)
    if not match:
        raise InputError(f"{path}: not a TESS file name (expected like OAF_back_angry.wav: OAF or YAF, the word, "
                         f"then one of {' '.join(TOKENS)})")
    return {
        "id": path.stem,
        "speaker": match["speaker"],
        "gender": "f",
        "session": "",
        "text": match["word"].lower(),
        "label": TOKENS[match["token"]],
        "source": path.relative_to(root).as_posix(),
        "duration_s": duration(path),
    }
