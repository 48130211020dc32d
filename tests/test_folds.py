import numpy as np
import pandas as pd
import pytest

from ecaser.infra.errors import InputError
from ecaser.training.folds import split


def manifest(sessions, speakers_per_session, classes=4, seed=0, empty_session=np.nan):
    """Rows for every (session, speaker, class), 2..5 clips each; session empty when sessions is 0."""
    rng = np.random.default_rng(seed)
    rows = []
    for session in range(max(sessions, 1)):
        for s in range(speakers_per_session):
            speaker = f"{session}{s:02d}"
            for label in range(classes):
                for _ in range(rng.integers(2, 6)):
                    rows.append({"id": f"{speaker}_{len(rows)}", "speaker": speaker, "gender": "f",
                                 "session": f"Session{session + 1}" if sessions else empty_session,
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


@pytest.mark.parametrize("protocol", ["stratified", "speaker"])
def test_same_seed_same_folds(protocol):
    first, again = split(EMODB, 5, protocol, seed=3), split(EMODB, 5, protocol, seed=3)
    for (a_train, a_test), (b_train, b_test) in zip(first, again):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)
    other = split(EMODB, 5, protocol, seed=4)
    assert any(not np.array_equal(a, b) for (_, a), (_, b) in zip(first, other))


@pytest.mark.parametrize(
    "data, folds, protocol, key",
    [(EMODB, 1, "stratified", "cv.folds"),
     (EMODB, int(np.bincount(EMODB["label_index"]).min()) + 1, "stratified", "cv.folds"),
     (EMODB, 11, "speaker", "cv.folds"),
     (IEMOCAP, 6, "speaker", "cv.folds"),
     (EMODB, 5, "random", "cv.protocol")],
)
def test_bad_params(data, folds, protocol, key):
    with pytest.raises(InputError, match=key) as error:
        split(data, folds, protocol, seed=0)
    assert "\n" not in str(error.value)
