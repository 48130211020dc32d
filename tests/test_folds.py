import numpy as np
import pandas as pd
import pytest

from ecaser.infra.errors import InputError
from ecaser.training.folds import split

PROTOCOLS = ["stratified", "speaker", "text", "speaker_text"]


def manifest(sessions, speakers_per_session, classes=4, seed=0, empty_session=np.nan, texts=6):
    """Rows for every (session, speaker, class), 2..5 clips each; session empty when sessions is 0. Texts are
    crossed with speakers, as in the real corpora: each speaker's clips say t0, t1, ... in turn."""
    rng = np.random.default_rng(seed)
    rows = []
    for session in range(max(sessions, 1)):
        for s in range(speakers_per_session):
            speaker = f"{session}{s:02d}"
            for label in range(classes):
                for _ in range(rng.integers(2, 6)):
                    rows.append({"id": f"{speaker}_{len(rows)}", "speaker": speaker, "gender": "f",
                                 "session": f"Session{session + 1}" if sessions else empty_session,
                                 "text": f"t{(len(rows) + s) % texts}",
                                 "label": f"c{label}", "label_index": label})
    frame = pd.DataFrame(rows)
    frame.index = frame.index + 1000  # the folds must be positions, not index labels
    return frame


EMODB = manifest(0, 10)
IEMOCAP = manifest(5, 2)


def check_partition(folds, n):
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(n))  # every row tested exactly once
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0
        assert len(train) + len(test) == n
        assert np.issubdtype(train.dtype, np.integer) and np.issubdtype(test.dtype, np.integer)


def test_stratified_folds_partition_and_keep_class_proportions():
    folds = split(EMODB, 5, "stratified", seed=0)
    assert len(folds) == 5
    check_partition(folds, len(EMODB))
    counts = np.bincount(EMODB["label_index"])
    for _, test in folds:
        per_class = np.bincount(EMODB["label_index"].to_numpy()[test], minlength=4)
        assert (np.abs(per_class - counts / 5) <= 1).all()


@pytest.mark.parametrize("empty_session", [np.nan, ""])
def test_speaker_folds_keep_each_speaker_on_one_side(empty_session):
    data = manifest(0, 10, empty_session=empty_session)
    folds = split(data, 5, "speaker", seed=0)
    check_partition(folds, len(data))
    speakers = data["speaker"].to_numpy()
    for train, test in folds:
        assert not set(speakers[train]) & set(speakers[test])


def test_speaker_folds_leave_one_session_out_when_there_are_sessions():
    folds = split(IEMOCAP, 5, "speaker", seed=0)
    check_partition(folds, len(IEMOCAP))
    sessions = IEMOCAP["session"].to_numpy()
    assert sorted(len(set(sessions[test])) for _, test in folds) == [1] * 5
    for train, test in folds:
        assert not set(sessions[train]) & set(sessions[test])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_same_seed_same_folds(protocol):
    n = {"speaker_text": 4, "text": 3}.get(protocol, 5)
    first, again = split(EMODB, n, protocol, seed=3), split(EMODB, n, protocol, seed=3)
    for (a_train, a_test), (b_train, b_test) in zip(first, again):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)
    other = split(EMODB, n, protocol, seed=5)
    assert any(not np.array_equal(a, b) for (_, a), (_, b) in zip(first, other))


@pytest.mark.parametrize(
    "data, folds, protocol, key",
    [(EMODB, 1, "stratified", "cv.folds"),
     (EMODB, int(np.bincount(EMODB["label_index"]).min()) + 1, "stratified", "cv.folds"),
     (EMODB, 11, "speaker", "cv.folds"),
     (IEMOCAP, 6, "speaker", "cv.folds"),
     (EMODB, 7, "text", "cv.folds"),
     (EMODB, 5, "speaker_text", "cv.folds"),
     (manifest(0, 2), 9, "speaker_text", "cv.folds"),
     (EMODB, 5, "random", "cv.protocol")],
)
def test_bad_params(data, folds, protocol, key):
    with pytest.raises(InputError, match=key) as error:
        split(data, folds, protocol, seed=0)
    assert "\n" not in str(error.value)


