"""Tiny corpus trees in the real releases' layouts and naming, for the loader tests and later stages.

Each WAV is a quiet tone plus noise, seeded from its file name so every run writes the same bytes, and
exactly round(seconds * sr) frames long so tests can state durations by hand. Real EMODB and IEMOCAP are
16 kHz mono; the trees also hold a stereo and a 44.1 kHz file because the segment stage must cope with both.
"""

import zlib

import numpy as np


def write_wav(path, seconds, sr=16000, channels=1):
    import soundfile as sf  # here, not above: conftest imports this module, and a bare CUDA image has no soundfile

    frames = round(seconds * sr)
    rng = np.random.default_rng(zlib.crc32(path.name.encode()))
    t = np.arange(frames) / sr
    tone = np.stack([0.1 * np.sin(2 * np.pi * 220 * (c + 1) * t) for c in range(channels)], axis=1)
    x = (tone + 0.01 * rng.standard_normal((frames, channels))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x if channels > 1 else x[:, 0], sr)
    return path


def make_emodb(root, names, sr=16000, seconds=0.5, channels=1):
    """Write `root/wav/<name>` for each name, all in one format; returns the paths written."""
    return [write_wav(root / "wav" / name, seconds, sr, channels) for name in names]


# The iemocap_root tree. dialog -> its turns as (turn name, label code, seconds), in file order. Kept:
# improvised dialogs with ang/sad/hap/exc/neu; the others are there to be dropped. Dialog letters and turn
# letters disagree on purpose (Ses01M_impro03_F000 is spoken by the woman).
IEMOCAP_DIALOGS = {
    "Ses01F_impro01": [
        ("Ses01F_impro01_F000", "neu", 0.5),
        ("Ses01F_impro01_M000", "fru", 0.4),
        ("Ses01F_impro01_M001", "ang", 1.25),
        ("Ses01F_impro01_F001", "xxx", 0.6),
        ("Ses01F_impro01_F002", "exc", 0.8),
    ],
    "Ses01M_impro03": [
        ("Ses01M_impro03_F000", "sad", 1.5),
        ("Ses01M_impro03_M000", "hap", 0.3),
        ("Ses01M_impro03_M001", "sur", 0.7),
    ],
    "Ses01F_script01_1": [
        ("Ses01F_script01_1_F000", "neu", 0.9),
        ("Ses01F_script01_1_M000", "ang", 1.1),
    ],
    "Ses02F_impro02": [
        ("Ses02F_impro02_F000", "ang", 1.0),
        ("Ses02F_impro02_M000", "neu", 0.75),
        ("Ses02F_impro02_M001", "oth", 0.5),
    ],
    "Ses02M_impro06": [
        ("Ses02M_impro06_M000", "sad", 2.0),
        ("Ses02M_impro06_F000", "fea", 0.45),
        ("Ses02M_impro06_F001", "exc", 0.35),
        ("Ses02M_impro06_M001", "dis", 0.55),
    ],
    "Ses02M_script02_2": [
        ("Ses02M_script02_2_F000", "hap", 1.2),
        ("Ses02M_script02_2_M000", "exc", 0.6),
    ],
}
# turn -> (sample rate, channels) where it differs from the release's 16 kHz mono
IEMOCAP_FORMATS = {"Ses02F_impro02_F000": (16000, 2), "Ses02F_impro02_M000": (44100, 1)}


def iemocap_session(dialog):
    return f"Session{int(dialog[3:5])}"


def emo_evaluation(turns):
    """A label file as the release writes it: header, then each turn's line and its annotators' lines."""
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    start = 6.2901
    for turn, label, seconds in turns:
        actor = turn.rsplit("_", 1)[1][0]
        lines += [
            f"[{start:.4f} - {start + seconds:.4f}]\t{turn}\t{label}\t[2.5000, 2.5000, 2.5000]",
            "C-E2:\tNeutral;\t()",
            "C-E3:\tFrustration; Anger;\t()",
            f"C-{actor}1:\tNeutral;\t(curious)",
            "A-E3:\tval 3; act 2; dom  2;\t()",
            "A-E4:\tval 2; act 3; dom  3;\t(mildly aggravated but staying polite, attitude)",
            f"A-{actor}1:\tval 2; act 1; dom  3;\t()",
            "",
        ]
        start += seconds + 1.5
    return "\n".join(lines) + "\n"


def make_iemocap(root):
    """Write the iemocap_root tree (IEMOCAP_DIALOGS) with the release's side files; returns the WAVs written."""
    wavs = []
    for dialog, turns in IEMOCAP_DIALOGS.items():
        session = root / iemocap_session(dialog)
        labels = session / "dialog" / "EmoEvaluation"
        for sub in ("Categorical", "Attribute", "Self-evaluation"):
            (labels / sub).mkdir(parents=True, exist_ok=True)
        (labels / f"{dialog}.txt").write_text(emo_evaluation(turns))
        # annotators' own files and macOS debris, which the loader must not read as label files
        (labels / "Categorical" / f"{dialog}_e2_cat.txt").write_text(
            "".join(f"{turn} :Neutral state; ()\n" for turn, _, _ in turns)
        )
        (labels / "Attribute" / f"{dialog}_e3_atr.txt").write_text(
            "".join(f"{turn} :act 2; :val 3; :dom  2; ()\n" for turn, _, _ in turns)
        )
        (labels / "Self-evaluation" / f"{dialog}_f{dialog[4]}.anvil").write_text("<annotation></annotation>\n")
        (labels / f"._{dialog}.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
        (session / "dialog" / "transcriptions").mkdir(parents=True, exist_ok=True)
        (session / "dialog" / "transcriptions" / f"{dialog}.txt").write_text(
            "".join(f"{turn} [006.2901-008.2357]: Excuse me.\n" for turn, _, _ in turns)
        )
        for turn, _, seconds in turns:
            sr, channels = IEMOCAP_FORMATS.get(turn, (16000, 1))
            wavs.append(write_wav(session / "sentences" / "wav" / dialog / f"{turn}.wav", seconds, sr, channels))
    return wavs
