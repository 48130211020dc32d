"""`ecaser predict`: the saved fold ensemble scores new WAV files of any format and length, window by window, and
refuses bad files and bad model files one line each."""

import json

import librosa
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from ecaser.data import audio, features
from ecaser import models
from ecaser.models.bundle import save as save_model
from ecaser.commands import predict
from ecaser.commands.cli import main as cli
from ecaser.infra.errors import InputError

CLASSES = ["anger", "sadness", "neutral"]
STFT = {"win_length": 400, "hop_length": 160, "n_fft": 512, "n_mels": 64, "sample_rate": 16000}
SR, L = 16000, 48000  # the bundle's 3 s segment


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    spec = models.cnn(CLASSES, 1, 16, "eca", (5, 6), 3)
    folds = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        folds.append({"state_dict": spec.build().state_dict(), "mean": [torch.full((64, 1), -40.0 + seed)],
                      "std": [torch.full((64, 1), 15.0)]})
    path = tmp_path_factory.mktemp("models") / "eca.pt"
    save_model(path, spec, folds, STFT, 3.0, "synthetic-emodb", "v3")
    return path, spec, folds


def test_the_same_model_saves_to_the_same_bytes(bundle, tmp_path):
    """dvc.lock records a model file's MD5: saved twice, elsewhere, under another name, it must not change."""
    path, spec, folds = bundle
    again = tmp_path / "other" / "copy.pt"
    save_model(again, spec, folds, STFT, 3.0, "synthetic-emodb", "v3")
    assert again.read_bytes() == path.read_bytes()


def by_hand(clip, spec, folds, temperatures=(1, 1)):
    """Independently of predict: librosa's log-Mel of one 16 kHz window, each fold's model by hand (its logits over
    its temperature), their mean."""
    logmel = librosa.power_to_db(librosa.feature.melspectrogram(
        y=clip, sr=16000, n_fft=512, hop_length=160, win_length=400, n_mels=64), ref=1.0, amin=1e-10, top_db=None)
    expected = []
    for fold, t in zip(folds, temperatures):
        model = spec.build().eval()
        model.load_state_dict(fold["state_dict"])
        x = (torch.from_numpy(logmel) - fold["mean"][0]) / fold["std"][0]
        with torch.no_grad():
            logits = model(x[None, None].float())[0].numpy().astype(np.float64)
        expected.append(np.exp(logits / t) / np.exp(logits / t).sum())
    return np.mean(expected, axis=0)


