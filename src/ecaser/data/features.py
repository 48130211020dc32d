"""Log-Mel spectrograms for one STFT version, computed in batches with torch (CPU or CUDA).

Same definition as `librosa.feature.melspectrogram(..., center=True, pad_mode="constant", power=2)`
followed by `librosa.power_to_db(ref=1.0, amin=1e-10, top_db=None)`, so the features have a public reference,
but batched through torch.stft: no per-clip Python loop and no numba start-up.
"""

import librosa
import numpy as np
import torch

from ..infra import atomic, progress, runtime
from . import dataset

AMIN = 1e-10  # floor under the power before the log, librosa's default


def frames(n_samples, hop_length):
    """Frame count of a centred STFT: the same for every version because the hop is shared."""
    return 1 + n_samples // hop_length


class LogMel(torch.nn.Module):
    def __init__(self, sample_rate, n_fft, win_length, hop_length, n_mels):
        super().__init__()
        self.n_fft, self.win_length, self.hop_length = n_fft, win_length, hop_length
        mel = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)
        self.register_buffer("mel", torch.from_numpy(mel))
        self.register_buffer("window", torch.hann_window(win_length, periodic=True))

    def forward(self, audio):
        """[B, samples] float32 -> [B, n_mels, frames] log-Mel in dB."""
        spec = torch.stft(
            audio, self.n_fft, self.hop_length, self.win_length, self.window,
            center=True, pad_mode="constant", return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        return 10.0 * torch.log10(torch.clamp(self.mel @ power, min=AMIN))


def compute(audio, out, settings, batch_size=None, device_name=None, desc=None):
    """Fill `out` [N, n_mels, T] from `audio` [N, samples] (both may be memory-mapped) batch by batch."""
    dev, batch_size = runtime.device(device_name), batch_size or runtime.stft_batch()
    logmel = LogMel(**settings).to(dev)
    with torch.inference_mode():
        for start in progress.bar(range(0, len(audio), batch_size), desc=desc, unit="batch"):
            batch = torch.from_numpy(np.array(audio[start : start + batch_size])).to(dev)
            out[start : start + len(batch)] = logmel(batch).cpu().numpy()
    return out


def write(version, settings):
    """Log-Mel features of every segment for one STFT version, written as float16 [N, n_mels, T]."""
    clips = dataset.load_audio()
    shape = (len(clips), settings["n_mels"], frames(clips.shape[1], settings["hop_length"]))
    with atomic.open_npy(dataset.feature_path(version), shape, np.float16) as array:
        compute(clips, array, settings, desc=f"stft {version}")
