"""RAVDESS, its speech part: `Actor_01` ... `Actor_24/03-01-EE-II-SS-RR-AA.wav`, everything in the file name.

The seven fields, from the release's own description: modality (03 = audio only), vocal channel (01 = speech,
02 = song), emotion (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised),
intensity (01 normal, 02 strong; neutral has no strong take), statement (01, 02), repetition (01, 02) and actor
(01-24; odd actors are male, even ones female). The song zip unpacks into the same Actor_XX folders, so its
files (vocal channel 02) are read, left out, and counted. The Actor_XX folders are found at any depth, since
copies differ in their wrapper folder (`Audio_Speech_Actors_01-24/`); a copy holding them twice is refused.
The statement field (01 "Kids are talking by the door", 02 "Dogs are sitting by the door") is each clip's `text`.
"""

import re

import pandas as pd

from ...infra.errors import InputError
from . import tree
from .wavinfo import duration

CLASSES = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
FILES = ("**/Actor_[0-9][0-9]/*.wav",)  # what the loader reads, relative to the root: the fingerprint's files
NAME = re.compile(r"03-(?P<channel>0[12])-(?P<emotion>0[1-8])-(?P<intensity>0[12])-(?P<statement>0[12])-0[12]-(?P<actor>\d{2})\.wav")
SONG = "song files (vocal channel 02)"


def manifest(root):
    paths = tree.one_copy(tree.find(root, FILES), root, "RAVDESS")
    if not paths:
        raise InputError(f"{root}: no Actor_XX/*.wav files (RAVDESS unpacks to Actor_01 ... Actor_24)")
    rows = [row(root, path) for path in paths]
    speech = pd.DataFrame([r for r in rows if r])
    if speech.empty:
        raise InputError(f"{root}: only song files (vocal channel 02), no speech: unpack the speech zip")
    speech.attrs["left_out"] = {SONG: rows.count(None)}
    return speech


def row(root, path):
    """The file's manifest row; None for a song file."""
    match = NAME.fullmatch(path.name)
    if not match or (match["emotion"] == "01" and match["intensity"] == "02") or not 1 <= int(match["actor"]) <= 24:
        raise InputError(f"{path}: not a RAVDESS audio file name (expected like 03-01-05-02-01-02-11.wav: audio "
                         "only, speech or song, emotion 01-08, intensity 01-02 (neutral: 01), statement, repetition, "
                         "actor 01-24)")
    actor = match["actor"]
    if path.parent.name != f"Actor_{actor}":
        raise InputError(f"{path}: the name says actor {actor}, the folder {path.parent.name}")
    if match["channel"] == "02":
        return None
    return {
        "id": path.stem,
        "speaker": actor,
        "gender": "m" if int(actor) % 2 else "f",
        "session": "",
        "text": match["statement"],
        "label": CLASSES[int(match["emotion"]) - 1],
        "source": path.relative_to(root).as_posix(),
        "duration_s": duration(path),
    }
