"""The Dual-Sequence LSTM baseline: its cell against the equations, its shapes and size, and its input features."""

import warnings

import librosa
import numpy as np
import pytest
import torch

from ecaser.data import dataset, dslstm_features, features
from ecaser.infra.errors import InputError
from ecaser.models.dslstm import DSLSTM, DualSequenceLSTM, DualSequenceLSTMCell

SR = 16000


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_cell_matches_hand_computation():
    dx, dy, hidden = 3, 2, 4
    torch.manual_seed(0)
    cell = DualSequenceLSTMCell(dx, dy, hidden).double()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, dx)), rng.standard_normal((2, dy))
    h, c = rng.standard_normal((2, 2, hidden))
    wx, wy = cell.x_proj.weight.detach().numpy(), cell.y_proj.weight.detach().numpy()
    wh, b = cell.h_proj.weight.detach().numpy(), cell.h_proj.bias.detach().numpy()
    rows = [slice(k * hidden, (k + 1) * hidden) for k in range(6)]  # f, i_T, i_F, o, candidate T, candidate F
    xyh = np.concatenate([x, y, h], axis=1)
    f, i_t, i_f, o = (sigmoid(xyh @ np.concatenate([wx[r], wy[r], wh[r]], axis=1).T + b[r]) for r in rows[:4])
    candidate_t = np.tanh(np.concatenate([x, h], axis=1) @ np.concatenate([wx[rows[4]], wh[rows[4]]], axis=1).T
                          + b[rows[4]])
    candidate_f = np.tanh(np.concatenate([y, h], axis=1) @ np.concatenate([wy[rows[4]], wh[rows[5]]], axis=1).T
                          + b[rows[5]])
    c_new = f * c + i_t * candidate_t + i_f * candidate_f
    h_new = o * np.tanh(c_new)
    got_h, got_c = cell(*map(torch.from_numpy, (x, y)), (torch.from_numpy(h), torch.from_numpy(c)))
    np.testing.assert_allclose(got_c.detach().numpy(), c_new, rtol=1e-12)
    np.testing.assert_allclose(got_h.detach().numpy(), h_new, rtol=1e-12)
    zero_h, _ = cell(torch.from_numpy(x), torch.from_numpy(y))
    expected, _ = cell(torch.from_numpy(x), torch.from_numpy(y), (torch.zeros(2, hidden, dtype=torch.float64),) * 2)
    torch.testing.assert_close(zero_h, expected, rtol=0, atol=0)


def test_stacked_layers_step_the_cells_and_feed_y_to_every_layer():
    torch.manual_seed(0)
    lstm = DualSequenceLSTM(3, 2, 4, layers=2).double()
    assert [(c.x_proj.in_features, c.y_proj.in_features) for c in lstm.cells] == [(3, 2), (4, 2)]
    x, y = torch.randn(2, 5, 3, dtype=torch.float64), torch.randn(2, 5, 2, dtype=torch.float64)
    below = x
    for cell in lstm.cells:
        state, steps = None, []
        for t in range(5):
            state = cell(below[:, t], y[:, t], state)
            steps.append(state[0])
        below = torch.stack(steps, dim=1)
    torch.testing.assert_close(lstm(x, y), below, rtol=1e-12, atol=1e-12)


def input_shapes(seconds):
    return dslstm_features.shapes(seconds * SR, SR)


