import pandas as pd
import pytest
from corpus_fixtures import SAVEE, make_savee, write_wav

from ecaser.data import corpora, fingerprint
from ecaser.training import folds
from ecaser.data.corpora import savee
from ecaser.infra.errors import InputError

COLUMNS = ["id", "speaker", "gender", "session", "label", "source", "duration_s"]
# make_savee worked out by hand: the code is the name without its digits (sa, su are not s), ids carry the speaker.
EXPECTED = pd.DataFrame(
    [
        ("DC_a01", "DC", "m", "", "anger", "AudioData/DC/a01.wav", 0.5),
        ("DC_sa01", "DC", "m", "", "sadness", "AudioData/DC/sa01.wav", 0.75),
        ("DC_su01", "DC", "m", "", "surprise", "AudioData/DC/su01.wav", 0.5),
        ("JE_a01", "JE", "m", "", "anger", "AudioData/JE/a01.wav", 0.25),
        ("JE_d02", "JE", "m", "", "disgust", "AudioData/JE/d02.wav", 0.5),
        ("JE_n30", "JE", "m", "", "neutral", "AudioData/JE/n30.wav", 1.0),
        ("JK_f15", "JK", "m", "", "fear", "AudioData/JK/f15.wav", 0.5),
        ("JK_h01", "JK", "m", "", "happiness", "AudioData/JK/h01.wav", 0.5),
        ("KL_sa15", "KL", "m", "", "sadness", "AudioData/KL/sa15.wav", 0.25),
        ("KL_su03", "KL", "m", "", "surprise", "AudioData/KL/su03.wav", 0.5),
    ],
    columns=COLUMNS,
)


@pytest.fixture
def root(tmp_path):
    make_savee(tmp_path / "savee")
    return tmp_path / "savee"


def test_manifest_rows(root):
    rows = corpora.manifest("savee", root)
    pd.testing.assert_frame_equal(rows.drop(columns="label_index"), EXPECTED, check_exact=False, atol=1e-6, rtol=0)
    assert list(rows["label_index"]) == [0, 5, 6, 0, 1, 4, 2, 3, 5, 6]


def test_the_fingerprint_covers_every_wav(root):
    (root / "AudioData" / "DC" / "._a01.wav").write_bytes(b"\x00\x05\x16\x07")
    names = [line.split("\t")[0] for line in fingerprint.lines("savee", root, "stat")[1:]]
    assert names == sorted(SAVEE)


def test_speaker_folds_hold_out_whole_speakers(root):
    rows = corpora.manifest("savee", root)
    for train, test in folds.split(rows, 2, "speaker", 0):
        assert not set(rows["speaker"].iloc[train]) & set(rows["speaker"].iloc[test])
    with pytest.raises(InputError, match="set cv.folds to at most 4"):
        folds.split(rows, 5, "speaker", 0)


def error(root):
    with pytest.raises(InputError) as caught:
        savee.manifest(root)
    assert "\n" not in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize("name", ["s01.wav", "sx01.wav", "a1.wav", "A01.wav", "DC_a01.wav"])
def test_a_name_that_does_not_parse_is_named(root, name):
    write_wav(root / "AudioData" / "KL" / name, 0.1)
    assert name in error(root)


def test_an_unknown_speaker_folder_and_a_missing_audio_folder(root, tmp_path):
    write_wav(root / "AudioData" / "XY" / "a01.wav", 0.1)
    assert "'XY' is not a SAVEE speaker" in error(root)
    assert str(tmp_path / "AudioData") in error(tmp_path)
