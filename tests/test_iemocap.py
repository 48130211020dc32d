import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from corpus_fixtures import write_wav

from ecaser.data import corpora
from ecaser.data.corpora import iemocap
from ecaser.infra.errors import InputError

COLUMNS = ["id", "speaker", "gender", "session", "text", "label", "source", "duration_s"]
WAV1 = "Session1/sentences/wav"
WAV2 = "Session2/sentences/wav"
# The iemocap_root fixture worked out by hand: improvised dialogs only, ang/sad/hap/exc/neu only, exc as happy,
# speaker and gender from the turn's own letter.
EXPECTED = pd.DataFrame(
    [
        ("Ses01F_impro01_F000", "Ses01F", "f", "Ses01", "impro01", "neutral",
         f"{WAV1}/Ses01F_impro01/Ses01F_impro01_F000.wav", 0.5),
        ("Ses01F_impro01_F002", "Ses01F", "f", "Ses01", "impro01", "happy",
         f"{WAV1}/Ses01F_impro01/Ses01F_impro01_F002.wav", 0.8),
        ("Ses01F_impro01_M001", "Ses01M", "m", "Ses01", "impro01", "angry",
         f"{WAV1}/Ses01F_impro01/Ses01F_impro01_M001.wav", 1.25),
        ("Ses01M_impro03_F000", "Ses01F", "f", "Ses01", "impro03", "sad",
         f"{WAV1}/Ses01M_impro03/Ses01M_impro03_F000.wav", 1.5),
        ("Ses01M_impro03_M000", "Ses01M", "m", "Ses01", "impro03", "happy",
         f"{WAV1}/Ses01M_impro03/Ses01M_impro03_M000.wav", 0.3),
        ("Ses02F_impro02_F000", "Ses02F", "f", "Ses02", "impro02", "angry",  # stereo
         f"{WAV2}/Ses02F_impro02/Ses02F_impro02_F000.wav", 1.0),
        ("Ses02F_impro02_M000", "Ses02M", "m", "Ses02", "impro02", "neutral",  # 44.1 kHz
         f"{WAV2}/Ses02F_impro02/Ses02F_impro02_M000.wav", 0.75),
        ("Ses02M_impro06_F001", "Ses02F", "f", "Ses02", "impro06", "happy",
         f"{WAV2}/Ses02M_impro06/Ses02M_impro06_F001.wav", 0.35),
        ("Ses02M_impro06_M000", "Ses02M", "m", "Ses02", "impro06", "sad",
         f"{WAV2}/Ses02M_impro06/Ses02M_impro06_M000.wav", 2.0),
    ],
    columns=COLUMNS,
)


def sorted_rows(rows):
    return rows.sort_values("id").reset_index(drop=True)


def test_manifest_rows(iemocap_root):
    rows = iemocap.manifest(iemocap_root)
    assert list(rows.columns) == COLUMNS
    pd.testing.assert_frame_equal(sorted_rows(rows), EXPECTED, check_exact=False, atol=1e-6, rtol=0)


def test_scripted_dialogs_and_other_labels_are_dropped(iemocap_root):
    ids = set(iemocap.manifest(iemocap_root)["id"])
    assert not {"Ses01F_script01_1_F000", "Ses01F_script01_1_M000", "Ses02M_script02_2_F000"} & ids
    dropped = ["Ses01F_impro01_M000", "Ses01F_impro01_F001", "Ses01M_impro03_M001", "Ses02F_impro02_M001"]
    assert not set(dropped + ["Ses02M_impro06_F000", "Ses02M_impro06_M001"]) & ids  # fru xxx sur oth fea dis


def test_speaker_comes_from_the_turn_not_the_dialog(iemocap_root):
    rows = iemocap.manifest(iemocap_root).set_index("id")
    assert rows.loc["Ses01M_impro03_F000", ["speaker", "gender"]].tolist() == ["Ses01F", "f"]
    assert rows.loc["Ses01F_impro01_M001", ["speaker", "gender"]].tolist() == ["Ses01M", "m"]


def test_only_dialog_label_files_are_read(iemocap_root):
    """A turn line in a subfolder or a hidden file would name a missing WAV and fail the manifest."""
    labels = iemocap_root / "Session1" / "dialog" / "EmoEvaluation"
    ghost = "[1.0000 - 2.0000]\tSes01F_impro07_F000\tang\t[2.5000, 2.5000, 2.5000]\n"
    for path in [labels / "Categorical" / "Ses01F_impro07.txt", labels / "._Ses01F_impro07.txt"]:
        path.write_text(ghost)
    assert list(sorted_rows(iemocap.manifest(iemocap_root))["id"]) == list(EXPECTED["id"])


