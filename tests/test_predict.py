"""`ecaser predict`: the saved fold ensemble scores new WAV files of any format, and bad files one by one."""

import json

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from ecaser import models, predict
from ecaser.cli import main as cli

CLASSES = ["anger", "sadness", "neutral"]
STFT = {"win_length": 400, "hop_length": 160, "n_fft": 512, "n_mels": 64, "sample_rate": 16000}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    spec = models.cnn(CLASSES, 1, 16, "eca", (5, 6), 3)
    folds = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        folds.append({"state_dict": spec.build().state_dict(), "mean": [torch.full((64, 1), -40.0 + seed)],
                      "std": [torch.full((64, 1), 15.0)]})
    path = tmp_path_factory.mktemp("models") / "eca.pt"
    predict.save(path, spec, folds, STFT, segment_s=1.0)
    return path, spec, folds


def test_prediction_is_the_mean_of_the_fold_models(bundle, tmp_path):
    path, spec, folds = bundle
    wav = tmp_path / "new.wav"
    rng = np.random.default_rng(0)
    stereo_44k = (0.1 * rng.standard_normal((int(1.5 * 44100), 2))).astype(np.float32)
    sf.write(wav, stereo_44k, 44100)
    probs = predict.Predictor(path)(wav)
    assert list(probs) == CLASSES and sum(probs.values()) == pytest.approx(1, abs=1e-6)

    # independently: librosa for mono, resampling, centre crop and log-Mel; each fold's model by hand
    y = librosa.resample(stereo_44k.mean(axis=1), orig_sr=44100, target_sr=16000)
    y = y[(len(y) - 16000) // 2:][:16000]
    logmel = librosa.power_to_db(librosa.feature.melspectrogram(
        y=y, sr=16000, n_fft=512, hop_length=160, win_length=400, n_mels=64), ref=1.0, amin=1e-10, top_db=None)
    expected = []
    for fold in folds:
        model = spec.build().eval()
        model.load_state_dict(fold["state_dict"])
        x = (torch.from_numpy(logmel) - fold["mean"][0]) / fold["std"][0]
        with torch.no_grad():
            expected.append(model(x[None, None].float()).softmax(dim=1)[0].numpy())
    np.testing.assert_allclose(list(probs.values()), np.mean(expected, axis=0), atol=1e-4)


def test_cli_scores_good_files_and_names_the_bad_one(bundle, tmp_path, capsys):
    path, _, _ = bundle
    good = tmp_path / "good.wav"
    sf.write(good, np.zeros(8000, np.float32) + 0.01, 16000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(SystemExit) as exit:
        cli(["predict", str(bad), str(good), "--model", str(path), "--json"])
    assert exit.value.code == 1
    out, err = capsys.readouterr()
    assert err.strip().startswith(f"error: {bad}: cannot read audio")
    results = json.loads(out)
    assert results[0]["file"] == str(bad) and "error" in results[0]
    assert results[1]["emotion"] in CLASSES and set(results[1]["probabilities"]) == set(CLASSES)


def test_missing_model_says_how_to_make_it(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli(["predict", "x.wav", "--model", str(tmp_path / "eca.pt")])
    assert "model not found (make it with `dvc repro train_eca`)" in capsys.readouterr().err