def shared(data, column, train, test):
    return set(data[column].to_numpy()[train]) & set(data[column].to_numpy()[test])


def test_text_folds_keep_each_text_on_one_side():
    folds = split(EMODB, 3, "text", seed=0)
    check_partition(folds, len(EMODB))
    for train, test in folds:
        assert not shared(EMODB, "text", train, test) and shared(EMODB, "speaker", train, test)


@pytest.mark.parametrize("n, grid", [(4, (2, 2)), (6, (3, 2)), (9, (3, 3))])
def test_speaker_text_folds_share_neither_and_test_every_clip_once(n, grid):
    folds = split(EMODB, n, "speaker_text", seed=0)
    assert len(folds) == n
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(EMODB)))
    speakers, texts = (EMODB[c].to_numpy() for c in ("speaker", "text"))
    for train, test in folds:
        assert not shared(EMODB, "speaker", train, test) and not shared(EMODB, "text", train, test)
        # the training side is every clip of another speaker group saying a text of another text group: counted
        # here from the test fold's speakers and texts, which (a crossed design) are whole groups
        expected = np.flatnonzero(~np.isin(speakers, speakers[test]) & ~np.isin(texts, texts[test]))
        np.testing.assert_array_equal(np.sort(train), expected)
    a, b = grid  # a speaker groups x b text groups (the more speaker groups where both are as even)
    assert len({frozenset(speakers[test]) for _, test in folds}) == a
    assert len({frozenset(texts[test]) for _, test in folds}) == b


def test_speaker_text_refusal_names_fold_counts_that_work():
    with pytest.raises(InputError) as error:
        split(EMODB, 5, "speaker_text", seed=0)
    assert str(error.value).endswith("set cv.folds to one of 4, 6, 8, 9, 10, 12")


@pytest.mark.parametrize("protocol", ["text", "speaker_text"])
def test_text_protocols_need_every_clip_s_text(protocol):
    data = EMODB.copy()
    data.loc[data.index[[3, 7]], "text"] = ""
    with pytest.raises(InputError, match=r"2 of \d+ clips have none \(e.g. \S+, \S+\).*set cv.protocol to speaker"):
        split(data, 4, protocol, seed=0)


def write_folds(tmp_path, rows, header="id,fold"):
    path = tmp_path / "folds.csv"
    path.write_text("\n".join([header, *(f"{i},{f}" for i, f in rows)]) + "\n")
    return str(path)


def test_file_folds_are_the_file_s_whatever_the_seed(tmp_path):
    fold = {i: 1 + k % 3 for k, i in enumerate(EMODB["id"])}
    path = write_folds(tmp_path, fold.items())
    first = split(EMODB, 3, "file", seed=0, fold_file=path)
    check_partition(first, len(EMODB))
    for number, (_, test) in enumerate(first, start=1):
        assert {fold[i] for i in EMODB["id"].to_numpy()[test]} == {number}
    for (a_train, a_test), (b_train, b_test) in zip(first, split(EMODB, 3, "file", seed=7, fold_file=path)):
        np.testing.assert_array_equal(a_test, b_test)  # a repeat (another seed) trains the same folds


@pytest.mark.parametrize("edit, message", [
    (lambda rows: rows[5:], r"folds.csv: 5 of the manifest's \d+ clips have no fold \(e.g. 000_0, 000_1, 000_2\)"),
    (lambda rows: [*rows, ("ghost", 1), ("spook", 2)], r"folds.csv: 2 ids are not in the manifest \(e.g. ghost, spook\)"),
    (lambda rows: [*rows, rows[0]], r"folds.csv, line \d+: id 000_0 is listed twice \(also on line 2\)"),
    (lambda rows: [(rows[0][0], "one"), *rows[1:]], r"folds.csv, line 2: fold must be an integer, got 'one'"),
    (lambda rows: [(i, 1) for i, _ in rows], r"folds.csv: every clip is in fold 1: cross-validation needs >= 2 folds"),
    (lambda rows: [(i, 1 + k % 4) for k, (i, _) in enumerate(rows)], r"'cv.folds' \(3\) must equal the 4 folds of"),
])
def test_fold_file_errors_are_one_line(tmp_path, edit, message):
    rows = [(i, 1 + k % 3) for k, i in enumerate(EMODB["id"])]
    path = write_folds(tmp_path, edit(rows))
    with pytest.raises(InputError, match=message) as error:
        split(EMODB, 3, "file", seed=0, fold_file=path)
    assert "\n" not in str(error.value)


