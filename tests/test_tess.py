import shutil

import pytest
from corpus_fixtures import TESS, TESS_DIR, make_tess, write_wav

from ecaser.data import corpora, fingerprint
from ecaser.training import folds
from ecaser.data.corpora import tess
from ecaser.infra.errors import InputError


@pytest.fixture
def root(tmp_path):
    make_tess(tmp_path / "tess")
    return tmp_path / "tess"


def test_labels_come_from_the_file_name_not_the_folder(root):
    rows = corpora.manifest("tess", root).set_index("id")
    assert list(rows.index) == sorted(path.rsplit("/", 1)[1][:-4] for path in TESS)
    assert dict(rows["label"]) == {
        "OAF_back_angry": "anger", "OAF_bean_disgust": "disgust", "OAF_chalk_fear": "fear",
        "OAF_dime_happy": "happiness", "OAF_goose_ps": "pleasant_surprise", "OAF_wife_sad": "sadness",
        "OAF_youth_neutral": "neutral", "YAF_back_angry": "anger", "YAF_chalk_fear": "fear",
        "YAF_goose_ps": "pleasant_surprise", "YAF_wife_sad": "sadness", "YAF_youth_neutral": "neutral"}
    assert dict(rows["text"]) == {i: i.split("_")[1] for i in rows.index}  # the word: both speakers say each
    assert sorted(set(rows["text"])) == ["back", "bean", "chalk", "dime", "goose", "wife", "youth"]
    assert dict(rows["source"]) == {path.rsplit("/", 1)[1][:-4]: path for path in TESS}
    assert set(rows["speaker"]) == {"OAF", "YAF"} and set(rows["gender"]) == {"f"} and set(rows["session"]) == {""}
    assert dict(rows["duration_s"]) == pytest.approx({path.rsplit("/", 1)[1][:-4]: s for path, s in TESS.items()},
                                                     abs=1e-4)  # 24414 Hz: frames are rounded


def test_the_fingerprint_covers_every_wav_and_no_debris(root):
    names = [line.split("\t")[0] for line in fingerprint.lines("tess", root, "stat")[1:]]
    assert names == sorted(TESS)


def test_a_nested_second_copy_is_refused(root):
    shutil.copytree(root / TESS_DIR, root / TESS_DIR / TESS_DIR.lower())
    message = str(pytest.raises(InputError, tess.manifest, root).value)
    assert "is there twice" in message and message.endswith(f"e.g. {root / TESS_DIR / TESS_DIR.lower()}")


@pytest.mark.parametrize("name", ["OAF_back_Angry.wav", "MAF_back_angry.wav", "OAF_back_surprise.wav",
                                  "OAF_angry.wav", "YAF_back_angry_2.wav"])
def test_a_name_that_does_not_parse_is_named(root, name):
    write_wav(root / TESS_DIR / "YAF_angry" / name, 0.1)
    with pytest.raises(InputError, match=name):
        tess.manifest(root)


def test_two_speakers_cannot_give_five_speaker_folds_and_the_error_says_what_would(root):
    rows = corpora.manifest("tess", root)
    with pytest.raises(InputError, match=r"'cv.folds' \(5\) exceeds the 2 speaker groups that cv.protocol speaker "
                       r"holds out whole: set cv.folds to at most 2 \(2: leave one out\) or cv.protocol to text or "
                       r"stratified$"):
        folds.split(rows, 5, "speaker", 0)
    for train, test in folds.split(rows, 2, "speaker", 0):
        assert rows["speaker"].iloc[test].nunique() == 1
        assert not set(rows["speaker"].iloc[train]) & set(rows["speaker"].iloc[test])