def noise(seconds, seed=0, channels=None, sr=SR):
    shape = (round(seconds * sr),) + ((channels,) if channels else ())
    return (0.1 * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def tone(seconds):
    return (0.3 * np.sin(2 * np.pi * 220 * np.arange(round(seconds * SR)) / SR)).astype(np.float32)


def test_window_starts_reach_the_end():
    assert predict.window_starts(116800, L, 24000).tolist() == [0, 24000, 48000, 72000]  # 7.3 s: last one padded
    assert predict.window_starts(120000, L, 24000).tolist() == [0, 24000, 48000, 72000]  # 7.5 s: last one fits
    assert predict.window_starts(L, L, 24000).tolist() == [0]
    assert predict.window_starts(100, L, 24000).tolist() == [0]


def test_a_short_clip_is_scored_as_before_bit_for_bit(bundle, tmp_path):
    path, spec, folds = bundle
    wav = tmp_path / "short.wav"
    stereo_44k = noise(2.2, channels=2, sr=44100)
    sf.write(wav, stereo_44k, 44100)
    result = predict.Predictor(path)(wav)
    [window] = result["windows"]
    assert (window["start"], window["silence"]) == (0.0, False) and window["end"] == pytest.approx(2.2, abs=1e-4)
    assert list(result["probabilities"]) == CLASSES and sum(result["probabilities"].values()) == pytest.approx(1)

    # the code this command had before timelines: one centre-padded segment, each fold's probabilities, their mean
    x, sr = audio.read(wav)
    clip = audio.segment(x, sr, 16000, L, wav)
    logmel = features.LogMel(**STFT)(torch.from_numpy(clip)[None])
    before = []
    for fold in folds:
        model = spec.build().eval()
        model.load_state_dict(fold["state_dict"])
        with torch.inference_mode():
            before.append(model(((logmel - fold["mean"][0]) / fold["std"][0])[:, None]).softmax(dim=1)[0])
    assert list(result["probabilities"].values()) == torch.stack(before).mean(dim=0).tolist()

    # independently: librosa for mono, resampling and log-Mel, numpy for the centre padding
    y = librosa.resample(stereo_44k.mean(axis=1), orig_sr=44100, target_sr=16000)
    d = L - len(y)
    expected = by_hand(np.pad(y, (d // 2, d - d // 2)), spec, folds)
    np.testing.assert_allclose(list(result["probabilities"].values()), expected, atol=1e-4)


def test_a_long_recording_is_windowed_and_its_last_window_centre_padded(bundle, tmp_path):
    path, spec, folds = bundle
    y = noise(7.3)
    sf.write(tmp_path / "long.wav", y, SR)
    result = predict.Predictor(path)(tmp_path / "long.wav", hop_s=1.5)
    windows = result["windows"]
    assert [(w["start"], w["end"]) for w in windows] == [(0, 3), (1.5, 4.5), (3, 6), (4.5, 7.3)]
    # by hand: three whole windows; the last holds 7.3 - 4.5 = 2.8 s, padded by 0.1 s of zeros at each end
    clips = [y[0:48000], y[24000:72000], y[48000:96000], np.pad(y[72000:], (1600, 1600))]
    for w, clip in zip(windows, clips):
        np.testing.assert_allclose(list(w["probabilities"].values()), by_hand(clip, spec, folds), atol=1e-4)
    assert not any(w["silence"] for w in windows)
    mean = np.mean([list(w["probabilities"].values()) for w in windows], axis=0)
    np.testing.assert_allclose(list(result["probabilities"].values()), mean, rtol=1e-6)
    assert result["emotion"] == CLASSES[int(np.argmax(mean))]


def test_silent_windows_are_marked_and_left_out_of_the_summary(bundle, tmp_path):
    path, _, _ = bundle
    sf.write(tmp_path / "gap.wav", np.concatenate([tone(1), np.zeros(int(5.5 * SR), np.float32), tone(1)]), SR)
    result = predict.Predictor(path)(tmp_path / "gap.wav")  # 7.5 s; windows at 0, 1.5, 3, 4.5 s
    assert [w["silence"] for w in result["windows"]] == [False, True, True, False]
    speech = [list(w["probabilities"].values()) for w in result["windows"] if not w["silence"]]
    np.testing.assert_allclose(list(result["probabilities"].values()), np.mean(speech, axis=0), rtol=1e-6)

    sf.write(tmp_path / "zeros.wav", np.zeros(4 * SR, np.float32), SR)
    silent = predict.Predictor(path)(tmp_path / "zeros.wav")
    assert silent["silence"] and silent["emotion"] is None and silent["probabilities"] is None
    assert all(w["silence"] for w in silent["windows"])


def test_outputs_text_json_csv_and_plot(bundle, tmp_path, capsys):
    path, _, _ = bundle
    sf.write(tmp_path / "a.wav", np.concatenate([tone(1), np.zeros(int(5.5 * SR), np.float32), tone(1)]), SR)
    sf.write(tmp_path / "b.wav", noise(2.0), SR)
    sf.write(tmp_path / "z.wav", np.zeros(SR, np.float32), SR)
    files = [str(tmp_path / f"{name}.wav") for name in "abz"]

    cli(["predict", *files, "--model", str(path), "--timeline"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"model {path}: trained on synthetic-emodb, STFT v3; 3 s windows every 1.5 s")
    assert lines.pop(1).startswith("probabilities: the model's softmax, not calibrated (this model file holds no "
                                   "temperature")
    assert lines[1].startswith(f"{files[0]}: ") and lines[1].split()[1] in CLASSES
    assert [line.split()[3] == "silence" for line in lines[2:6]] == [False, True, True, False]
    assert lines[2].split()[:2] == ["0.00", "3.00"] and lines[5].split()[:2] == ["4.50", "7.50"]
    # a speech window's line: its label, then each class's probability, the label's the largest
    start, end, _, label, *named = lines[2].split()
    probs = dict(zip(named[::2], map(float, named[1::2])))
    assert list(probs) == CLASSES and sum(probs.values()) == pytest.approx(1, abs=2e-3)
    assert label == max(probs, key=probs.get) and lines[3].split()[3:] == ["silence"]
    assert lines[6].startswith(f"{files[1]}: ") and lines[7].split()[:2] == ["0.00", "2.00"]
    assert lines[8:] == [f"{files[2]}: silence (no window holds speech)", "      0.00     1.00 s  silence"]

    cli(["predict", *files, "--model", str(path), "--json", "--csv", str(tmp_path / "w.csv"),
         "--plot", str(tmp_path / "t.png")])
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == {"path": str(path), "corpus": "synthetic-emodb", "version": "v3", "classes": CLASSES,
                            "segment_s": 3.0, "hop_s": 1.5, "top_db": 30.0, "calibrated": False,
                            "temperatures": None}
    assert [r["file"] for r in out["files"]] == files
    assert set(out["files"][0]) == {"file", "silence", "emotion", "probabilities", "windows"}
    assert set(out["files"][0]["windows"][0]) == {"start", "end", "silence", "probabilities"}
    assert [len(r["windows"]) for r in out["files"]] == [4, 1, 1]
    rows = pd.read_csv(tmp_path / "w.csv")
    assert list(rows.columns) == ["file", "start", "end", "silence", *CLASSES] and len(rows) == 6
    assert rows["silence"].tolist() == [False, True, True, False, False, True]
    image = matplotlib.image.imread(tmp_path / "t.png")
    assert image.ndim == 3 and image.shape[0] > image.shape[1] / 2  # three subplots stacked
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.wav", "t.png", "w.csv", "z.wav"]  # no tmp


def test_folders_and_glob_patterns(bundle, tmp_path, capsys):
    path, _, _ = bundle
    for name in ["b.wav", "sub/a.WAV", "sub/deeper/c.wav"]:
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / "in" / name, noise(0.5), SR)
    (tmp_path / "in" / "notes.txt").write_text("not audio")
    (tmp_path / "empty").mkdir()
    folder = tmp_path / "in"
    with pytest.raises(SystemExit) as exit:
        cli(["predict", str(folder), str(folder / "sub" / "*" / "*.wav"), str(tmp_path / "empty"),
             str(tmp_path / "*.flac"), "--model", str(path), "--json"])
    assert exit.value.code == 1
    out, err = capsys.readouterr()
    files = [r["file"] for r in json.loads(out)["files"]]
    assert files == [str(folder / "b.wav"), str(folder / "sub/a.WAV"), str(folder / "sub/deeper/c.wav"),
                     str(folder / "sub/deeper/c.wav"), str(tmp_path / "empty"), str(tmp_path / "*.flac")]
    assert err.splitlines() == [f"error: {tmp_path / 'empty'}: no .wav files in this folder",
                                f"error: {tmp_path / '*.flac'}: no file matches it"]


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
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {bad}: cannot read audio")
    results = json.loads(out)["files"]
    assert results[0]["file"] == str(bad) and "error" in results[0]
    assert results[1]["emotion"] in CLASSES and set(results[1]["probabilities"]) == set(CLASSES)


def mismatching_models(spec, folds):
    """A bundle's parts, each spoiled in one way a model file can be wrong."""
    good = {"model": spec.to_dict(), "corpus": "synthetic-emodb", "version": "v3", "stft": STFT, "segment_s": 3.0,
            "folds": folds}
    wider = models.cnn(CLASSES, 2, 16, "eca", (5, 6), 3).to_dict()
    return {
        "no corpus, version": {k: v for k, v in good.items() if k not in ("corpus", "version")},  # the old bundle
        "size mismatch": {**good, "model": wider},
        "win_length": {**good, "stft": {**STFT, "win_length": 1024}},  # a window longer than the FFT
        "window_ms": {**good, "stft": {**STFT, "window_ms": 25}},
        "must match the size": {**good, "folds": [{**folds[0], "mean": [torch.zeros(32, 1)]}]},  # 32 bands, not 64
    }


def test_a_model_file_that_does_not_fit_is_refused_with_one_line(bundle, tmp_path, capsys):
    _, spec, folds = bundle
    (tmp_path / "text.pt").write_text("not a torch file")
    cases = {"not a model file": tmp_path / "text.pt"}
    for i, (says, contents) in enumerate(mismatching_models(spec, folds).items()):
        torch.save(contents, tmp_path / f"{i}.pt")
        cases[says] = tmp_path / f"{i}.pt"
    sf.write(tmp_path / "a.wav", noise(1.0), SR)
    for says, model in cases.items():
        with pytest.raises(SystemExit) as exit:
            cli(["predict", str(tmp_path / "a.wav"), "--model", str(model)])
        err = capsys.readouterr().err
        assert exit.value.code == 2 and err.startswith(f"error: {model}: ") and says in err
        assert len(err.splitlines()) == 1


def test_a_hop_longer_than_the_window_is_refused(bundle, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli(["predict", "x.wav", "--model", str(bundle[0]), "--hop", "4"])
    assert capsys.readouterr().err == "error: --hop must be between one sample and the model's window (3 s), got 4\n"


@pytest.fixture(scope="module")
def calibrated(bundle, tmp_path_factory):
    """The bundle's folds with temperatures 0.5 and 3, as the train_calibrated stage saves them."""
    _, spec, folds = bundle
    path = tmp_path_factory.mktemp("models") / "eca_calibrated.pt"
    save_model(path, spec, [{**fold, "temperature": t} for fold, t in zip(folds, (0.5, 3.0))], STFT, 3.0,
               "synthetic-emodb", "v3")
    return path


def test_a_calibrated_model_divides_each_folds_logits_by_its_temperature(bundle, calibrated, tmp_path):
    _, spec, folds = bundle
    y = noise(3.0, seed=4)
    sf.write(tmp_path / "c.wav", y, SR)
    scaled = predict.Predictor(calibrated)
    assert scaled.calibrated and scaled.temperatures == [0.5, 3.0]
    probs = list(scaled(tmp_path / "c.wav")["probabilities"].values())
    np.testing.assert_allclose(probs, by_hand(y, spec, folds, (0.5, 3.0)), atol=1e-4)
    plain = list(predict.Predictor(bundle[0])(tmp_path / "c.wav")["probabilities"].values())
    assert np.abs(np.subtract(probs, plain)).max() > 1e-3  # the temperatures do something here
    assert int(np.argmax(probs)) == int(np.argmax(by_hand(y, spec, folds, (0.5, 3.0))))


def test_predict_says_whether_its_probabilities_are_calibrated(calibrated, tmp_path, capsys):
    sf.write(tmp_path / "c.wav", noise(3.0), SR)
    cli(["predict", str(tmp_path / "c.wav"), "--model", str(calibrated)])
    assert capsys.readouterr().out.splitlines()[1] == ("probabilities: calibrated by temperature scaling (T = 0.5 to 3 "
                                                       "over 2 folds, each fitted on clips its fold's training held out)")
    cli(["predict", str(tmp_path / "c.wav"), "--model", str(calibrated), "--json"])
    model = json.loads(capsys.readouterr().out)["model"]
    assert (model["calibrated"], model["temperatures"]) == (True, [0.5, 3.0])


def test_a_model_file_with_a_bad_temperature_is_refused(bundle, tmp_path):
    _, spec, folds = bundle
    path = tmp_path / "bad.pt"
    save_model(path, spec, [{**folds[0], "temperature": 0.0}, folds[1]], STFT, 3.0, "synthetic-emodb", "v3")
    with pytest.raises(InputError, match=r"bad.pt: the model file does not fit .*temperatures must be > 0"):
        predict.Predictor(path)


def test_the_default_model_follows_calibration_temperature(calibrated, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli(["predict", "x.wav"])
    assert capsys.readouterr().err == ("error: params.yaml: not found, so no default model: run predict in the "
                                       "repository, or name a model file with --model\n")
    for setting, path, stage in (("true", "models/eca_calibrated.pt", "train_calibrated"),
                                 ("false", "models/eca_augmented.pt", "augment_train")):
        (tmp_path / "params.yaml").write_text(f"calibration: {{validation_folds: 5, temperature: {setting}}}\n")
        with pytest.raises(SystemExit):
            cli(["predict", "x.wav"])
        assert capsys.readouterr().err == f"error: {path}: model not found (make it with `dvc repro {stage}`)\n"
    (tmp_path / "params.yaml").write_text("calibration: {validation_folds: 5, temperature: yes please}\n")
    with pytest.raises(SystemExit):
        cli(["predict", "x.wav"])
    assert capsys.readouterr().err == ("error: params: 'calibration.temperature' must be true or false, got "
                                       "'yes please'\n")
    (tmp_path / "params.yaml").write_text("calibration: {validation_folds: 5, temperature: true}\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "eca_calibrated.pt").write_bytes(calibrated.read_bytes())
    sf.write(tmp_path / "x.wav", noise(3.0), SR)
    cli(["predict", "x.wav"])
    assert capsys.readouterr().out.startswith("model models/eca_calibrated.pt: trained on synthetic-emodb")


def test_missing_model_says_how_to_make_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli(["predict", "x.wav", "--model", "models/eca.pt"])
    assert capsys.readouterr().err == "error: models/eca.pt: model not found\n"


def windows(*spans):
    """predict's windows for (start, end, silence, anger's probability) tuples; the rest split evenly."""
    return [{"start": s, "end": e, "silence": q, "probabilities": dict(zip(CLASSES, (p, (1 - p) / 2, (1 - p) / 2)))}
            for s, e, q, p in spans]


def test_the_plot_spans_each_recording_from_0_s_and_draws_each_window_over_its_stretch():
    spoken = {"file": "a.wav", "emotion": "anger", "windows": windows((0, 3, False, 0.6), (1.5, 4.5, True, 0.1),
                                                                       (3, 6, False, 0.8), (4.5, 6.2, False, 0.7))}
    fig = predict.figure([spoken], CLASSES, "models/eca.pt")
    [ax] = fig.axes
    assert ax.get_xlim() == (0, 6.2)
    anger = next(line for line in ax.get_lines() if line.get_label() == "anger")
    # centres 1.5, 3, 4.5, 5.35: each window from halfway to its neighbours' centres, the first from 0, the last to
    # the end; the silent one drawn as a gap (and shaded)
    np.testing.assert_allclose(anger.get_xdata(), [0, 2.25, 2.25, 3.75, 3.75, 4.925, 4.925, 6.2])
    np.testing.assert_array_equal(anger.get_ydata(), [0.6, 0.6, np.nan, np.nan, 0.8, 0.8, 0.7, 0.7])
    [shade] = ax.patches
    assert (shade.get_x(), shade.get_width()) == pytest.approx((2.25, 1.5))
    assert ax.get_title() == "a.wav: anger (model models/eca.pt)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [*CLASSES, "silence"]


def test_silence_is_in_the_legend_only_when_some_window_is_silent():
    files = [{"file": name, "emotion": "neutral", "windows": windows((0, 2.5, False, 0.2))} for name in "ab"]
    fig = predict.figure(files, CLASSES, "m.pt")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == CLASSES
    assert fig.axes[1].get_legend() is None and fig.axes[1].get_xlim() == (0, 2.5)
    quiet = {"file": "q.wav", "emotion": None, "windows": windows((0, 3, True, 0.5))}
    assert predict.figure([quiet], CLASSES, "m.pt").axes[0].get_title() == "q.wav: silence throughout (model m.pt)"
