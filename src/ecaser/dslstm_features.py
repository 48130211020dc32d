"""The Dual-Sequence LSTM baseline's inputs: 39 MFCC features and two log-Mel spectrograms of every segment.

The authors (Wang et al., ICASSP 2020) took the MFCCs from openSMILE's MFCC12_E_D_A.conf and the spectrograms from
librosa; both are redone here in batched torch, so one stage computes the three arrays of all segments without
openSMILE and without a per-clip loop (only the deltas go through librosa, on whole batches).
"""

from contextlib import ExitStack
from pathlib import Path

import librosa
import numpy as np
import torch
from tqdm import tqdm

from . import atomic, dataset, features
from . import runtime

DSLSTM = Path("data/dslstm")
# mfcc: openSMILE MFCC12_E_D_A (times in seconds, as there); fine / coarse: the authors' librosa calls, hop
# n_fft / 2 and n_fft / 4 Mel bins, at our 16 kHz. librosa's Slaney filters leave none of these Mel bands empty.
STREAMS = {
    "mfcc": {"frame_s": 0.025, "step_s": 0.010, "n_mels": 26, "cepstra": 12, "lifter": 22.0, "preemphasis": 0.97,
             "fmax": 8000.0},
    "fine": {"n_fft": 512, "win_length": 512, "hop_length": 256, "n_mels": 128},
    "coarse": {"n_fft": 1024, "win_length": 1024, "hop_length": 512, "n_mels": 256},
}
DELTA_WIDTH = 5  # openSMILE's deltawin = 2: the regression over frames t-2 .. t+2, for deltas and delta-deltas alike
HTK_SCALE = 32767.0  # HTK reads 16-bit sample values; openSMILE's htkcompatible mode scales back to them


def mfcc_geometry(sample_rate, frame_s, step_s):
    """Frame length, hop and FFT size in samples: openSMILE pads each frame to the next power of two."""
    frame, hop = round(frame_s * sample_rate), round(step_s * sample_rate)
    return frame, hop, 1 << (frame - 1).bit_length()


