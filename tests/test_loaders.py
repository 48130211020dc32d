"""The manifests of the loaders whose fixture trees have one shape (a folder of named WAVs, every field in the
name or a side table), each worked out by hand from the fixture's file names and the corpus's documentation;
`text` is what the clip says as the name tells it (EMODB's text code, RAVDESS's statement field, CREMA-D's sentence
code, SAVEE's stem)."""

import pandas as pd
import pytest
from corpus_fixtures import make_cremad, make_ravdess, make_savee

from ecaser.data import corpora

COLUMNS = ["id", "speaker", "gender", "session", "text", "label", "source", "duration_s"]


def rows(*table):
    return pd.DataFrame(table, columns=COLUMNS)


EMODB = rows(
    ("03a01Wa", "03", "m", "", "a01", "anger", "wav/03a01Wa.wav", 0.5),
    ("08a02La", "08", "f", "", "a02", "boredom", "wav/08a02La.wav", 0.5),
    ("09a04Eb", "09", "f", "", "a04", "disgust", "wav/09a04Eb.wav", 0.5),
    ("10a05Aa", "10", "m", "", "a05", "fear", "wav/10a05Aa.wav", 0.5),
    ("11b03Nb", "11", "m", "", "b03", "neutral", "wav/11b03Nb.wav", 1.25),
    ("12b10Fa", "12", "m", "", "b10", "happiness", "wav/12b10Fa.wav", 0.75),
    ("13b01Fc", "13", "f", "", "b01", "happiness", "wav/13b01Fc.wav", 0.5),
    ("14b02Ta", "14", "f", "", "b02", "sadness", "wav/14b02Ta.wav", 0.5),
    ("16b09Wd", "16", "f", "", "b09", "anger", "wav/16b09Wd.wav", 1.25),
)
# emotion field 01-08, odd actors male, the statement the fifth field; the song files left out
RAVDESS = rows(
    ("03-01-01-01-01-01-01", "01", "m", "", "01", "neutral", "Actor_01/03-01-01-01-01-01-01.wav", 0.5),
    ("03-01-02-01-01-02-02", "02", "f", "", "01", "calm", "Actor_02/03-01-02-01-01-02-02.wav", 0.5),
    ("03-01-03-01-02-01-11", "11", "m", "", "02", "happy", "Actor_11/03-01-03-01-02-01-11.wav", 0.5),
    ("03-01-04-02-01-02-11", "11", "m", "", "01", "sad", "Actor_11/03-01-04-02-01-02-11.wav", 1.0),
    ("03-01-05-02-02-01-01", "01", "m", "", "02", "angry", "Actor_01/03-01-05-02-02-01-01.wav", 0.75),
    ("03-01-06-01-01-01-24", "24", "f", "", "01", "fearful", "Actor_24/03-01-06-01-01-01-24.wav", 0.5),
    ("03-01-07-02-02-02-24", "24", "f", "", "02", "disgust", "Actor_24/03-01-07-02-02-02-24.wav", 0.25),
    ("03-01-08-02-02-02-02", "02", "f", "", "02", "surprised", "Actor_02/03-01-08-02-02-02-02.wav", 0.25),
)
# sex from VideoDemographics.csv, 1076_MTI_SAD_XX left out, AudioMP3/ not read
CREMAD = rows(
    ("1001_DFA_ANG_XX", "1001", "m", "", "DFA", "anger", "AudioWAV/1001_DFA_ANG_XX.wav", 0.5),
    ("1001_IEO_HAP_HI", "1001", "m", "", "IEO", "happy", "AudioWAV/1001_IEO_HAP_HI.wav", 0.75),
    ("1002_IEO_SAD_LO", "1002", "f", "", "IEO", "sad", "AudioWAV/1002_IEO_SAD_LO.wav", 0.25),
    ("1002_ITS_NEU_XX", "1002", "f", "", "ITS", "neutral", "AudioWAV/1002_ITS_NEU_XX.wav", 0.5),
    ("1076_WSI_FEA_XX", "1076", "m", "", "WSI", "fear", "AudioWAV/1076_WSI_FEA_XX.wav", 0.5),
    ("1091_IEO_FEA_MD", "1091", "f", "", "IEO", "fear", "AudioWAV/1091_IEO_FEA_MD.wav", 0.5),
    ("1091_TSI_DIS_XX", "1091", "f", "", "TSI", "disgust", "AudioWAV/1091_TSI_DIS_XX.wav", 1.0),
)
# the code is the name without its digits (sa, su are not s), ids carry the speaker, the stem is the text
SAVEE = rows(
    ("DC_a01", "DC", "m", "", "a01", "anger", "AudioData/DC/a01.wav", 0.5),
    ("DC_sa01", "DC", "m", "", "sa01", "sadness", "AudioData/DC/sa01.wav", 0.75),
    ("DC_su01", "DC", "m", "", "su01", "surprise", "AudioData/DC/su01.wav", 0.5),
    ("JE_a01", "JE", "m", "", "a01", "anger", "AudioData/JE/a01.wav", 0.25),
    ("JE_d02", "JE", "m", "", "d02", "disgust", "AudioData/JE/d02.wav", 0.5),
    ("JE_n30", "JE", "m", "", "n30", "neutral", "AudioData/JE/n30.wav", 1.0),
    ("JK_f15", "JK", "m", "", "f15", "fear", "AudioData/JK/f15.wav", 0.5),
    ("JK_h01", "JK", "m", "", "h01", "happiness", "AudioData/JK/h01.wav", 0.5),
    ("KL_sa15", "KL", "m", "", "sa15", "sadness", "AudioData/KL/sa15.wav", 0.25),
    ("KL_su03", "KL", "m", "", "su03", "surprise", "AudioData/KL/su03.wav", 0.5),
)
CASES = {
    "emodb": (None, EMODB, [0, 1, 5, 2, 6, 3, 3, 4, 0], []),
    "ravdess": (make_ravdess, RAVDESS, list(range(8)), ["ravdess: left out 2 song files (vocal channel 02)"]),
    "cremad": (make_cremad, CREMAD, [0, 3, 5, 4, 2, 2, 1],
               ["cremad: left out 1 file without audio, as the release's README says (1076_MTI_SAD_XX.wav)"]),
    "savee": (make_savee, SAVEE, [0, 5, 6, 0, 1, 4, 2, 3, 5, 6], []),
}


@pytest.mark.parametrize("corpus", CASES)
def test_manifest_rows(corpus, tmp_path, request):
    make, expected, label_index, left_out = CASES[corpus]
    if make is None:
        root = request.getfixturevalue("emodb_root")
    else:
        root = tmp_path / "CREMA_D" if corpus == "cremad" else tmp_path / corpus  # CREMA_D: only the basename is parsed
        make(root)
    manifest = corpora.manifest(corpus, root)
    assert list(manifest.columns) == [*COLUMNS[:6], "label_index", *COLUMNS[6:]]
    pd.testing.assert_frame_equal(manifest.drop(columns="label_index"), expected, check_exact=False, atol=1e-6,
                                  rtol=0)
    assert list(manifest["label_index"]) == label_index
    assert corpora.left_out(manifest, corpus) == left_out
