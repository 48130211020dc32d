import numpy as np
import pytest
import soundfile as sf
from corpus_fixtures import make_emodb

from ecaser.data.corpora import emodb
from ecaser.infra.errors import InputError

# the emodb_root fixture's names, sorted (their manifest rows: test_loaders.py)
IDS = ["03a01Wa", "08a02La", "09a04Eb", "10a05Aa", "11b03Nb", "12b10Fa", "13b01Fc", "14b02Ta", "16b09Wd"]


def test_every_letter_and_class_is_covered(emodb_root):
    assert set(emodb.manifest(emodb_root)["label"]) == set(emodb.CLASSES)


def test_hidden_and_non_wav_files_are_ignored(emodb_root):
    (emodb_root / "wav" / "._03a01Wa.wav").write_bytes(b"\x00\x05\x16\x07Mac OS X")
    (emodb_root / "wav" / "notes.txt").write_text("not audio\n")
    assert sorted(emodb.manifest(emodb_root)["id"]) == IDS


def error(root):
    with pytest.raises(InputError) as caught:
        emodb.manifest(root)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_wav_folder(tmp_path):
    assert str(tmp_path / "wav") in error(tmp_path)


def test_empty_wav_folder(tmp_path):
    (tmp_path / "wav").mkdir()
    assert str(tmp_path / "wav") in error(tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        "03a01Xa.wav",  # unknown emotion letter
        "03a01fa.wav",  # letter in lower case
        "3a01Fa.wav",  # one-digit speaker
        "03c01Fa.wav",  # no such text series
        "03a01F.wav",  # no version
        "03a01Fa_copy.wav",
    ],
)
def test_unparseable_name(tmp_path, name):
    make_emodb(tmp_path, ["08a02La.wav", name])
    assert name in error(tmp_path)


def test_corrupt_header(tmp_path):
    make_emodb(tmp_path, ["08a02La.wav"])
    (tmp_path / "wav" / "03a01Wa.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    assert "03a01Wa.wav" in error(tmp_path)


def test_empty_audio(tmp_path):
    make_emodb(tmp_path, ["08a02La.wav"])
    sf.write(tmp_path / "wav" / "03a01Wa.wav", np.zeros(0, dtype=np.float32), 16000)
    assert "03a01Wa.wav" in error(tmp_path)
