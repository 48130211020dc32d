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


def write_all(root, files, sr):
    """Write `root/<path>` for each {path: seconds}, all at one rate; returns the paths written."""
    return [write_wav(root / path, seconds, sr) for path, seconds in files.items()]


MACOS_FORK = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "  # what `._*` and __MACOSX/ entries hold

# RAVDESS as its speech and song zips unpack into one folder (48 kHz): speech files of every emotion, odd (male)
# and even (female) actors, and song files (vocal channel 02) mixed into the same Actor_XX folders.
RAVDESS_SPEECH = {
    "Actor_01/03-01-01-01-01-01-01.wav": 0.5,
    "Actor_01/03-01-05-02-02-01-01.wav": 0.75,
    "Actor_02/03-01-02-01-01-02-02.wav": 0.5,
    "Actor_02/03-01-08-02-02-02-02.wav": 0.25,
    "Actor_11/03-01-03-01-02-01-11.wav": 0.5,
    "Actor_11/03-01-04-02-01-02-11.wav": 1.0,
    "Actor_24/03-01-06-01-01-01-24.wav": 0.5,
    "Actor_24/03-01-07-02-02-02-24.wav": 0.25,
}
RAVDESS_SONG = {"Actor_02/03-02-03-01-01-01-02.wav": 0.5, "Actor_24/03-02-06-02-02-02-24.wav": 0.5}


def make_ravdess(root):
    wavs = write_all(root, {**RAVDESS_SPEECH, **RAVDESS_SONG}, 48000)
    (root / "__MACOSX" / "Actor_01").mkdir(parents=True)
    (root / "__MACOSX" / "Actor_01" / "._03-01-01-01-01-01-01.wav").write_bytes(MACOS_FORK)
    (root / "Actor_01" / "._03-01-05-02-02-01-01.wav").write_bytes(MACOS_FORK)
    return wavs


# CREMA-D's release (16 kHz): AudioWAV/ beside the same clips as MP3 and the actors' table; 1076_MTI_SAD_XX is the
# clip the README says has no audio.
CREMAD_WAV = {
    "AudioWAV/1001_DFA_ANG_XX.wav": 0.5,
    "AudioWAV/1001_IEO_HAP_HI.wav": 0.75,
    "AudioWAV/1002_ITS_NEU_XX.wav": 0.5,
    "AudioWAV/1002_IEO_SAD_LO.wav": 0.25,
    "AudioWAV/1076_WSI_FEA_XX.wav": 0.5,
    "AudioWAV/1091_TSI_DIS_XX.wav": 1.0,
    "AudioWAV/1091_IEO_FEA_MD.wav": 0.5,
}
CREMAD_DEMOGRAPHICS = """ActorID,Age,Sex,Race,Ethnicity
1001,51,Male,Caucasian,Not Hispanic
1002,21,Female,Caucasian,Not Hispanic
1003,21,Female,Caucasian,Not Hispanic
1076,25,Male,African American,Not Hispanic
1091,29,Female,Asian,Not Hispanic
"""


def make_cremad(root):
    wavs = write_all(root, CREMAD_WAV, 16000)
    write_wav(root / "AudioWAV" / "1076_MTI_SAD_XX.wav", 0.01)
    (root / "VideoDemographics.csv").write_text(CREMAD_DEMOGRAPHICS)
    (root / "AudioMP3").mkdir()
    for path in CREMAD_WAV:
        (root / "AudioMP3" / path.split("/")[1].replace(".wav", ".mp3")).write_bytes(b"ID3\x03\x00")
    (root / "tabulatedVotes.csv").write_text(",A,D,F,H,N,S,fileName,numResponses,agreement,emoVote\n")
    return wavs


# TESS as Kaggle shares it (24414 Hz): folder names whose case and wording differ, the label in the file name.
TESS_DIR = "TESS Toronto emotional speech set data"
TESS = {
    f"{TESS_DIR}/OAF_angry/OAF_back_angry.wav": 0.5,
    f"{TESS_DIR}/OAF_disgust/OAF_bean_disgust.wav": 0.25,
    f"{TESS_DIR}/OAF_Fear/OAF_chalk_fear.wav": 0.5,
    f"{TESS_DIR}/OAF_happy/OAF_dime_happy.wav": 0.75,
    f"{TESS_DIR}/OAF_Pleasant_surprise/OAF_goose_ps.wav": 0.5,
    f"{TESS_DIR}/OAF_Sad/OAF_wife_sad.wav": 1.0,
    f"{TESS_DIR}/OAF_neutral/OAF_youth_neutral.wav": 0.5,
    f"{TESS_DIR}/YAF_angry/YAF_back_angry.wav": 0.25,
    f"{TESS_DIR}/YAF_fear/YAF_chalk_fear.wav": 0.5,
    f"{TESS_DIR}/YAF_pleasant_surprised/YAF_goose_ps.wav": 0.5,
    f"{TESS_DIR}/YAF_sad/YAF_wife_sad.wav": 0.75,
    f"{TESS_DIR}/YAF_neutral/YAF_youth_neutral.wav": 0.5,
}


def make_tess(root):
    wavs = write_all(root, TESS, 24414)
    (root / f"{TESS_DIR}/OAF_Sad/._OAF_wife_sad.wav").write_bytes(MACOS_FORK)
    return wavs


# SAVEE's AudioData (44.1 kHz): one folder per speaker, names <code><NN> that repeat across speakers, sa and su.
SAVEE = {
    "AudioData/DC/a01.wav": 0.5,
    "AudioData/DC/sa01.wav": 0.75,
    "AudioData/DC/su01.wav": 0.5,
    "AudioData/JE/a01.wav": 0.25,
    "AudioData/JE/d02.wav": 0.5,
    "AudioData/JE/n30.wav": 1.0,
    "AudioData/JK/f15.wav": 0.5,
    "AudioData/JK/h01.wav": 0.5,
    "AudioData/KL/sa15.wav": 0.25,
    "AudioData/KL/su03.wav": 0.5,
}


def make_savee(root):
    return write_all(root, SAVEE, 44100)


# A corpus described by a CSV table, as nkululeko users write them: ./ prefixes, genders spelled out or not,
# sessions, and a WAV the table does not name (not part of the corpus).
TABLE_WAV = {"clips/s1/a.wav": 0.5, "clips/s1/b.wav": 0.75, "clips/s2/c.wav": 0.25, "clips/s2/d.wav": 0.5,
             "clips/s3/e.wav": 1.0, "clips/unused.wav": 0.5}
TABLE_CSV = """file,emotion,speaker,gender,session
./clips/s1/a.wav,happy,s1,female,A
clips/s1/b.wav,angry,s1,female,A
clips/s2/c.wav,sad,s2,M,A
clips/s2/d.wav,happy,s2,m,B
clips/s3/e.wav,neutral,s3,,B
"""


def make_table(root, text=TABLE_CSV, name="labels.csv"):
    wavs = write_all(root, TABLE_WAV, 16000)
    (root / name).write_text(text)
    return wavs
