"""One cross-validated run, as the paper trains and scores: folds -> fit -> predict.

A run trains on one or more STFT versions and tests on one (several only for multi-STFT augmentation:
every training clip appears once per version, the test fold only in the test version). A version is a tuple
of input streams: one log-Mel array for the CNN, MFCCs and two Mel spectrograms for the DS-LSTM. Features stay
memory-mapped and a batch reads just its rows, on a GPU as on the CPU: the code the CPU tests run. Two mechanisms for
a GPU are opt-in until the GPU check has measured them (src/ecaser/infra/runtime.py): ECASER_RESIDENT copies every
version to the device once per run, and ECASER_PARALLEL_FOLDS lets folds take turns a step each, each on its own CUDA
stream; on the CPU both compute exactly what the default computes (tests/test_training.py). Class weights and the
per-feature normalisation come from the training fold alone, and the test fold never chooses anything: scores
are those of the last epoch. A calibrated run (Config.validation_folds) trains each fold on part of its training fold
and fits temperature scaling's one scalar on the rest; its test probabilities are then the scaled ones. Each epoch's test scores are still logged, so the report can show, labelled as
such, the optimistic "best epoch on the test fold" figure that some published baselines report.
"""

from collections import namedtuple
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch

from . import folds
from ..evaluation import calibration, leakage, metrics
from ..infra import progress, runtime
from .losses import FocalLoss, class_weights
from ..models import Spec


@dataclass(frozen=True)
class Config:
    """Everything that decides a run's numbers: the model and how it is trained and scored. Where the run goes (the
    device, folds side by side, features resident) is not here: runtime.py takes it from the environment, and on one
    device it changes no number."""

    model: Spec
    epochs: int
    batch_size: int
    lr: float
    lr_decay: float  # learning rate factor per epoch
    focal_gamma: float
    weighted: bool  # class weights in the loss; cross entropy is focal_gamma 0 without them
    folds: int
    repeats: int  # the k-fold split repeated with other split and initialisation seeds
    protocol: str
    seed: int
    precision: str  # float32, or bfloat16 autocast: it changes the numbers, so it is part of the cache key
    fold_file: str | None = None  # cv.protocol file: the CSV of each clip's fold (cv.fold_file)
    fold_file_md5: str | None = None  # its content, so that an edited fold file is another run (and checkpoint)
    validation_folds: int | None = None  # calibration.validation_folds: each fold trains on all but the first of
    # this many parts of its training fold and fits its temperature there (folds.validation); None: no temperature

    def record(self):
        """The settings as config.json keeps them beside the model's Spec."""
        return {key: value for key, value in asdict(self).items() if key != "model"}


def normaliser(train_features, rows, chunk=256):
    """Per input stream, the mean and std of each feature row (Mel band, MFCC coefficient) over the training rows
    of every training version, accumulated in float64."""
    stats = []
    for stream in range(len(train_features[0])):
        total = np.zeros(train_features[0][stream].shape[1])
        square = np.zeros_like(total)
        count = 0
        for version in train_features:
            for start in range(0, len(rows), chunk):
                x = np.asarray(version[stream][np.sort(rows[start : start + chunk])], dtype=np.float64)
                total += x.sum(axis=(0, 2))
                square += np.square(x).sum(axis=(0, 2))
                count += x.shape[0] * x.shape[2]
        mean = total / count
        std = np.sqrt(np.maximum(square / count - mean**2, 1e-12))
        stats.append((mean.astype(np.float32)[:, None], std.astype(np.float32)[:, None]))
    return stats


