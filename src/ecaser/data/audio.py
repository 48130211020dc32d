"""Reading clips and turning them into the fixed-length mono segments the features are computed on."""

import numpy as np
import soundfile as sf

from ..infra.errors import InputError


def read(path):
    """Samples as float32 [frames] or [frames, channels], and the file's sample rate."""
    try:
        x, sr = sf.read(path, dtype="float32", always_2d=False)
    except Exception as e:  # soundfile raises several types for unreadable input
        raise InputError(f"{path}: cannot read audio ({e})") from None
    return check(x, path), sr


def check(x, name):
    """Refuse what would silently poison the features: empty clips and non-finite samples."""
    if x.shape[0] == 0:
        raise InputError(f"{name}: the audio is empty (0 samples)")
    if not np.isfinite(x).all():
        raise InputError(f"{name}: the audio contains NaN or infinite samples")
    return x


def to_mono(x):
    return x.mean(axis=1, dtype=np.float32) if x.ndim == 2 else x


def resample(x, sr, target_sr):
    if sr == target_sr:
        return x
    import librosa  # soxr underneath; imported lazily because librosa is slow to import

    return librosa.resample(x, orig_sr=sr, target_sr=target_sr).astype(np.float32)


def centre(x, length):
    """Exactly `length` samples: zero-pad equally at both ends, or keep the centre, as the paper segments.

    With an odd difference the extra sample of padding goes at the end, and the extra cut sample at the end.
    """
    d = length - x.shape[0]
    if d >= 0:
        return np.pad(x, (d // 2, d - d // 2))
    start = -d // 2
    return x[start : start + length]


def segment(x, sr, target_sr, length, name):
    """Any clip (any rate, mono or stereo, any length) -> float32 [length] at target_sr."""
    x = resample(to_mono(check(np.asarray(x, dtype=np.float32), name)), sr, target_sr)
    return centre(x, length)
