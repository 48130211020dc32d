"""One cross-validated run, as the paper trains and scores: folds -> fit -> predict.

A run trains on one or more STFT versions and tests on one (several only for multi-STFT augmentation:
every training clip appears once per version, the test fold only in the test version). A version is a tuple
of input streams: one log-Mel array for the CNN, MFCCs and two Mel spectrograms for the DS-LSTM. Features stay
memory-mapped; a batch reads just its rows. Class weights and the per-feature normalisation come from the
training fold alone, and the test fold never chooses anything: scores are those of the last epoch. Each
epoch's test scores are still logged, so the report can show, labelled as such, the optimistic
"best epoch on the test fold" figure that some published baselines report.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import folds, metrics, models
from .models.dslstm import DSLSTM
from .losses import FocalLoss, class_weights
from .runtime import device, keep_freed_memory


@dataclass
class Config:
    """Everything that decides a run's numbers (and nothing that does not)."""

    classes: list
    architecture: str = "cnn"  # cnn: the paper's CNN; dslstm: the Dual-Sequence LSTM baseline
    channel_scale: int = 4
    base_channels: int = 16
    attention_blocks: tuple = ()
    attention: str = "eca"
    eca_kernel: object = 7
    epochs: int = 100
    batch_size: int = 36
    lr: float = 1e-3
    lr_decay: float = 1.0  # learning rate factor per epoch
    focal_gamma: float = 1.0
    weighted: bool = True  # class weights in the loss; cross entropy is focal_gamma 0 without them
    folds: int = 5
    protocol: str = "stratified"
    seed: int = 0
    device: str = "auto"

    def model(self):
        if self.architecture == "dslstm":
            return DSLSTM(len(self.classes))
        return models.build(len(self.classes), self.channel_scale, self.attention_blocks, self.attention,
                            self.eca_kernel, self.base_channels)


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


def to_input(streams, stats, dev):
    """Feature rows of each input stream, normalised, as float32 [B, features, frames] tensors on dev."""
    return [torch.from_numpy((np.asarray(x, dtype=np.float32) - mean) / std).to(dev, non_blocking=True)
            for x, (mean, std) in zip(streams, stats)]


def gather(train_features, examples):
    """Each stream's features of (version, row) examples, read from each version's memory maps in one go."""
    versions, rows = examples[:, 0], examples[:, 1]
    out = []
    for stream in range(len(train_features[0])):
        x = np.empty((len(examples), *train_features[0][stream].shape[1:]), np.float32)
        for v in np.unique(versions):
            x[versions == v] = train_features[v][stream][rows[versions == v]]
        out.append(x)
    return out


def heads(output):
    """A model's logits as a tuple: one head, or several (the DS-LSTM's two branches) to be averaged."""
    return output if isinstance(output, tuple) else (output,)


def predict(model, feats, rows, stats, batch_size, dev):
    """Class probabilities [n, classes] and each ECA block's channel weights {block: [n, C]} for rows.

    A model with several heads predicts from their mean logits.
    """
    model.eval()
    probs, eca = [], {}
    with torch.inference_mode(), autocast(dev):
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            logits = torch.stack(heads(model(*to_input([f[batch] for f in feats], stats, dev)))).mean(dim=0)
            probs.append(logits.float().softmax(dim=1).cpu())
            for block, weights in getattr(model, "eca_weights", dict)().items():
                eca.setdefault(block, []).append(weights.float().cpu())
    return torch.cat(probs).numpy(), {block: torch.cat(w).numpy() for block, w in eca.items()}


def autocast(dev):
    """bfloat16 mixed precision on CUDA; a no-op on the CPU, where float32 keeps runs bit-reproducible."""
    return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")


@dataclass
class Result:
    predictions: pd.DataFrame  # id, fold, true, pred, p_<class>: every clip once, from the fold that held it out
    summary: dict  # metrics.summarise of the folds' last-epoch scores, plus best_test_epoch
    curves: list  # per fold, per epoch: train_loss and test UA, WA, ACC
    eca_weights: dict  # {block: {class: mean channel weights over the test clips of that class}}
    fold_models: list  # per fold: {"state_dict", "mean", "std"}, enough to predict new clips