class Inputs:
    """Feature versions (each a tuple of input streams [N, features, frames]) and labels, from which batches are cut.

    By default the features stay memory-mapped and a batch reads just its rows, then moves to the device. Resident
    (ECASER_RESIDENT=1), every stream of every version is copied to the device once per run, so a step gathers its
    rows there and nothing crosses the bus; on the CPU it computes what the default computes.
    """

    def __init__(self, versions, labels, dev, resident=False):
        self.versions, self.dev = versions, dev
        self.labels = torch.tensor(labels, device=dev)
        self.on_device = None
        if resident:
            self.on_device = [torch.stack([torch.tensor(np.ascontiguousarray(v[stream]), device=dev) for v in versions])
                              for stream in range(len(versions[0]))]

    def index(self, examples):
        """(version, row) pairs [n, 2] in the form batch() slices: on the device, moved there once per epoch."""
        return examples if self.on_device is None else to_device(examples, self.dev)

    def normaliser(self, rows, chunk=256):
        """normaliser() of the training rows of every version, as tensors on the device. Resident features are
        summed there, in float64 as on the host (in another order: equal to float32 rounding), so that no fold
        starts with a pass over every training clip on the host while the device waits."""
        if self.on_device is None:
            return [(torch.from_numpy(mean).to(self.dev), torch.from_numpy(std).to(self.dev))
                    for mean, std in normaliser(self.versions, rows, chunk)]
        rows, stats = to_device(np.sort(rows), self.dev), []
        for x in self.on_device:  # [versions, N, features, frames]
            total = torch.zeros(x.shape[2], dtype=torch.float64, device=self.dev)
            square = torch.zeros_like(total)
            for start in range(0, len(rows), chunk):
                part = x[:, rows[start : start + chunk]].double()
                total += part.sum(dim=(0, 1, 3))
                square += part.square().sum(dim=(0, 1, 3))
            count = x.shape[0] * len(rows) * x.shape[3]
            mean = total / count
            std = (square / count - mean**2).clamp(min=1e-12).sqrt()
            stats.append((mean.float()[:, None], std.float()[:, None]))
        return stats

    def batch(self, examples, stats):
        """Each stream's rows of (version, row) examples, normalised by stats [(mean, std)], and their labels."""
        versions, rows = examples[:, 0], examples[:, 1]
        if self.on_device is None:
            streams = [torch.from_numpy(self.gather(stream, versions, rows)).to(self.dev)
                       for stream in range(len(stats))]
            rows = torch.from_numpy(rows).to(self.dev)
        else:
            streams = [x[versions, rows] for x in self.on_device]
        return [(x.float() - mean) / std for x, (mean, std) in zip(streams, stats)], self.labels[rows]

    def gather(self, stream, versions, rows):
        """One stream's rows in their stored dtype, read from each version's memory map in one go (torch, not
        numpy, widens float16: numpy's conversion is scalar code, 3x slower than the batch's whole gather)."""
        first = self.versions[0][stream]
        x = np.empty((len(rows), *first.shape[1:]), first.dtype)
        for v in np.unique(versions):
            x[versions == v] = self.versions[v][stream][rows[versions == v]]
        return x


def to_device(array, dev):
    """A host array as a tensor on dev, for resident inputs; to CUDA through pinned memory, so that the host need not
    wait for the copy (a copy from pageable memory blocks it until the device has caught up)."""
    tensor = torch.from_numpy(array)
    return tensor.pin_memory().to(dev, non_blocking=True) if dev.type == "cuda" else tensor.to(dev)


def heads(output):
    """A model's logits as a tuple: one head, or several (the DS-LSTM's two branches) to be averaged."""
    return output if isinstance(output, tuple) else (output,)


def predict(model, inputs, examples, stats, batch_size, precision, logits=False):
    """Class probabilities [n, classes] (with logits: the logits, float32) and each ECA block's channel weights
    {block: [n, C]} of (version, row) examples.

    A model with several heads predicts from their mean logits.
    """
    model.eval()
    probs, eca = [], {}
    with torch.inference_mode(), autocast(inputs.dev, precision):
        for start in range(0, len(examples), batch_size):
            x, _ = inputs.batch(examples[start : start + batch_size], stats)
            z = torch.stack(heads(model(*x))).mean(dim=0).float()
            probs.append(z if logits else z.softmax(dim=1))
            for block, weights in getattr(model, "eca_weights", dict)().items():
                eca.setdefault(block, []).append(weights.float())
    return torch.cat(probs).cpu().numpy(), {block: torch.cat(w).cpu().numpy() for block, w in eca.items()}


def set_precision(precision):
    """float32 means float32 on CUDA too: cuDNN's convolutions otherwise run in TF32 by default."""
    torch.backends.cudnn.allow_tf32 = precision != "float32"
    torch.backends.cuda.matmul.allow_tf32 = precision != "float32"


def autocast(dev, precision):
    """bfloat16 mixed precision where the run asks for it, on any device; a no-op for float32."""
    return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")


@dataclass
class Result:
    predictions: pd.DataFrame  # id, repeat, fold, true, pred, p_<class>: every clip once per repeat, from the fold
    # that held it out
    summary: dict  # metrics.summarise of the folds' last-epoch scores, plus best_test_epoch
    curves: list  # per fold, per epoch: train_loss and test UA, WA, ACC
    eca_weights: dict  # {block: {class: mean channel weights over the test clips of that class}}
    fold_models: list  # per fold: {"state_dict", "mean", "std"[, "temperature"]}, enough to predict new clips
    audit: dict | None = None  # leakage.audit of the folds: the speakers and texts each test fold shares with training
    softmax: pd.DataFrame | None = None  # a calibrated run's predictions before temperature scaling
    temperatures: dict | None = None  # a calibrated run's temperature of each fold {fold: T}


Fitted = namedtuple("Fitted", "probs eca curves state softmax")  # a fold's outcome; softmax: before a temperature


