"""openSMILE's eGeMAPSv02 functionals of every segment: 88 features per clip, as the field's standard baseline.

The extended Geneva Minimalistic Acoustic Parameter Set (Eyben et al., IEEE TAC 2016): pitch, jitter, shimmer,
loudness, HNR, formants, spectral slopes and MFCCs 1-4 over the clip, their means, spreads and percentiles. Taken
from openSMILE's own engine and configuration (the opensmile package's FeatureSet.eGeMAPSv02, functionals level),
one clip at a time, from the same fixed-length 16 kHz segments the CNN sees (data/segments/audio.npy).
"""

from pathlib import Path

import numpy as np

from ..data import dataset
from ..infra import atomic, progress
from ..infra.errors import InputError

EGEMAPS = Path("data/egemaps/features.npy")
FEATURES = 88


def smile():
    """openSMILE's eGeMAPSv02 functionals extractor; opensmile is imported only where it is used."""
    import opensmile

    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


def names():
    """The 88 features' names, in the columns' order."""
    return list(smile().feature_names)


def extract(clip, sample_rate, extractor=None):
    """The 88 functionals of one clip [samples] (float32)."""
    values = (extractor or smile()).process_signal(np.asarray(clip, dtype=np.float32), sample_rate).to_numpy()
    return values.reshape(-1).astype(np.float32)


def compute(audio, sample_rate, out=EGEMAPS):
    """Write `out`: float32 [N, 88], rows as in `audio` [N, samples], whole or not at all."""
    if audio.ndim != 2 or not len(audio):
        raise InputError(f"{dataset.SEGMENTS / 'audio.npy'}: expected clips [N, samples], got shape {audio.shape}")
    extractor = smile()
    with atomic.open_npy(out, (len(audio), FEATURES), np.float32) as features:
        for i in progress.bar(range(len(audio)), desc="egemaps", unit="clip"):
            features[i] = extract(audio[i], sample_rate, extractor)


def load(n_rows, path=EGEMAPS):
    """The [N, 88] features, refusing a file that is missing or does not belong to the manifest."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: features not found (run `dvc repro egemaps`)")
    features = np.load(path)
    if features.shape != (n_rows, FEATURES):
        raise InputError(f"{path}: shape {features.shape} does not match the manifest's {n_rows} clips x {FEATURES}")
    return features
