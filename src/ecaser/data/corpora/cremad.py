"""CREMA-D: `AudioWAV/AAAA_SSS_EEE_LL.wav`, with each actor's sex in the release's `VideoDemographics.csv`.

Name fields, from the release's README: actor (1001-1091), sentence (12 codes), emotion (ANG anger, DIS disgust,
FEA fear, HAP happy, NEU neutral, SAD sad), level (LO, MD, HI, XX unspecified). Only the basename is parsed, so
a root whose path holds underscores is harmless. The README says 1076_MTI_SAD_XX has no audio, so it is left
out by name and named in the count of left-out files (its WAV has a header and a length, so no silence test
would be safe). `AudioMP3/` and `VideoFlash/` hold the same clips in other formats and are not read. The sentence
code (IEO, TIE, ...; every actor reads all 12) is each clip's `text`.
"""

import csv
import re

import pandas as pd

from ...infra.errors import InputError
from . import tree
from .wavinfo import duration

CLASSES = ["anger", "disgust", "fear", "happy", "neutral", "sad"]
EMOTIONS = dict(zip(("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"), CLASSES))
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
DEMOGRAPHICS = "VideoDemographics.csv"
FILES = ("AudioWAV/*.wav", DEMOGRAPHICS)  # what the loader reads, relative to the root: the fingerprint's files
NAME = re.compile(rf"(?P<actor>\d{{4}})_(?P<sentence>{'|'.join(SENTENCES)})_(?P<emotion>{'|'.join(EMOTIONS)})_(?:LO|MD|HI|XX)\.wav")
NO_AUDIO = ("1076_MTI_SAD_XX",)  # the README: "no audio"
SEX = {"Male": "m", "Female": "f"}


def manifest(root):
    folder = root / "AudioWAV"
    if not folder.is_dir():
        raise InputError(f"{folder}: folder not found (CREMA-D keeps its WAVs in AudioWAV/)")
    paths = tree.find(root, FILES[:1])
    if not paths:
        raise InputError(f"{folder}: no .wav files")
    sex = demographics(root / DEMOGRAPHICS)
    rows = pd.DataFrame([row(root, path, sex) for path in paths if path.stem not in NO_AUDIO])
    silent = [p.name for p in paths if p.stem in NO_AUDIO]
    if silent:
        rows.attrs["left_out"] = {f"file{'s' * (len(silent) > 1)} without audio, as the release's README says "
                                  f"({', '.join(silent)})": len(silent)}
    return rows


def demographics(path):
    """{actor: "f" or "m"} from the release's table of actors (ActorID, Age, Sex, Race, Ethnicity)."""
    if not path.is_file():
        raise InputError(f"{path}: not found (CREMA-D's actors' sex is read from it)")
    with open(path, newline="", encoding="utf-8-sig") as f:
        table = list(csv.DictReader(f))
    if not table or not {"ActorID", "Sex"} <= set(table[0]):
        raise InputError(f"{path}: expected the columns ActorID and Sex")
    sex = {}
    for line, entry in enumerate(table, start=2):
        if entry["Sex"] not in SEX:
            raise InputError(f"{path}, line {line}: Sex must be Male or Female, got {entry['Sex']!r}")
        sex[entry["ActorID"]] = SEX[entry["Sex"]]
    return sex


def row(root, path, sex):
    match = NAME.fullmatch(path.name)
    if not match:
        raise InputError(f"{path}: not a CREMA-D file name (expected like 1001_DFA_ANG_XX.wav: actor, one of the "
                         "12 sentence codes, ANG DIS FEA HAP NEU or SAD, LO MD HI or XX; older copies misname "
                         "1040_ITH_SAD_XX.wav as 1040_ITH_SAD_X.wav)")
    actor = match["actor"]
    if actor not in sex:
        raise InputError(f"{path}: actor {actor} is not in {DEMOGRAPHICS}")
    return {
        "id": path.stem,
        "speaker": actor,
        "gender": sex[actor],
        "session": "",
        "text": match["sentence"],
        "label": EMOTIONS[match["emotion"]],
        "source": path.relative_to(root).as_posix(),
        "duration_s": duration(path),
    }