def test_a_dropped_turn_may_lack_its_wav(iemocap_root):
    (iemocap_root / WAV1 / "Ses01F_impro01" / "Ses01F_impro01_M000.wav").unlink()  # fru
    (iemocap_root / WAV1 / "Ses01F_script01_1" / "Ses01F_script01_1_F000.wav").unlink()  # scripted
    assert len(iemocap.manifest(iemocap_root)) == len(EXPECTED)


def test_the_full_set_adds_the_scripted_dialogs(iemocap_root):
    """The DS-LSTM authors' set: improvised and scripted turns, the same four classes (excited merged)."""
    full = iemocap.manifest(iemocap_root, "full")
    scripted = {"Ses01F_script01_1_F000": "neutral", "Ses01F_script01_1_M000": "angry",
                "Ses02M_script02_2_F000": "happy", "Ses02M_script02_2_M000": "happy"}
    assert set(full["id"]) == set(EXPECTED["id"]) | set(scripted)
    assert dict(zip(full["id"], full["label"])).items() >= scripted.items()
    texts = dict(zip(full["id"], full["text"]))
    assert [texts[turn] for turn in scripted] == ["script01_1", "script01_1", "script02_2", "script02_2"]
    assert corpora.manifest("iemocap", iemocap_root, iemocap_set="full")["id"].tolist() == sorted(full["id"])


def test_a_take_letter_is_the_same_scenario(iemocap_root):
    """Some dialogs were recorded in two takes (impro05a, impro05b): the same scenario, so the same text."""
    for take in "ab":
        dialog = f"Ses01F_impro05{take}"
        labels = iemocap_root / "Session1" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
        labels.write_text(f"[1.0000 - 2.0000]\t{dialog}_F000\tneu\t[2.5000, 2.5000, 2.5000]\n")
        write_wav(iemocap_root / WAV1 / dialog / f"{dialog}_F000.wav", 0.5)
    rows = iemocap.manifest(iemocap_root).set_index("id")
    assert rows.loc[["Ses01F_impro05a_F000", "Ses01F_impro05b_F000"], "text"].tolist() == ["impro05", "impro05"]


def test_an_unknown_set_is_refused(iemocap_root):
    with pytest.raises(InputError, match="'data.iemocap_set' must be one of improvised, full, got 'scripted'"):
        iemocap.manifest(iemocap_root, "scripted")


def test_through_the_dispatcher(iemocap_root):
    rows = corpora.manifest("iemocap", iemocap_root)
    assert list(rows["id"]) == list(EXPECTED["id"])
    assert list(rows["label_index"]) == [3, 2, 0, 1, 2, 0, 3, 2, 1]


def error(root):
    with pytest.raises(InputError) as caught:
        iemocap.manifest(root)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_no_session_folders(tmp_path):
    (tmp_path / "Documentation").mkdir()
    assert "Session" in error(tmp_path)


def test_missing_wav_of_a_kept_turn(iemocap_root):
    wav = iemocap_root / WAV2 / "Ses02M_impro06" / "Ses02M_impro06_F001.wav"  # exc
    wav.unlink()
    assert str(wav) in error(iemocap_root)


def test_corrupt_wav(iemocap_root):
    wav = iemocap_root / WAV1 / "Ses01M_impro03" / "Ses01M_impro03_F000.wav"
    wav.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    assert "Ses01M_impro03_F000.wav" in error(iemocap_root)


def test_empty_wav(iemocap_root):
    sf.write(iemocap_root / WAV1 / "Ses01F_impro01" / "Ses01F_impro01_F000.wav", np.zeros(0, np.float32), 16000)
    assert "Ses01F_impro01_F000.wav" in error(iemocap_root)


def test_session_without_label_folder(iemocap_root):
    (iemocap_root / "Session3" / "sentences" / "wav").mkdir(parents=True)
    assert str(iemocap_root / "Session3" / "dialog" / "EmoEvaluation") in error(iemocap_root)


def test_malformed_turn_name(iemocap_root):
    labels = iemocap_root / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
    labels.write_text("[1.0000 - 2.0000]\tSes01F_impro01-F000\tneu\t[2.5000, 2.5000, 2.5000]\n")
    message = error(iemocap_root)
    assert "Ses01F_impro01.txt" in message and "Ses01F_impro01-F000" in message


def test_no_kept_turns(tmp_path):
    labels = tmp_path / "Session1" / "dialog" / "EmoEvaluation"
    labels.mkdir(parents=True)
    turn = "[1.0000 - 2.0000]\tSes01F_script01_1_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
    (labels / "Ses01F_script01_1.txt").write_text(turn)
    assert str(tmp_path) in error(tmp_path)
