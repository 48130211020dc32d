import numpy as np
import pytest
import soundfile as sf

from ecaser.data import audio
from ecaser.infra.errors import InputError


@pytest.mark.parametrize(
    "n, length, expected",
    [
        (3, 7, [0, 0, 1, 2, 3, 0, 0]),  # shorter, even difference: 2 + 2
        (4, 7, [0, 1, 2, 3, 4, 0, 0]),  # shorter, odd difference: the extra zero goes at the end
        (5, 5, [1, 2, 3, 4, 5]),  # exactly L
        (7, 3, [3, 4, 5]),  # longer, even difference: 2 cut at each end
        (6, 3, [2, 3, 4]),  # longer, odd difference: 1 cut at the start, 2 at the end
    ],
)
def test_centre_pads_and_crops_symmetrically(n, length, expected):
    x = np.arange(1, n + 1, dtype=np.float32)
    np.testing.assert_array_equal(audio.centre(x, length), expected)


def test_segment_averages_stereo_to_mono():
    left = np.full(100, 0.2, np.float32)
    right = np.full(100, -0.4, np.float32)
    out = audio.segment(np.stack([left, right], axis=1), 16000, 16000, 100, "x.wav")
    np.testing.assert_allclose(out, -0.1, atol=1e-7)


def test_segment_resamples_to_target_rate_keeping_pitch():
    sr = 44100
    t = np.arange(sr) / sr
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    out = audio.segment(tone, sr, 16000, 16000, "tone.wav")
    assert out.shape == (16000,) and out.dtype == np.float32
    peak_hz = np.argmax(np.abs(np.fft.rfft(out))) * 16000 / len(out)
    assert abs(peak_hz - 440) <= 1


def test_read_returns_samples_and_rate(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, np.linspace(-0.5, 0.5, 800, dtype=np.float32), 8000, subtype="PCM_16")
    x, sr = audio.read(path)
    assert sr == 8000 and x.shape == (800,)
    assert x[0] == pytest.approx(-0.5, abs=1e-4)


def test_unreadable_file_names_the_file(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(InputError, match="broken.wav: cannot read audio"):
        audio.read(path)


def test_empty_file_names_the_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(InputError, match="empty.wav: the audio is empty"):
        audio.read(path)


def test_nan_samples_name_the_file(tmp_path):
    path = tmp_path / "nan.wav"
    x = np.zeros(100, np.float32)
    x[50] = np.nan
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(InputError, match="nan.wav: the audio contains NaN"):
        audio.read(path)
