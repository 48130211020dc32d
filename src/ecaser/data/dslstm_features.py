"""The Dual-Sequence LSTM baseline's inputs: 39 MFCC features and two log-Mel spectrograms of every segment.

The authors (Wang et al., ICASSP 2020) took the MFCCs from openSMILE's MFCC12_E_D_A.conf and the spectrograms from
librosa. The MFCCs come from openSMILE's own engine here too (the opensmile package), through mfcc12_e_d_a.conf beside
this file, which sets up the same components; the spectrograms are batched torch with librosa's filters.
"""

from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch

from ..infra import atomic, progress, runtime
from . import dataset, features

MFCC_CONFIG = Path(__file__).with_name("mfcc12_e_d_a.conf")
# mfcc: frames of mfcc12_e_d_a.conf (seconds, as there); fine / coarse: the authors' librosa calls, hop n_fft / 2
# and n_fft / 4 Mel bins, at our 16 kHz. librosa's Slaney filters leave none of these Mel bands empty.
STREAMS = {
    "mfcc": {"frame_s": 0.025, "step_s": 0.010, "features": 39},
    "fine": {"n_fft": 512, "win_length": 512, "hop_length": 256, "n_mels": 128},
    "coarse": {"n_fft": 1024, "win_length": 1024, "hop_length": 512, "n_mels": 256},
}


def shapes(n_samples, sample_rate):
    """{stream: (features, frames)} of one clip of n_samples: the MFCC frames are whole frames from sample 0."""
    frame, hop = (round(STREAMS["mfcc"][key] * sample_rate) for key in ("frame_s", "step_s"))
    mfcc = (STREAMS["mfcc"]["features"], 1 + (n_samples - frame) // hop)
    spectrograms = {name: (STREAMS[name]["n_mels"], features.frames(n_samples, STREAMS[name]["hop_length"]))
                    for name in ("fine", "coarse")}
    return {"mfcc": mfcc, **spectrograms}


def mfcc(audio, sample_rate):
    """Audio [B, samples] -> [B, 39, frames]: MFCC 1-12, log energy, their deltas and accelerations, by openSMILE.

    openSMILE takes one signal at a time (about 10 ms for a 3 s clip here); it is imported only where it is used.
    """
    import opensmile

    smile = opensmile.Smile(feature_set=str(MFCC_CONFIG), feature_level="lld")
    return np.stack([smile.process_signal(clip, sample_rate).to_numpy().T for clip in audio])


def spectrograms(sample_rate):
    """{stream: torch module [B, samples] -> [B, n_mels, frames]} of the two log-Mel streams."""
    return {name: features.LogMel(sample_rate, **STREAMS[name]) for name in ("fine", "coarse")}


def extract(batch, modules, sample_rate):
    """{stream: float32 array [B, features, frames]} of one batch of audio [B, samples] (a tensor)."""
    return {"mfcc": mfcc(batch.cpu().numpy(), sample_rate),
            **{name: module(batch).cpu().numpy() for name, module in modules.items()}}


def compute(audio, sample_rate, batch_size=None, out_dir=dataset.DSLSTM, device_name=None):
    """Write mfcc.npy, fine.npy and coarse.npy (float16 [N, features, frames], rows as in `audio` [N, samples])."""
    dev, batch_size = runtime.device(device_name), batch_size or runtime.stft_batch()
    modules = {name: module.to(dev) for name, module in spectrograms(sample_rate).items()}
    with ExitStack() as stack, torch.inference_mode():
        arrays = {
            name: stack.enter_context(atomic.open_npy(Path(out_dir) / f"{name}.npy", (len(audio), *shape), np.float16))
            for name, shape in shapes(audio.shape[1], sample_rate).items()
        }
        for start in progress.bar(range(0, len(audio), batch_size), desc="dslstm features", unit="batch"):
            batch = torch.from_numpy(np.array(audio[start : start + batch_size])).to(dev)
            for name, values in extract(batch, modules, sample_rate).items():
                arrays[name][start : start + len(batch)] = values