def test_fold_file_missing_file_columns_and_key(tmp_path):
    with pytest.raises(InputError, match=r"nowhere.csv: fold file not found \(cv.fold_file\)"):
        split(EMODB, 3, "file", seed=0, fold_file=str(tmp_path / "nowhere.csv"))
    with pytest.raises(InputError, match="expected the columns id and fold, got clip, fold"):
        split(EMODB, 3, "file", seed=0, fold_file=write_folds(tmp_path, [("a", 1)], "clip,fold"))
    with pytest.raises(InputError, match="'cv.fold_file' names the CSV .* got cv.protocol file and cv.fold_file None"):
        split(EMODB, 3, "file", seed=0)
    with pytest.raises(InputError, match="got cv.protocol speaker and cv.fold_file 'x.csv'"):
        split(EMODB, 3, "speaker", seed=0, fold_file="x.csv")


@pytest.mark.parametrize("protocol", ["stratified", "speaker", "text", "speaker_text"])
def test_the_validation_part_comes_out_of_the_training_fold_split_as_the_protocol_splits(protocol):
    from ecaser.training.folds import validation

    data = EMODB
    for train, test in split(data, 4 if protocol == "speaker_text" else 3, protocol, 0):
        fit, held = validation(data, train, 4, protocol, 0)
        # a partition of the training fold, nothing of the test fold, about a quarter held out
        np.testing.assert_array_equal(np.sort(np.concatenate([fit, held])), np.sort(train))
        assert np.intersect1d(fit, held).size == 0 and np.intersect1d(held, test).size == 0
        assert 0.1 < len(held) / len(train) < 0.45
        column = {"speaker": "speaker", "speaker_text": "speaker", "text": "text"}.get(protocol)
        if column:  # speaker_text's training side is split by speaker inside (its blocks cannot nest)
            assert not shared(data, column, fit, held)
        else:  # stratified: each class keeps its share in the held-out part
            labels = data["label_index"].to_numpy()
            held_share = np.bincount(labels[held], minlength=4) / len(held)
            np.testing.assert_allclose(held_share, np.bincount(labels[train], minlength=4) / len(train), atol=0.06)
        again = validation(data, train, 4, protocol, 0)
        np.testing.assert_array_equal(again[1], held)


def test_a_validation_split_the_training_fold_cannot_give_names_its_key():
    from ecaser.training.folds import validation

    train, _ = split(EMODB, 3, "speaker", 0)[0]
    have = EMODB["speaker"].iloc[train].nunique()
    with pytest.raises(InputError, match=rf"^params: 'calibration.validation_folds' \(9\) exceeds the {have} speakers "
                                         rf"of a training fold, .*: set it to at most {have}$"):
        validation(EMODB, train, 9, "speaker", 0)
    train, _ = split(EMODB, 3, "stratified", 0)[0]
    with pytest.raises(InputError, match=r"^params: 'calibration.validation_folds' \(200\) does not fit a training "
                                         r"fold of \d+ clips \(params: 'cv.folds' \(200\) exceeds the smallest"):
        validation(EMODB, train, 200, "stratified", 0)


def test_inside_an_iemocap_training_fold_speakers_not_sessions_are_held_out():
    """Leave-one-session-out leaves 4 sessions (8 speakers) to train on: 5 parts split them by speaker, and no held-out
    speaker is fitted on."""
    from ecaser.training.folds import validation

    for train, _ in split(IEMOCAP, 5, "speaker", 0):
        fit, held = validation(IEMOCAP, train, 5, "speaker", 0)
        assert IEMOCAP["session"].iloc[train].nunique() == 4 and not shared(IEMOCAP, "speaker", fit, held)
        assert IEMOCAP["speaker"].iloc[held].nunique() in (1, 2)
