"""Corpus fixtures shared by all tests; the builders live in corpus_fixtures.py so tests can reuse them."""

import pytest
from corpus_fixtures import make_emodb, make_iemocap


@pytest.fixture
def emodb_root(tmp_path):
    """Every emotion letter, male (03 10 11 12 15) and female speakers, three WAV formats."""
    root = tmp_path / "emodb"
    make_emodb(root, ["03a01Wa.wav", "08a02La.wav", "09a04Eb.wav", "10a05Aa.wav", "13b01Fc.wav", "14b02Ta.wav"])
    make_emodb(root, ["11b03Nb.wav", "16b09Wd.wav"], seconds=1.25)
    make_emodb(root, ["12b10Fa.wav"], sr=44100, seconds=0.75, channels=2)
    # the release's other folders and notes beside wav/
    (root / "lablaut").mkdir()
    (root / "lablaut" / "03a01Wa.lablaut").write_text("0.0 #\n")
    (root / "erkennung.txt").write_text("Erkennungsraten\n")
    return root


@pytest.fixture
def iemocap_root(tmp_path):
    root = tmp_path / "iemocap"
    make_iemocap(root)
    return root
