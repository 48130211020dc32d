"""The saved model file (`models/eca.pt`, `models/eca_augmented.pt`): a training run's fold models and what it takes
to turn a WAV into their input. Written by the training stage that keeps its models, read by `predict` and the
cross-corpus scores, so its format lives here, beside the models, and neither side imports the other.

A bundle is a plain dict of tensors, numbers and strings, read back with torch's weights-only loader: a model file
is data, and loading it never runs code.
"""

import io
from pathlib import Path

import torch

from ..infra import atomic
from ..infra.errors import InputError

KEYS = ("model", "corpus", "version", "stft", "segment_s", "folds")


def save(path, spec, fold_models, stft, segment_s, corpus, version):
    """Everything predict needs to turn a WAV into the model's input, and what to tell the user scored it."""
    bundle = {"model": spec.to_dict(), "corpus": corpus, "version": version, "stft": dict(stft),
              "segment_s": segment_s, "folds": fold_models}
    # through a buffer: given a path, torch names the archive's folder after the file, here a random
    # temporary name, and the same model would get other bytes, another MD5 in dvc.lock, at every run
    buffer = io.BytesIO()
    torch.save(bundle, buffer)
    atomic.write_bytes(path, buffer.getvalue())


def load(path):
    """The bundle dict of a model file, refused with one line when it is missing, unreadable or incomplete."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model not found")
    try:
        bundle = torch.load(path, weights_only=True)
    except Exception:  # torch raises several types, with advice on unsafe loading that does not apply here
        raise InputError(f"{path}: not a model file (torch cannot load it)") from None
    missing = [key for key in KEYS if key not in bundle] if isinstance(bundle, dict) else list(KEYS)
    if missing:
        raise InputError(f"{path}: the model file has no {', '.join(missing)} (an older bundle? make it again)")
    return bundle
