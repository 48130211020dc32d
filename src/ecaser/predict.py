"""The proposed model as a predictor of new WAV files: the cross-validation's fold models, as an ensemble.

The fold models of the `train_eca` stage are kept rather than a model retrained on the whole corpus: they are
the models the reported scores belong to, and keeping them costs no extra training. A file's prediction is
the mean of the folds' class probabilities, each fold with its own training-fold normalisation.
"""

from pathlib import Path

import torch

from . import atomic, audio, features, models
from .errors import InputError


def save(path, spec, fold_models, stft, segment_s):
    bundle = {"model": spec.to_dict(), "stft": dict(stft), "segment_s": segment_s, "folds": fold_models}
    with atomic.atomic_path(path) as tmp:
        torch.save(bundle, tmp)


class Predictor:
    def __init__(self, path):
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: model not found (make it with `dvc repro train_eca`)")
        bundle = torch.load(path, weights_only=True)
        spec = models.Spec.from_dict(bundle["model"])
        self.classes, self.stft = list(spec.classes), bundle["stft"]
        self.length = round(bundle["segment_s"] * self.stft["sample_rate"])
        self.logmel = features.LogMel(**self.stft)
        self.folds = []
        for fold in bundle["folds"]:
            model = spec.build()
            model.load_state_dict(fold["state_dict"])
            self.folds.append((model.eval(), fold["mean"][0], fold["std"][0]))  # the CNN's one input stream

    @torch.inference_mode()
    def __call__(self, path):
        """Class probabilities of one file: any rate, mono or stereo, any length (segmented as in training)."""
        x, sr = audio.read(path)
        clip = audio.segment(x, sr, self.stft["sample_rate"], self.length, path)
        logmel = self.logmel(torch.from_numpy(clip)[None])
        probs = [model(((logmel - mean) / std)[:, None]).softmax(dim=1)[0] for model, mean, std in self.folds]
        return dict(zip(self.classes, torch.stack(probs).mean(dim=0).tolist()))
