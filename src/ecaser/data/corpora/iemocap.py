"""IEMOCAP, improvised sessions only, in the four classes the paper uses.

Expected layout, the release as distributed: `root/Session{1..5}/sentences/wav/<dialog>/<turn>.wav`, with
labels in `root/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt`. Only those `<dialog>.txt` files hold the
consensus label of each turn; EmoEvaluation's subfolders (Categorical/, Attribute/, Self-evaluation/) hold
single annotators' votes, and hidden `._*` files are macOS archive debris, so both are ignored. In a label
file only turn lines (`[start - end]<TAB>turn<TAB>label<TAB>[V, A, D]`) count: the header and the annotator
lines under each turn are skipped.

Like most IEMOCAP work, the paper keeps the improvised dialogs only and merges excited into happy; every
other label (frustration, surprise, fear, disgust, other, no agreement) is dropped. A turn's speaker is the
letter after the turn name's last underscore: the letter in the dialog name only says which actor wore the
motion-capture markers, and both actors speak in every dialog. A turn's text is its dialog's scenario, the dialog
name without the session prefix (`Ses01F_impro03_F012` -> impro03, `Ses01F_script01_1_M000` -> script01_1): every
session's pair plays the same improvisations and reads the same scripts. A take letter after the number
(impro05a, impro05b) is the same scenario and is dropped.
"""

import re

import pandas as pd

from ...infra.errors import InputError
from .wavinfo import duration

CLASSES = ["angry", "sad", "happy", "neutral"]
# what the loader reads, relative to the root: the corpus fingerprint covers exactly these
FILES = ("Session*/dialog/EmoEvaluation/*.txt", "Session*/sentences/wav/*/*.wav")
LABELS = {"ang": "angry", "sad": "sad", "hap": "happy", "exc": "happy", "neu": "neutral"}
TURN_LINE = re.compile(r"\[[^\]]*\]\s+(?P<turn>\S+)\s+(?P<label>\S+)\s+\[")
TURN_NAME = re.compile(r"(?P<session>Ses\d{2})[FM]_(?P<dialog>\w+)_(?P<gender>[FM])\d+")
TAKE = re.compile(r"(?<=\d)[a-z]$")  # impro05a, impro05b: takes of impro05


SETS = ("improvised", "full")  # full: improvised and scripted, the 5,531 turns the DS-LSTM's authors used


def manifest(root, kept="improvised"):
    if kept not in SETS:
        raise InputError(f"params: 'data.iemocap_set' must be one of {', '.join(SETS)}, got {kept!r}")
    sessions = sorted(p for p in root.glob("Session*") if p.is_dir())
    if not sessions:
        raise InputError(f"{root}: no Session* folders (expected the IEMOCAP release, Session1 ... Session5)")
    rows = [row for session in sessions for row in session_rows(root, session, kept == "full")]
    if not rows:
        which = "" if kept == "full" else "improvised "
        raise InputError(f"{root}: no {which}turns labelled {'/'.join(LABELS)} in Session*/dialog/EmoEvaluation/*.txt")
    return pd.DataFrame(rows)


def session_rows(root, session, scripted=False):
    """Rows of the session's kept turns: improvised dialogs (and scripted ones too), labels the paper uses."""
    folder = session / "dialog" / "EmoEvaluation"
    if not folder.is_dir():
        raise InputError(f"{folder}: folder not found (IEMOCAP keeps each session's labels there)")
    for labels in sorted(folder.glob("*.txt")):
        dialog = labels.stem
        if not labels.is_file() or labels.name.startswith(".") or not (scripted or "impro" in dialog):
            continue
        for turn, label in turns(labels):
            if label in LABELS:
                wav = session / "sentences" / "wav" / dialog / f"{turn}.wav"
                yield turn_row(root, labels, turn, LABELS[label], wav)


def turns(labels):
    """(turn name, label code) of each turn line in an EmoEvaluation file."""
    for line in labels.read_text(encoding="utf-8", errors="replace").splitlines():
        match = TURN_LINE.match(line)
        if match:
            yield match["turn"], match["label"]


def turn_row(root, labels, turn, label, wav):
    name = TURN_NAME.fullmatch(turn)
    if not name:
        raise InputError(f"{labels}: turn name {turn!r} is not like Ses01F_impro01_M003")
    if not wav.is_file():
        raise InputError(f"{wav}: WAV not found for turn {turn} labelled in {labels.name}")
    return {
        "id": turn,
        "speaker": name["session"] + name["gender"],
        "gender": name["gender"].lower(),
        "session": name["session"],
        "text": TAKE.sub("", name["dialog"]),
        "label": label,
        "source": wav.relative_to(root).as_posix(),
        "duration_s": duration(wav),
    }
