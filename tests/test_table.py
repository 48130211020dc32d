import re
from pathlib import Path

import pandas as pd
import pytest
from corpus_fixtures import TABLE_CSV, TABLE_WAV, make_table

from ecaser.data import corpora, fingerprint
from ecaser.infra import params
from ecaser.infra.errors import InputError

COLUMNS = ["id", "speaker", "gender", "session", "text", "label", "label_index", "source", "duration_s"]


@pytest.fixture
def root(tmp_path):
    make_table(tmp_path / "corpus")
    return tmp_path / "corpus"


def test_manifest_rows_with_the_labels_sorted(root):
    rows = corpora.manifest("csv", root, csv="labels.csv")
    expected = pd.DataFrame([
        ("clips/s1/a.wav", "s1", "f", "A", "", "happy", 1, "clips/s1/a.wav", 0.5),
        ("clips/s1/b.wav", "s1", "f", "A", "", "angry", 0, "clips/s1/b.wav", 0.75),
        ("clips/s2/c.wav", "s2", "m", "A", "", "sad", 3, "clips/s2/c.wav", 0.25),
        ("clips/s2/d.wav", "s2", "m", "B", "", "happy", 1, "clips/s2/d.wav", 0.5),
        ("clips/s3/e.wav", "s3", "", "B", "", "neutral", 2, "clips/s3/e.wav", 1.0),
    ], columns=COLUMNS)
    pd.testing.assert_frame_equal(rows, expected, check_exact=False, atol=1e-6, rtol=0)
    assert list(corpora.count_table(rows, "csv")["label"]) == ["angry", "happy", "neutral", "sad", "total"]


def test_the_stated_class_order_decides_the_indices(root):
    rows = corpora.manifest("csv", root, csv="labels.csv", stated=["neutral", "happy", "sad", "angry"])
    assert list(rows["label_index"]) == [1, 3, 2, 1, 0]
    assert list(corpora.count_table(rows, "csv")["label"]) == ["neutral", "happy", "sad", "angry", "total"]


def test_optional_columns_and_an_absolute_table(root, tmp_path):
    (tmp_path / "t.csv").write_text("speaker,file,emotion\nx,clips/s1/a.wav,happy\ny,clips/s2/c.wav,sad\n")
    rows = corpora.manifest("csv", root, csv=str(tmp_path / "t.csv"))
    assert list(rows["gender"]) == ["", ""] and list(rows["session"]) == ["", ""] and list(rows["text"]) == ["", ""]
    assert fingerprint.lines("csv", root, "stat", csv=str(tmp_path / "t.csv"))[1].startswith(f"{tmp_path}/t.csv\t")


def test_an_optional_text_column(root, tmp_path):
    (tmp_path / "t.csv").write_text("file,emotion,speaker,text\nclips/s1/a.wav,happy,x,t1\nclips/s1/b.wav,sad,y,\n"
                                    "clips/s2/c.wav,sad,y, t1 \n")
    rows = corpora.manifest("csv", root, csv=str(tmp_path / "t.csv"))
    assert list(rows["text"]) == ["t1", "", "t1"]


def test_the_fingerprint_covers_the_table_and_the_files_it_names(root):
    names = [line.split("\t")[0] for line in fingerprint.lines("csv", root, "content", csv="labels.csv")[1:]]
    assert names == ["labels.csv", *sorted(set(TABLE_WAV) - {"clips/unused.wav"})]


def error(root, text, stated=None):
    (root / "labels.csv").write_text(text)
    with pytest.raises(InputError) as caught:
        corpora.manifest("csv", root, csv="labels.csv", stated=stated)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_a_row_naming_a_missing_file(root):
    message = error(root, TABLE_CSV.replace("clips/s2/d.wav", "clips/s2/x.wav"))
    assert message == f"{root / 'labels.csv'}, line 5: {root / 'clips/s2/x.wav'} not found"


@pytest.mark.parametrize("column, row, line", [("emotion", "clips/s2/c.wav,,s2,M,A", 4),
                                               ("speaker", "clips/s2/c.wav,sad,,M,A", 4),
                                               ("file", ",sad,s2,M,A", 4)])
def test_an_empty_required_cell(root, column, row, line):
    assert error(root, TABLE_CSV.replace("clips/s2/c.wav,sad,s2,M,A", row)).endswith(f"line {line}: empty {column}")


def test_a_file_listed_twice(root):
    message = error(root, TABLE_CSV + "clips/s1/a.wav,sad,s1,f,A\n")
    assert message.endswith("line 7: clips/s1/a.wav is listed twice (also on line 2)")


def test_labels_outside_or_missing_from_the_stated_classes(root):
    assert "line 2: emotion 'happy' is not one of data.classes (angry, sad, neutral)" in error(
        root, TABLE_CSV, ["angry", "sad", "neutral"])
    assert error(root, TABLE_CSV, ["angry", "happy", "sad", "neutral", "fear"]).endswith(
        "no rows of fear, which data.classes names")


def test_missing_columns_gender_and_table(root):
    assert "no column speaker" in error(root, "file,emotion\nclips/s1/a.wav,happy\n")
    assert error(root, TABLE_CSV.replace("angry,s1,female", "angry,s1,x")).endswith(
        "line 3: gender must be f, m, female, male or empty, got 'x'")
    (root / "labels.csv").unlink()
    with pytest.raises(InputError, match="labels.csv: corpus table not found"):
        corpora.manifest("csv", root, csv="labels.csv")


@pytest.mark.parametrize("corpus, csv, classes, message", [
    ("csv", None, None, "'data.csv' must name the corpus's table"),
    ("csv", "t.csv", "angry", "'data.classes' must be null (the labels sorted) or a list of distinct"),
    ("csv", "t.csv", ["a", "a"], "'data.classes' must be null"),
    ("ravdess", "t.csv", None, "'data.csv' is for data.corpus csv only"),
    ("emodb", None, ["anger"], "'data.classes' is for data.corpus csv only"),
])
def test_params_refuse_a_table_or_classes_where_they_do_not_apply(corpus, csv, classes, message):
    p = params.load(Path(__file__).resolve().parents[1] / "params.yaml")
    p["data"].update(corpus=corpus, root="/corpus", csv=csv, classes=classes)
    with pytest.raises(InputError, match=re.escape(message)):
        params.data(p)