def fit_fold(cfg, train_features, test_features, y, train_rows, test_rows, fold, bar):
    """Train one fold's model from scratch; return its last-epoch predictions, per-epoch curves and weights."""
    dev = device(cfg.device)
    torch.manual_seed(cfg.seed * 1000 + fold)
    model = cfg.model().to(dev, memory_format=torch.channels_last)  # faster convolutions on CPU and GPU
    weight = class_weights(y[train_rows], len(cfg.classes)) if cfg.weighted else None
    loss_fn = FocalLoss(cfg.focal_gamma, weight).to(dev)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=cfg.lr_decay)
    stats = normaliser(train_features, train_rows)
    # every (version, row) pair of the training fold is one training example
    examples = np.array([(v, r) for v in range(len(train_features)) for r in train_rows])
    shuffle = np.random.default_rng([cfg.seed, fold])
    curves = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = examples[shuffle.permutation(len(examples))]
        losses = []
        for start in range(0, len(order), cfg.batch_size):
            chunk = order[start : start + cfg.batch_size]
            x = to_input(gather(train_features, chunk), stats, dev)
            target = torch.from_numpy(y[chunk[:, 1]]).to(dev)
            with autocast(dev):
                outputs = heads(model(*x))
                loss = sum(loss_fn(logits.float(), target) for logits in outputs) / len(outputs)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        schedule.step()
        probs, eca = predict(model, test_features, test_rows, stats, cfg.batch_size, dev)
        score = metrics.scores(y[test_rows], probs.argmax(axis=1))
        curves.append({"epoch": epoch, "train_loss": float(np.mean(losses)), **score})
        bar.set_postfix(fold=fold, epoch=epoch, loss=f"{curves[-1]['train_loss']:.3f}", UA=f"{score['UA']:.1f}")
        bar.update()
    state = {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
             "mean": [torch.from_numpy(mean) for mean, _ in stats], "std": [torch.from_numpy(std) for _, std in stats]}
    return probs, eca, curves, state


def cross_validate(manifest, train_features, test_features, cfg):
    """Run every fold; ECA weights are each block's channel weights averaged per true class over all test folds."""
    keep_freed_memory()
    y = manifest["label_index"].to_numpy()
    splits = folds.split(manifest, cfg.folds, cfg.protocol, cfg.seed)
    rows, per_fold, curves, eca_sum, states = [], [], [], {}, []
    bar = tqdm(total=cfg.folds * cfg.epochs, desc="train", unit="epoch", disable=None, leave=False)
    for fold, (train_rows, test_rows) in enumerate(splits, start=1):
        probs, eca, fold_curves, state = fit_fold(cfg, train_features, test_features, y, train_rows, test_rows, fold,
                                                  bar)
        states.append(state)
        pred = probs.argmax(axis=1)
        per_fold.append(metrics.scores(y[test_rows], pred))
        curves.append([{"fold": fold, **c} for c in fold_curves])
        table = {"id": manifest["id"].to_numpy()[test_rows], "fold": fold, "true": y[test_rows], "pred": pred}
        table.update({f"p_{name}": probs[:, i] for i, name in enumerate(cfg.classes)})
        rows.append(table)
        for block, weights in eca.items():
            sums = eca_sum.setdefault(block, np.zeros((len(cfg.classes), weights.shape[1])))
            np.add.at(sums, y[test_rows], weights)
    bar.close()
    predictions = pd.concat([pd.DataFrame(t) for t in rows], ignore_index=True)
    counts = np.bincount(y, minlength=len(cfg.classes))[:, None]
    eca_weights = {block: {name: (s / counts)[i].tolist() for i, name in enumerate(cfg.classes)}
                   for block, s in eca_sum.items()}
    summary = metrics.summarise(per_fold)
    summary["best_test_epoch"] = best_test_epoch(curves)
    return Result(predictions, summary, curves, eca_weights, states)


def best_test_epoch(curves):
    """The optimistic figure, not our protocol: per fold the epoch with the best test ACC, averaged over folds."""
    best = [max(fold, key=lambda c: c["ACC"]) for fold in curves]
    return {key: float(np.mean([c[key] for c in best])) for key in metrics.KEYS}
