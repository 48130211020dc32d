import pytest
from corpus_fixtures import CREMAD_WAV, make_cremad, write_wav

from ecaser.data import corpora, fingerprint
from ecaser.data.corpora import cremad
from ecaser.infra.errors import InputError

@pytest.fixture
def root(tmp_path):
    make_cremad(tmp_path / "CREMA_D")  # an underscore in the root: only the basename is parsed
    return tmp_path / "CREMA_D"


def test_a_copy_without_the_silent_clip_leaves_nothing_out(root):
    (root / "AudioWAV" / "1076_MTI_SAD_XX.wav").unlink()
    rows = corpora.manifest("cremad", root)
    assert len(rows) == len(CREMAD_WAV) and corpora.left_out(rows, "cremad") == []


def test_the_fingerprint_covers_the_wavs_and_the_demographics_and_not_the_mp3s(root):
    names = [line.split("\t")[0] for line in fingerprint.lines("cremad", root, "content")[1:]]
    assert names == sorted([*CREMAD_WAV, "AudioWAV/1076_MTI_SAD_XX.wav"]) + ["VideoDemographics.csv"]


def test_the_demographics_decide_the_gender_and_their_change_is_seen(root):
    before = fingerprint.lines("cremad", root, "content")
    table = root / "VideoDemographics.csv"
    table.write_text(table.read_text().replace("1091,29,Female", "1091,29,Male"))
    assert fingerprint.lines("cremad", root, "content") != before
    rows = corpora.manifest("cremad", root)
    assert set(rows[rows["speaker"] == "1091"]["gender"]) == {"m"}


def error(root):
    with pytest.raises(InputError) as caught:
        cremad.manifest(root)
    assert "\n" not in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize("name", [
    "1040_ITH_SAD_X.wav",  # the misnamed file of older copies
    "1001_XYZ_ANG_XX.wav",  # no such sentence
    "1001_DFA_SUR_XX.wav",  # no such emotion
    "1001_DFA_ANG_VH.wav",  # no such level
    "101_DFA_ANG_XX.wav",
])
def test_a_name_that_does_not_parse_is_named(root, name):
    write_wav(root / "AudioWAV" / name, 0.1)
    assert name in error(root)


def test_an_actor_missing_from_the_demographics(root):
    write_wav(root / "AudioWAV" / "1090_DFA_ANG_XX.wav", 0.1)
    assert "actor 1090 is not in VideoDemographics.csv" in error(root)


def test_missing_demographics_or_audio_folder(root, tmp_path):
    (root / "VideoDemographics.csv").unlink()
    assert "VideoDemographics.csv: not found" in error(root)
    assert str(tmp_path / "AudioWAV") in error(tmp_path)


def test_an_unknown_sex(root):
    table = root / "VideoDemographics.csv"
    table.write_text(table.read_text().replace("1002,21,Female", "1002,21,F"))
    assert "VideoDemographics.csv, line 3: Sex must be Male or Female, got 'F'" in error(root)


def test_a_git_lfs_pointer_is_named_as_one(root):
    """The release keeps its audio in git-lfs; a zip of the repository holds pointer stubs instead."""
    (root / "AudioWAV" / "1001_DFA_ANG_XX.wav").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 48044\n")
    assert "1001_DFA_ANG_XX.wav: a git-lfs pointer, not audio (fetch the audio with `git lfs pull`)" in error(root)
