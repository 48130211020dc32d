import pytest
from corpus_fixtures import SAVEE, make_savee, write_wav

from ecaser.data import corpora, fingerprint
from ecaser.training import folds
from ecaser.data.corpora import savee
from ecaser.infra.errors import InputError

@pytest.fixture
def root(tmp_path):
    make_savee(tmp_path / "savee")
    return tmp_path / "savee"


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