def fit_fold(cfg, train, test, y, train_rows, test_rows, fold, bar, saved=None, held_rows=None):
    """Train one fold's model from scratch, or on from its checkpoint `saved` (a checkpoint.Fold), yielding after
    every optimiser step so that folds can take turns on a device; return its last-epoch predictions, per-epoch
    curves and state (a Fitted). With held_rows (clips of the training fold that train_rows leaves out), the
    state's temperature is fitted on them and the test predictions are scaled by it.

    The fold draws its random numbers from its own seeds (the model's initialisation before its first yield, the
    shuffle from its own generator), so it computes the same whichever folds run beside it.
    """
    dev = train.dev
    torch.manual_seed(cfg.seed * 1000 + fold)
    model = cfg.model.build().to(dev, memory_format=torch.channels_last)  # faster convolutions on CPU and GPU
    weight = class_weights(y[train_rows], len(cfg.model.classes)) if cfg.weighted else None
    loss_fn = FocalLoss(cfg.focal_gamma, weight).to(dev)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=cfg.lr_decay)
    norm = train.normaliser(train_rows)
    # every (version, row) pair of the training fold is one training example
    examples = np.array([(v, r) for v in range(len(train.versions)) for r in train_rows])
    test_examples = test.index(np.stack([np.zeros_like(test_rows), test_rows], axis=1))
    shuffle = np.random.default_rng([cfg.seed, fold])
    curves = []
    resumed = saved and saved.load()
    if resumed:  # go on after the checkpoint's epoch, exactly as the run went on from there
        model.load_state_dict(resumed["model"])
        optimiser.load_state_dict(resumed["optimiser"])
        schedule.load_state_dict(resumed["schedule"])
        shuffle.bit_generator.state = resumed["shuffle"]
        curves, probs, eca = resumed["curves"], resumed["probs"], resumed["eca"]
        bar.update(len(curves))
    for epoch in range(len(curves) + 1, cfg.epochs + 1):
        model.train()
        order = train.index(examples[shuffle.permutation(len(examples))])
        losses = []  # kept on the device: reading each step's loss would make the host wait for the GPU
        for start in range(0, len(order), cfg.batch_size):
            x, target = train.batch(order[start : start + cfg.batch_size], norm)
            with autocast(dev, cfg.precision):
                outputs = heads(model(*x))
                loss = sum(loss_fn(logits.float(), target) for logits in outputs) / len(outputs)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.detach())
            yield
        schedule.step()
        losses = torch.stack(losses).double().to("cpu", non_blocking=True)  # ready once predict has waited
        probs, eca = predict(model, test, test_examples, norm, cfg.batch_size, cfg.precision)
        score = metrics.scores(y[test_rows], probs.argmax(axis=1))
        curves.append({"epoch": epoch, "train_loss": float(np.mean(losses.numpy())), **score})
        bar.set_postfix(fold=fold, epoch=epoch, loss=f"{curves[-1]['train_loss']:.3f}", UA=f"{score['UA']:.1f}")
        bar.update()
        if saved and saved.due(epoch, cfg.epochs):
            saved.save(probs, eca, model=model.state_dict(), optimiser=optimiser.state_dict(),
                       schedule=schedule.state_dict(), shuffle=shuffle.bit_generator.state, curves=curves)
    state = {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
             "mean": [mean.cpu() for mean, _ in norm], "std": [std.cpu() for _, std in norm]}
    if held_rows is None:
        return Fitted(probs, eca, curves, state, None)
    held = test.index(np.stack([np.zeros_like(held_rows), held_rows], axis=1))
    state["temperature"] = calibration.temperature(
        y[held_rows], predict(model, test, held, norm, cfg.batch_size, cfg.precision, logits=True)[0], logits=True)
    logits, _ = predict(model, test, test_examples, norm, cfg.batch_size, cfg.precision, logits=True)
    scaled = calibration.apply_temperature(logits, state["temperature"], logits=True).astype(np.float32)
    return Fitted(scaled, eca, curves, state, probs)


def take_turns(runs, width, dev):
    """Advance up to `width` of the generators one step each in turn, each on its own CUDA stream; their results.

    A 535-clip corpus gives a GPU small steps: while one fold's kernels run, the host queues the next fold's
    instead of waiting. On the CPU there are no streams and each run computes exactly what it computes alone.
    """
    results, waiting, running = {}, list(enumerate(runs)), []
    while waiting or running:
        while waiting and len(running) < width:
            stream = torch.cuda.Stream(dev) if dev.type == "cuda" else None
            if stream is not None:
                stream.wait_stream(torch.cuda.current_stream(dev))  # the features were copied on the default stream
            running.append((*waiting.pop(0), stream))
        for task in list(running):
            index, run, stream = task
            with torch.cuda.stream(stream):
                try:
                    next(run)
                except StopIteration as end:
                    results[index] = end.value
                    running.remove(task)
    return [results[i] for i in range(len(runs))]


