"""A training stage's saved fold models (models/bundle.py) as one predictor: the mean of the folds' class
probabilities, each fold with its own training-fold normalisation, on fixed-length windows of audio.

The fold models are kept rather than a model retrained on the whole corpus: they are the models the reported scores
belong to, and keeping them costs no extra training. `predict` scores recordings over time with it and the
cross-corpus stage scores another corpus's clips.

A fold that holds a temperature (the `train_calibrated` stage's model file) divides its logits by it before the softmax:
temperature scaling, fitted on clips its training held out. The ensemble is `calibrated` when every fold has one.
"""

import textwrap

import numpy as np
import torch

from ..data import features
from ..infra import runtime
from ..infra.errors import InputError
from . import Spec, bundle

BATCH = 8  # windows per forward pass; on the CPU larger batches gain nothing (benchmarks/predict.py)


def one_line(error):
    """An exception as one line of bounded length: torch lists every mismatching weight, over many lines."""
    return textwrap.shorten(f"{type(error).__name__}: {error}", 300)


class FoldEnsemble:
    """A model file's fold ensemble, refused with one line when the file is not what it can run."""

    def __init__(self, path):
        saved = bundle.load(path)
        self.corpus, self.version = saved["corpus"], saved["version"]
        self.stft, self.segment_s = saved["stft"], saved["segment_s"]
        try:  # any of the file's parts can be wrong: say which, in one line, rather than fail on the first WAV
            spec = Spec.from_dict(saved["model"])
            if spec.architecture != "cnn":
                raise ValueError(f"a {spec.architecture} model; the ensemble computes the CNN's log-Mel input only")
            self.classes, self.rate = list(spec.classes), self.stft["sample_rate"]
            self.length = round(self.segment_s * self.rate)
            self.logmel = features.LogMel(**self.stft)
            self.folds = []
            for fold in saved["folds"]:
                model = spec.build()
                model.load_state_dict(fold["state_dict"])
                self.folds.append((model.eval(), fold["mean"][0], fold["std"][0]))  # the CNN's one input stream
            self.temperatures = [fold.get("temperature") for fold in saved["folds"]]
            if any(t is not None and not t > 0 for t in self.temperatures):
                raise ValueError(f"temperatures must be > 0, got {self.temperatures}")
            self.probabilities(np.zeros((1, self.length), np.float32))  # every setting computes, shapes fit
        except Exception as e:
            raise InputError(f"{path}: the model file does not fit what the ensemble computes ({one_line(e)})") from None
        runtime.keep_freed_memory()  # a batch's activations are tens of MB: reuse them rather than fault them in

    @torch.inference_mode()
    def probabilities(self, windows):
        """[W, samples] float32 -> [W, classes]: the folds' mean, one forward pass per fold for all W windows."""
        logmel = self.logmel(torch.from_numpy(windows))
        probs = [(model(((logmel - mean) / std)[:, None]) / (t or 1)).softmax(dim=1)
                 for (model, mean, std), t in zip(self.folds, self.temperatures)]
        return torch.stack(probs).mean(dim=0).numpy()

    @property
    def calibrated(self):
        """Whether every fold's probabilities go through its fitted temperature."""
        return all(t is not None for t in self.temperatures)

    def named(self, probs):
        return dict(zip(self.classes, probs.tolist()))
