import shutil

import pytest
from corpus_fixtures import RAVDESS_SONG, RAVDESS_SPEECH, make_ravdess, write_wav

from ecaser.data import corpora, fingerprint
from ecaser.data.corpora import ravdess
from ecaser.infra.errors import InputError

@pytest.fixture
def root(tmp_path):
    make_ravdess(tmp_path / "ravdess")
    return tmp_path / "ravdess"


def test_a_wrapper_folder_is_found(tmp_path):
    make_ravdess(tmp_path / "Audio_Speech_Actors_01-24")
    rows = corpora.manifest("ravdess", tmp_path)
    assert list(rows["source"]) == [f"Audio_Speech_Actors_01-24/{s}" for s in sorted(RAVDESS_SPEECH, key=lambda p: p.split("/")[1])]


def test_two_copies_are_refused_and_the_error_names_one(root):
    """Kaggle's copy: every actor at the top and again under audio_speech_actors_01-24/."""
    shutil.copytree(root / "Actor_01", root / "audio_speech_actors_01-24" / "Actor_01")
    message = error(root)
    assert "03-01-01-01-01-01-01.wav is there twice, as Actor_01/03-01-01-01-01-01-01.wav and " \
           "audio_speech_actors_01-24/Actor_01/03-01-01-01-01-01-01.wav" in message
    assert message.endswith(f"set data.root to one of them, e.g. {root / 'audio_speech_actors_01-24'}")


def test_the_fingerprint_covers_speech_and_song_and_no_debris(root):
    names = [line.split("\t")[0] for line in fingerprint.lines("ravdess", root, "stat")[1:]]
    assert names == sorted({*RAVDESS_SPEECH, *RAVDESS_SONG})


def test_count_table_and_manifest_command(root, tmp_path, capsys):
    from ecaser.commands import cli

    cli.main(["manifest", "--corpus", "ravdess", "--root", str(root), "--out", str(tmp_path / "m.csv")])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"ravdess: 8 utterances, 4 speakers -> {tmp_path / 'm.csv'}"
    assert out[1] == "durations: mean 0.53 s, median 0.50 s, range 0.25-1.00 s"
    assert [line.split() for line in out[3:]] == [[c, "1"] for c in ravdess.CLASSES] + [["total", "8"]] + [
        "ravdess: left out 2 song files (vocal channel 02)".split()]


def error(root):
    with pytest.raises(InputError) as caught:
        ravdess.manifest(root)
    assert "\n" not in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize("name", [
    "03-01-09-01-01-01-01.wav",  # no emotion 09
    "03-01-01-02-01-01-01.wav",  # neutral has no strong intensity
    "01-01-03-01-01-01-01.wav",  # modality 01 is audio-video (an .mp4 in the release)
    "03-03-03-01-01-01-01.wav",  # no vocal channel 03
    "03-01-03-01-03-01-01.wav",  # statement 03
    "03-01-03-01-01-01-1.wav",
    "03-01-03-01-01-01-01 (1).wav",
])
def test_a_name_that_does_not_parse_is_named(root, name):
    write_wav(root / "Actor_01" / name, 0.1)
    assert name in error(root)


def test_actor_25_and_a_file_in_another_actors_folder(root):
    write_wav(root / "Actor_25" / "03-01-03-01-01-01-25.wav", 0.1)
    assert "03-01-03-01-01-01-25.wav" in error(root)
    shutil.rmtree(root / "Actor_25")
    write_wav(root / "Actor_02" / "03-01-03-01-01-01-03.wav", 0.1)
    assert "the name says actor 03, the folder Actor_02" in error(root)


def test_song_only_and_empty_folders(tmp_path):
    assert "no Actor_XX/*.wav" in error(tmp_path)
    for path in RAVDESS_SONG:
        write_wav(tmp_path / path, 0.1)
    assert "only song files" in error(tmp_path)
