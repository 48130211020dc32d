"""The segment step on the fixture trees: formats, lengths, row order, and nothing half-written on bad input."""

import numpy as np
import pytest
import soundfile as sf

from ecaser.data import audio, dataset, segments
from ecaser.commands.cli import main as cli
from ecaser.infra.errors import InputError


def data(corpus, root, segment_s=1.0):
    return {"corpus": corpus, "root": str(root), "sample_rate": 16000, "segment_s": segment_s,
            "seed": 0, "synthetic_size": 1.0, "iemocap_set": "improvised", "csv": None, "classes": None}


def test_emodb_segments_follow_the_manifest(emodb_root, tmp_path):
    out = tmp_path / "segments"
    rows = segments.write(data("emodb", emodb_root), out)
    clips = dataset.load_audio(out / "audio.npy")
    manifest = dataset.load_manifest(out / "manifest.csv")
    assert clips.shape == (9, 16000) and clips.dtype == np.float32
    assert list(manifest["id"]) == sorted(manifest["id"]) == list(rows["id"])
    assert manifest.loc[0, "speaker"] == "03" and manifest.loc[0, "session"] == ""
    # each clip's text code, read back as the string it was written
    assert list(manifest["text"]) == ["a01", "a02", "a04", "a05", "b03", "b10", "b01", "b02", "b09"]
    # 0.5 s at 16 kHz mono: 4000 zeros, the clip, 4000 zeros
    first = clips[0]
    original, _ = sf.read(emodb_root / "wav/03a01Wa.wav", dtype="float32")
    assert not first[:4000].any() and not first[12000:].any()
    np.testing.assert_array_equal(first[4000:12000], original)


def test_stereo_44k_clip_is_mono_16k_and_centred(emodb_root, tmp_path):
    out = tmp_path / "segments"
    rows = segments.write(data("emodb", emodb_root, segment_s=0.5), out)
    i = int(np.flatnonzero(rows["id"] == "12b10Fa")[0])
    stereo, sr = sf.read(emodb_root / "wav/12b10Fa.wav", dtype="float32")
    expected = audio.centre(audio.resample(stereo.mean(axis=1), sr, 16000), 8000)  # 0.75 s cut to 0.5 s
    np.testing.assert_allclose(dataset.load_audio(out / "audio.npy")[i], expected, atol=1e-6)


def test_iemocap_segments_every_kept_turn(iemocap_root, tmp_path):
    out = tmp_path / "segments"
    rows = segments.write(data("iemocap", iemocap_root, segment_s=6.0), out)
    assert dataset.load_audio(out / "audio.npy").shape == (len(rows), 96000)
    assert set(rows["label"]) == {"angry", "sad", "happy", "neutral"}


def test_bad_clip_midway_leaves_no_output(emodb_root, tmp_path):
    x = np.zeros(8000, np.float32)
    x[10] = np.nan
    sf.write(emodb_root / "wav/16b10Wa.wav", x, 16000, subtype="FLOAT")  # a late row: segmenting starts first
    out = tmp_path / "segments"
    with pytest.raises(InputError, match="16b10Wa.wav: the audio contains NaN"):
        segments.write(data("emodb", emodb_root), out)
    assert not out.exists() or not list(out.iterdir())


def test_features_shape_mismatch_is_refused(tmp_path):
    path = tmp_path / "v1.npy"
    np.save(path, np.zeros((3, 64, 301), np.float16))
    with pytest.raises(InputError, match="v1.npy: shape \\(3, 64, 301\\) does not match the manifest's 4"):
        dataset.load_features("v1", 4, path)


def test_manifest_command_writes_csv_and_prints_counts(emodb_root, tmp_path, capsys):
    out = tmp_path / "emodb.csv"
    cli(["manifest", "--corpus", "emodb", "--root", str(emodb_root), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "emodb: 9 utterances, 9 speakers" in printed
    assert printed.splitlines()[1] == "durations: mean 0.69 s, median 0.50 s, range 0.50-1.25 s"
    assert [line.split() for line in printed.splitlines()[3:]][0] == ["anger", "2"]
    assert "total" in printed.splitlines()[-1] and printed.splitlines()[-1].split()[-1] == "9"
    assert len(dataset.load_manifest(out)) == 9


def test_manifest_command_missing_root_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        cli(["manifest", "--corpus", "iemocap", "--root", str(tmp_path / "none"), "--out", str(tmp_path / "x.csv")])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {tmp_path / 'none'}: iemocap corpus folder not found"
    assert not (tmp_path / "x.csv").exists()


def test_a_manifest_written_before_the_text_column_reads_with_empty_texts(tmp_path):
    (tmp_path / "manifest.csv").write_text("id,speaker,gender,session,label,label_index,source,duration_s\n"
                                           "03a01Wa,03,m,,anger,0,wav/03a01Wa.wav,0.5\n")
    manifest = dataset.load_manifest(tmp_path / "manifest.csv")
    assert list(manifest.columns[:5]) == ["id", "speaker", "gender", "session", "text"]
    assert manifest.loc[0, "text"] == "" and manifest.loc[0, "speaker"] == "03"