def shapes(n_samples, sample_rate):
    """{stream: (features, frames)} of one clip of n_samples: the MFCC frames are whole frames from sample 0."""
    frame, hop, _ = mfcc_geometry(sample_rate, STREAMS["mfcc"]["frame_s"], STREAMS["mfcc"]["step_s"])
    mfcc = (3 * (STREAMS["mfcc"]["cepstra"] + 1), 1 + (n_samples - frame) // hop)
    spectrograms = {name: (STREAMS[name]["n_mels"], features.frames(n_samples, STREAMS[name]["hop_length"]))
                    for name in ("fine", "coarse")}
    return {"mfcc": mfcc, **spectrograms}


class Mfcc(torch.nn.Module):
    """Audio [B, samples] -> [B, 13, frames]: MFCC 1-12, then log energy, as openSMILE's htkcompatible mode makes them.

    Frames start at sample 0 without padding; each is pre-emphasised on its own (its first sample times 1 - k),
    weighted by a symmetric Hamming window and zero-padded to the FFT size; HTK-Mel bands (unit-height triangles)
    of the power spectrum, natural log with floor 1, DCT-II rows 1..12 scaled sqrt(2 / bands), HTK's lifter
    1 + L/2 sin(pi i / L). Log energy is that of the raw frame (no pre-emphasis, no window), floored at 1. Both logs
    see samples on the 16-bit scale, as HTK does. librosa's HTK filters are triangles in Hz where openSMILE's are
    triangles in mel: a small difference in the band weights, kept so the filters have a public reference.
    """

    def __init__(self, sample_rate, frame_s, step_s, n_mels, cepstra, lifter, preemphasis, fmax):
        super().__init__()
        self.frame, self.hop, self.n_fft = mfcc_geometry(sample_rate, frame_s, step_s)
        self.preemphasis = preemphasis
        mel = librosa.filters.mel(
            sr=sample_rate, n_fft=self.n_fft, n_mels=n_mels, fmin=0.0, fmax=min(fmax, sample_rate / 2),
            htk=True, norm=None,
        )
        i = torch.arange(1, cepstra + 1, dtype=torch.float64)[:, None]
        m = torch.arange(n_mels, dtype=torch.float64)
        dct = (2 / n_mels) ** 0.5 * torch.cos(torch.pi * i * (m + 0.5) / n_mels)
        self.register_buffer("mel", torch.from_numpy(mel))
        self.register_buffer("dct", (dct * (1 + lifter / 2 * torch.sin(torch.pi * i / lifter))).float())
        self.register_buffer("window", torch.hamming_window(self.frame, periodic=False))

    def forward(self, audio):
        frames = (audio * HTK_SCALE).unfold(-1, self.frame, self.hop)  # [B, T, frame]
        energy = torch.log(torch.clamp(frames.square().sum(-1), min=1.0))
        k = self.preemphasis
        emphasised = torch.cat([frames[..., :1] * (1 - k), frames[..., 1:] - k * frames[..., :-1]], dim=-1)
        spec = torch.fft.rfft(emphasised * self.window, n=self.n_fft)
        power = spec.real.square() + spec.imag.square()
        log_mel = torch.log(torch.clamp(power @ self.mel.T, min=1.0))
        return torch.cat([log_mel @ self.dct.T, energy[..., None]], dim=-1).transpose(1, 2)


def with_deltas(static):
    """[B, 13, T] -> [B, 39, T]: the coefficients, their deltas and the deltas of those (HTK's acceleration).

    mode="nearest" repeats the edge frames, HTK's rule at the ends of an utterance.
    """
    delta = librosa.feature.delta(static, width=DELTA_WIDTH, axis=-1, mode="nearest")
    accel = librosa.feature.delta(delta, width=DELTA_WIDTH, axis=-1, mode="nearest")
    return np.concatenate([static, delta, accel], axis=1)


def transforms(sample_rate):
    """{stream: torch module [B, samples] -> [B, features, frames]}; the MFCC one without its deltas yet."""
    mfcc = Mfcc(sample_rate, **STREAMS["mfcc"])
    return {"mfcc": mfcc, **{name: features.LogMel(sample_rate, **STREAMS[name]) for name in ("fine", "coarse")}}


def extract(batch, modules):
    """{stream: float32 array [B, features, frames]} of one batch of audio [B, samples]."""
    out = {name: module(batch).cpu().numpy() for name, module in modules.items()}
    out["mfcc"] = with_deltas(out["mfcc"])
    return out


def compute(audio, sample_rate, batch_size=None, out_dir=DSLSTM, device_name=None):
    """Write mfcc.npy, fine.npy and coarse.npy (float16 [N, features, frames], rows as in `audio` [N, samples])."""
    dev, batch_size = runtime.device(device_name), batch_size or runtime.stft_batch()
    modules = {name: module.to(dev) for name, module in transforms(sample_rate).items()}
    with ExitStack() as stack, torch.inference_mode():
        arrays = {
            name: stack.enter_context(atomic.open_npy(Path(out_dir) / f"{name}.npy", (len(audio), *shape), np.float16))
            for name, shape in shapes(audio.shape[1], sample_rate).items()
        }
        for start in tqdm(range(0, len(audio), batch_size), desc="dslstm features", unit="batch", disable=None):
            batch = torch.from_numpy(np.array(audio[start : start + batch_size])).to(dev)
            for name, values in extract(batch, modules).items():
                arrays[name][start : start + len(batch)] = values


def load(n_rows, root=DSLSTM):
    """The (mfcc, fine, coarse) arrays, memory-mapped; InputError names a file that is missing or has other rows."""
    return tuple(dataset.load_features(name, n_rows, Path(root) / f"{name}.npy", "dslstm_features") for name in STREAMS)
