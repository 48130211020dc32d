import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from corpus_fixtures import make_emodb

from ecaser.data import corpora
from ecaser.data.corpora import emodb
from ecaser.infra.errors import InputError

COLUMNS = ["id", "speaker", "gender", "session", "label", "source", "duration_s"]
# The emodb_root fixture, worked out by hand from the file names and the corpus documentation.
EXPECTED = pd.DataFrame(
    [
        ("03a01Wa", "03", "m", "", "anger", "wav/03a01Wa.wav", 0.5),
        ("08a02La", "08", "f", "", "boredom", "wav/08a02La.wav", 0.5),
        ("09a04Eb", "09", "f", "", "disgust", "wav/09a04Eb.wav", 0.5),
        ("10a05Aa", "10", "m", "", "fear", "wav/10a05Aa.wav", 0.5),
        ("11b03Nb", "11", "m", "", "neutral", "wav/11b03Nb.wav", 1.25),
        ("12b10Fa", "12", "m", "", "happiness", "wav/12b10Fa.wav", 0.75),
        ("13b01Fc", "13", "f", "", "happiness", "wav/13b01Fc.wav", 0.5),
        ("14b02Ta", "14", "f", "", "sadness", "wav/14b02Ta.wav", 0.5),
        ("16b09Wd", "16", "f", "", "anger", "wav/16b09Wd.wav", 1.25),
    ],
    columns=COLUMNS,
)


def sorted_rows(rows):
    return rows.sort_values("id").reset_index(drop=True)


def test_manifest_rows(emodb_root):
    rows = emodb.manifest(emodb_root)
    assert list(rows.columns) == COLUMNS
    pd.testing.assert_frame_equal(sorted_rows(rows), EXPECTED, check_exact=False, atol=1e-6, rtol=0)


def test_every_letter_and_class_is_covered(emodb_root):
    assert set(emodb.manifest(emodb_root)["label"]) == set(emodb.CLASSES)


def test_hidden_and_non_wav_files_are_ignored(emodb_root):
    (emodb_root / "wav" / "._03a01Wa.wav").write_bytes(b"\x00\x05\x16\x07Mac OS X")
    (emodb_root / "wav" / "notes.txt").write_text("not audio\n")
    assert sorted(emodb.manifest(emodb_root)["id"]) == list(EXPECTED["id"])


def test_through_the_dispatcher(emodb_root):
    rows = corpora.manifest("emodb", emodb_root)
    assert list(rows["id"]) == list(EXPECTED["id"])
    assert list(rows["label_index"]) == [0, 1, 5, 2, 6, 3, 3, 4, 0]


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
