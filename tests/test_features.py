from pathlib import Path

import librosa
import numpy as np
import pytest
import torch

from ecaser.data import features
from ecaser.infra import params

SR = 16000
P = params.load(Path(__file__).resolve().parents[1] / "params.yaml")


@pytest.fixture(scope="module")
def clips():
    """Three 3 s clips: noise, a harmonic tone with an onset, and near-silence (exercises the amin floor)."""
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    tone = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 8)) * (t > 1.0)
    quiet = rng.standard_normal(t.size) * 1e-7
    return np.stack([rng.standard_normal(t.size) * 0.1, 0.3 * tone, quiet]).astype(np.float32)


@pytest.mark.parametrize("version", ["v1", "v4", "v8"])
def test_log_mel_equals_librosa(clips, version):
    s = params.stft_version(P, version)
    ours = features.LogMel(**s)(torch.from_numpy(clips)).numpy()
    reference = np.stack([
        librosa.power_to_db(
            librosa.feature.melspectrogram(
                y=clip, sr=SR, n_fft=s["n_fft"], hop_length=s["hop_length"], win_length=s["win_length"],
                window="hann", center=True, pad_mode="constant", power=2.0, n_mels=64,
            ),
            ref=1.0, amin=1e-10, top_db=None,
        )
        for clip in clips
    ])
    assert ours.shape == reference.shape == (3, 64, 301)
    # Two float32 FFTs agree to 0.001 dB within 80 dB of each clip's peak; further down, in the near-silence
    # before the tone's onset, float32 round-off of the leakage dominates and 0.05 dB is what both can promise.
    loud = reference > reference.max(axis=(1, 2), keepdims=True) - 80
    np.testing.assert_allclose(ours[loud], reference[loud], atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours, reference, atol=5e-2, rtol=0)


def test_all_versions_share_the_frame_count(clips):
    x = torch.from_numpy(clips)
    shapes = {features.LogMel(**params.stft_version(P, v))(x).shape for v in P["stft"]["versions"]}
    assert shapes == {(3, 64, features.frames(3 * SR, 160))} and features.frames(3 * SR, 160) == 301


def test_compute_fills_every_row_in_batches(clips):
    s = params.stft_version(P, "v2")
    out = np.zeros((3, 64, 301), np.float16)
    features.compute(clips, out, s, batch_size=2, device_name="cpu")
    whole = features.LogMel(**s)(torch.from_numpy(clips)).numpy()
    np.testing.assert_allclose(out, whole.astype(np.float16), atol=0)