def cross_validate(manifest, train_features, test_features, cfg, checkpoints=None):
    """Run every fold, runtime.parallel_folds() at a time, each on from its checkpoint where `checkpoints` (a
    checkpoint.Checkpoints) has one; ECA weights are each block's channel weights averaged per true class over all test
    folds."""
    runtime.keep_freed_memory()
    dev = runtime.device()
    set_precision(cfg.precision)
    y = manifest["label_index"].to_numpy()
    splits = repeated_splits(manifest, cfg.folds, cfg.repeats, cfg.protocol, cfg.seed, cfg.fold_file)
    fitted = [(train_rows, None) if not cfg.validation_folds else
              folds.validation(manifest, train_rows, cfg.validation_folds, cfg.protocol, cfg.seed + fold)
              for fold, (train_rows, _) in enumerate(splits)]
    resident = runtime.resident()
    train, test = Inputs(train_features, y, dev, resident), Inputs([test_features], y, dev, resident)
    bar = progress.bar(total=len(splits) * cfg.epochs, desc="train", unit="epoch", leave=False)
    runs = [fit_fold(cfg, train, test, y, fit_rows, test_rows, fold, bar, checkpoints and checkpoints.fold(fold),
                     held_rows)
            for fold, ((_, test_rows), (fit_rows, held_rows)) in enumerate(zip(splits, fitted), start=1)]
    outcomes = take_turns(runs, runtime.parallel_folds(), dev)
    bar.close()
    rows, per_fold, curves, eca_sum, softmax = [], [], [], {}, []
    classes = cfg.model.classes
    for fold, ((_, test_rows), (probs, eca, fold_curves, _, raw)) in enumerate(zip(splits, outcomes), start=1):
        table = fold_predictions(manifest, test_rows, fold, cfg.folds, probs, classes)
        if raw is not None:
            softmax.append(pd.DataFrame(fold_predictions(manifest, test_rows, fold, cfg.folds, raw, classes)))
        per_fold.append(metrics.scores(table["true"], table["pred"]))
        curves.append([{"fold": fold, **c} for c in fold_curves])
        rows.append(table)
        for block, weights in eca.items():
            sums = eca_sum.setdefault(block, np.zeros((len(classes), weights.shape[1])))
            np.add.at(sums, y[test_rows], weights)
    predictions = pd.concat([pd.DataFrame(t) for t in rows], ignore_index=True)
    counts = cfg.repeats * np.bincount(y, minlength=len(classes))[:, None]
    eca_weights = {block: {name: (s / counts)[i].tolist() for i, name in enumerate(classes)}
                   for block, s in eca_sum.items()}
    summary = metrics.summarise(per_fold)
    summary["best_test_epoch"] = best_test_epoch(curves)
    summary["best_epoch_each"] = best_epoch_each(curves)
    temperatures = {fold: o.state["temperature"] for fold, o in enumerate(outcomes, start=1)} if softmax else None
    return Result(predictions, summary, curves, eca_weights, [o.state for o in outcomes],
                  leakage.audit(manifest, splits), pd.concat(softmax, ignore_index=True) if softmax else None,
                  temperatures)


def repeated_splits(manifest, n_folds, repeats, protocol, seed, fold_file=None):
    """[(train_rows, test_rows)] of every fold of every repeat: repeat r splits with seed + r; folds are numbered on
    across repeats (1..folds x repeats), and each fold's initialisation and shuffle follow from its number, so repeat
    1 is exactly the run without repeats. Every run, the baselines' too, is scored on these folds."""
    return [s for r in range(repeats) for s in folds.split(manifest, n_folds, protocol, seed + r, fold_file)]


def fold_predictions(manifest, test_rows, fold, n_folds, probs, classes):
    """One fold's rows of predictions.csv: id, repeat, fold, true, pred (the most probable class), p_<class>."""
    table = {"id": manifest["id"].to_numpy()[test_rows], "repeat": (fold - 1) // n_folds + 1, "fold": fold,
             "true": manifest["label_index"].to_numpy()[test_rows], "pred": probs.argmax(axis=1)}
    table.update({f"p_{name}": probs[:, i] for i, name in enumerate(classes)})
    return table


def best_test_epoch(curves):
    """The optimistic figure, not our protocol: per fold the epoch with the best test ACC, averaged over folds."""
    best = [max(fold, key=lambda c: c["ACC"]) for fold in curves]
    return {key: float(np.mean([c[key] for c in best])) for key in metrics.KEYS}


def best_epoch_each(curves):
    """The DS-LSTM authors' figure, more optimistic still: per fold the best test UA and, from whichever epoch, the
    best test WA, averaged over folds; ACC is their mean, as the paper computes it."""
    ua, wa = (float(np.mean([max(c[key] for c in fold) for fold in curves])) for key in ("UA", "WA"))
    return {"UA": ua, "WA": wa, "ACC": (ua + wa) / 2}