# frames through each layer's conv (time kernel 2, no padding: -1; kernel 4, padding 1: -1) and pooling (halved):
# 3 s: fine 188 -> 187 -> 93 -> 92 -> 46, averaged (46 - 3) // 2 + 1 = 22; coarse 94 -> 93 -> 46 -> 45 -> 22
# 6 s: fine 376 -> 375 -> 187 -> 186 -> 93, averaged (93 - 3) // 2 + 1 = 46; coarse 188 -> 187 -> 93 -> 92 -> 46
@pytest.mark.parametrize(("seconds", "steps"), [(3, 22), (6, 46)])
def test_output_shapes_and_aligned_sequences(seconds, steps):
    shapes = input_shapes(seconds)
    frame, hop = 400, 160  # 25 ms every 10 ms
    assert shapes == {"mfcc": (39, 1 + (seconds * SR - frame) // hop), "fine": (128, 1 + seconds * SR // 256),
                      "coarse": (256, 1 + seconds * SR // 512)}
    model = DSLSTM(7).eval()
    mfcc, fine, coarse = (torch.randn(2, *shapes[name]) for name in ("mfcc", "fine", "coarse"))
    with torch.no_grad():
        mfcc_logits, spectrogram_logits = model(mfcc, fine, coarse)
        pooled = torch.nn.functional.avg_pool1d(model.fine_cnn(fine.unsqueeze(1)).flatten(1, 2), 3, 2)
        coarser = model.coarse_cnn(coarse.unsqueeze(1)).flatten(1, 2)
        x, y = model.sequences(fine, coarse)
    assert mfcc_logits.shape == spectrogram_logits.shape == (2, 7)
    assert pooled.shape[-1] == coarser.shape[-1] == steps  # equal lengths: the crop drops nothing
    assert x.shape == (2, steps, 16 * 31) and y.shape == (2, steps, 16 * 63)


def closed_form_parameters(classes, hidden=200, mfcc_dim=39):
    lstm = 4 * hidden * (mfcc_dim + hidden) + 8 * hidden + 4 * hidden * 2 * hidden + 8 * hidden
    taps = 4 * 2
    front_end = (64 * taps + 64) + 2 * 64 + (16 * 64 * taps + 16) + 2 * 16
    dx, dy = 16 * 31, 16 * 63  # Mel rows: 128 -> 127 -> 63 -> 62 -> 31 and 256 -> 255 -> 127 -> 126 -> 63
    ds_lstm = sum(5 * hidden * (d_in + dy) + 6 * hidden * (hidden + 1) for d_in in (dx, hidden))
    return lstm + 2 * front_end + ds_lstm + 2 * (hidden * classes + classes)


@pytest.mark.parametrize(("classes", "total"), [(4, 3_728_296), (7, 3_729_502)])
def test_parameter_count_is_the_closed_form(classes, total):
    model = DSLSTM(classes)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == closed_form_parameters(classes) == total


def test_backward_gives_finite_gradients_everywhere():
    torch.manual_seed(0)
    model = DSLSTM(4)
    shapes = input_shapes(1)
    mfcc_logits, spectrogram_logits = model(*(torch.randn(3, *shapes[n]) for n in ("mfcc", "fine", "coarse")))
    labels = torch.tensor([0, 1, 3])
    loss = (torch.nn.functional.cross_entropy(mfcc_logits, labels)
            + torch.nn.functional.cross_entropy(spectrogram_logits, labels)) / 2
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


@pytest.fixture(scope="module")
def clips():
    """Two 1 s clips: noise, and a harmonic tone after a near-silent start (exercises the floors)."""
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    tone = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 8)) * (t > 0.4) + rng.standard_normal(SR) * 1e-6
    return np.stack([rng.standard_normal(SR) * 0.1, 0.3 * tone]).astype(np.float32)


@pytest.fixture(scope="module")
def ours(clips):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no empty Mel filter, nor any other warning, at these settings
        modules = dslstm_features.spectrograms(SR)
    return dslstm_features.extract(torch.from_numpy(clips), modules, SR)


@pytest.mark.parametrize("name", ["fine", "coarse"])
def test_spectrograms_equal_librosa(clips, ours, name):
    s = dslstm_features.STREAMS[name]
    reference = np.stack([
        librosa.power_to_db(
            librosa.feature.melspectrogram(y=clip, sr=SR, n_fft=s["n_fft"], hop_length=s["hop_length"],
                                           n_mels=s["n_mels"], center=True, pad_mode="constant"),
            ref=1.0, amin=1e-10, top_db=None,
        )
        for clip in clips
    ])
    assert ours[name].shape == reference.shape == (2, s["n_mels"], features.frames(SR, s["hop_length"]))
    # Within 80 dB of each clip's peak two float32 FFTs agree to 0.001 dB on the noise; the tone's leakage between
    # its harmonics lies 75 dB down, where float32 round-off reaches 0.002 dB, so the tone gets a looser bound.
    loud = reference > reference.max(axis=(1, 2), keepdims=True) - 80
    for clip, atol in enumerate([1e-3, 5e-3]):
        np.testing.assert_allclose(ours[name][clip][loud[clip]], reference[clip][loud[clip]], atol=atol, rtol=0)


def htk_mfcc(clip):
    """MFCC12_E_D_A's statics by their definition, in float64 numpy: MFCC 1-12 (lifter 22), then log energy.

    Frames from sample 0, each pre-emphasised on its own and Hamming-windowed, on the 16-bit scale; librosa's HTK
    Mel filters, which are triangles in Hz where openSMILE's are triangles in mel.
    """
    frames = librosa.util.frame(clip.astype(np.float64) * 32767, frame_length=400, hop_length=160)  # [400, T]
    energy = np.log(np.maximum((frames ** 2).sum(axis=0), 1.0))
    emphasised = np.concatenate([frames[:1] * 0.03, frames[1:] - 0.97 * frames[:-1]])
    power = np.abs(np.fft.rfft(emphasised * np.hamming(400)[:, None], n=512, axis=0)) ** 2
    mel = librosa.filters.mel(sr=SR, n_fft=512, n_mels=26, fmin=0.0, fmax=8000.0, htk=True, norm=None)
    log_mel = np.log(np.maximum(mel @ power, 1.0))
    cepstra = librosa.feature.mfcc(S=log_mel, n_mfcc=13, dct_type=2, norm="ortho", lifter=0)[1:]
    i = np.arange(1, 13)[:, None]
    return np.concatenate([cepstra * (1 + 11 * np.sin(np.pi * i / 22)), energy[None]])


def regression(c):
    """HTK's delta over t-2 .. t+2 along the last axis, edge frames repeated."""
    p = np.pad(c, ((0, 0), (0, 0), (2, 2)), mode="edge")
    t = c.shape[-1]
    return sum(n * (p[..., 2 + n : 2 + n + t] - p[..., 2 - n : 2 - n + t]) for n in (1, 2)) / 10


def test_opensmile_mfccs_against_their_definition(clips, ours):
    """How far openSMILE's engine (what the stage uses) is from MFCC12_E_D_A written out by hand (what it replaced):
    log energy and the deltas agree; the cepstra differ by the Mel triangles' shape, up to 2.2 on a range of 68 on
    the harmonic tone; the accelerations of the last two frames follow openSMILE's own end rule."""
    mfcc = ours["mfcc"]
    assert mfcc.shape == (2, 39, 1 + (SR - 400) // 160) == (2, *dslstm_features.shapes(SR, SR)["mfcc"])
    reference = np.stack([htk_mfcc(clip) for clip in clips])
    static, delta, accel = mfcc[:, :13], mfcc[:, 13:26], mfcc[:, 26:]
    np.testing.assert_allclose(static[:, 12], reference[:, 12], rtol=0, atol=1e-3)  # log energy
    cepstra, expected = static[:, :12], reference[:, :12]
    assert 1.0 < np.abs(cepstra - expected).max() < 2.5 and np.abs(expected).max() > 60
    assert np.corrcoef(cepstra.ravel(), expected.ravel())[0, 1] > 0.999
    np.testing.assert_allclose(delta, regression(static), rtol=0, atol=1e-4)
    np.testing.assert_allclose(accel[..., :-2], regression(delta)[..., :-2], rtol=0, atol=1e-4)
    assert 0.01 < np.abs(accel[..., -2:] - regression(delta)[..., -2:]).max() < 1.0


def test_compute_writes_what_load_reads(clips, ours, tmp_path):
    audio = np.concatenate([clips, clips[:1]])
    dslstm_features.compute(audio, SR, batch_size=2, out_dir=tmp_path, device_name="cpu")
    arrays = dataset.load_dslstm(3, tmp_path)
    assert tuple(dslstm_features.STREAMS) == dataset.DSLSTM_STREAMS  # training reads them in the order written
    for array, name in zip(arrays, ("mfcc", "fine", "coarse")):
        assert isinstance(array, np.memmap) and array.dtype == np.float16
        expected = np.concatenate([ours[name], ours[name][:1]])
        np.testing.assert_allclose(array.astype(np.float32), expected, rtol=1e-3, atol=1e-4)
    with pytest.raises(InputError, match="mfcc.npy: shape"):
        dataset.load_dslstm(4, tmp_path)
    (tmp_path / "coarse.npy").unlink()
    with pytest.raises(InputError, match=r"coarse.npy: features not found \(run `dvc repro dslstm_features`\)"):
        dataset.load_dslstm(3, tmp_path)


def test_bf16_autocast_keeps_both_recurrences_in_float32_and_trains():
    """Under bf16 autocast the matmuls may run in bfloat16, but the MFCC LSTM and the DS-LSTM's state stay in float32
    (cuDNN would run nn.LSTM in float16, oneDNN in bfloat16); logits and gradients stay near float32's."""
    torch.manual_seed(0)
    model = DSLSTM(4, hidden=16).train()
    shapes = input_shapes(1)
    inputs = [torch.randn(3, *shape) for shape in shapes.values()]
    seen = {}
    model.mfcc_lstm.register_forward_hook(lambda module, args, out: seen.update(lstm=out[0].dtype))
    model.ds_lstm.register_forward_hook(lambda module, args, out: seen.update(ds_lstm=out.dtype))

    def run(bf16):
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(*inputs)
        sum(l.float().square().mean() for l in logits).backward()
        return [l.float().detach() for l in logits], {n: p.grad.clone() for n, p in model.named_parameters()}

    reference, reference_grads = run(False)
    logits, grads = run(True)
    assert seen == {"lstm": torch.float32, "ds_lstm": torch.float32}
    for got, want in zip(logits, reference):
        torch.testing.assert_close(got, want, rtol=0.05, atol=0.05)
    for name, grad in grads.items():
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, name
        if reference_grads[name].norm() > 1e-4:  # not the front-ends' conv biases: batch norm cancels them
            cosine = torch.nn.functional.cosine_similarity(grad.flatten(), reference_grads[name].flatten(), dim=0)
            assert cosine > 0.98, name
