"""Probes of a frozen encoder's layer embeddings (data/ssl/<name>.npy, [clips, layers + 1, hidden]), on every run's
folds (loop.repeated_splits: cv.*, seeded by train.seed).

The weighted-sum probe (SUPERB's): the L + 1 layers, each standardised per dimension with the training fold's mean
and std, summed with softmax-normalised weights learnt with the head, Linear(hidden, probe.head) -> ReLU ->
Linear(head, classes); the paper's weighted focal loss (train.focal_gamma, class weights from the training fold),
Adam (probe.lr), probe.epochs epochs of probe.batch_size clips; the last epoch is scored, as in every run. Each
epoch's test scores are logged for the optimistic figures only. It writes a CNN run's files (record.scored and
record.log_live: predictions.csv, scores.json, curves.csv, live/, the metrics file), config.json with each fold's
learnt layer weights.

The per-layer linear probe: linear.cross_validate on each layer alone (probe.linear: the classifier, its C grid and
inner folds, as egemaps.*), so a layer's number is what a scaled linear classifier reads from it; layers.csv holds
each layer's scores with their intervals. No layer is picked on a test fold: every layer is reported.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..evaluation import leakage, metrics
from ..infra import atomic, params, progress, runtime
from ..training import loop
from ..training import record as written  # record() below would shadow the module
from ..infra.errors import InputError
from ..training.losses import FocalLoss, class_weights
from . import linear


@dataclass(frozen=True)
class Config:
    head: int
    epochs: int
    batch_size: int
    lr: float
    focal_gamma: float
    folds: int
    repeats: int
    protocol: str
    seed: int
    fold_file: str | None = None  # cv.fold_file, for cv.protocol file
    fold_file_md5: str | None = None  # its content, so that an edited fold file is another run


def config(p):
    """probe.* with train.focal_gamma, cv.* and train.seed, checked."""
    return Config(params.positive(p, "probe.head", int), params.positive(p, "probe.epochs", int),
                  params.positive(p, "probe.batch_size", int), params.positive(p, "probe.lr"),
                  params.non_negative(p, "train.focal_gamma"), **params.folds(p))


def load(path, n_rows):
    """An encoder's embeddings [clips, layers + 1, hidden], refused when missing or not the manifest's."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: embeddings not found (run `dvc repro ssl_embed@{path.stem}`)")
    x = np.load(path)
    if x.ndim != 3 or x.shape[0] != n_rows:
        raise InputError(f"{path}: shape {x.shape} is not [the manifest's {n_rows} clips, layers + 1, hidden]")
    return x


class WeightedSum(nn.Module):
    """softmax(w)-weighted sum of the layers [B, L, H], then a one-hidden-layer head."""

    def __init__(self, layers, hidden, head, classes):
        super().__init__()
        self.layer_logits = nn.Parameter(torch.zeros(layers))
        self.head = nn.Sequential(nn.Linear(hidden, head), nn.ReLU(), nn.Linear(head, classes))

    def layer_weights(self):
        return self.layer_logits.softmax(dim=0)

    def forward(self, x):
        return self.head(torch.einsum("l,blh->bh", self.layer_weights(), x))


def standardise(x, train_rows):
    """Each layer's dimensions standardised by the training rows' mean and std (float32 tensor [N, L, H])."""
    train = x[train_rows].astype(np.float64)
    mean, std = train.mean(axis=0), train.std(axis=0)
    return torch.from_numpy(((x - mean) / np.maximum(std, 1e-8)).astype(np.float32))


def fit_fold(x, y, train_rows, test_rows, cfg, fold, n_classes, dev):
    """(test probabilities, learnt layer weights, per-epoch curves) of one fold, trained from its own seeds."""
    torch.manual_seed(cfg.seed * 1000 + fold)
    inputs = standardise(x, train_rows).to(dev)
    labels = torch.from_numpy(np.array(y)).to(dev)
    model = WeightedSum(x.shape[1], x.shape[2], cfg.head, n_classes).to(dev)
    loss_fn = FocalLoss(cfg.focal_gamma, class_weights(y[train_rows], n_classes)).to(dev)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    shuffle, curves = np.random.default_rng([cfg.seed, fold]), []
    test = torch.from_numpy(np.asarray(test_rows)).to(dev)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order, losses = np.asarray(train_rows)[shuffle.permutation(len(train_rows))], []
        for start in range(0, len(order), cfg.batch_size):
            rows = torch.from_numpy(order[start : start + cfg.batch_size]).to(dev)
            loss = loss_fn(model(inputs[rows]), labels[rows])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        model.eval()
        with torch.inference_mode():
            probs = model(inputs[test]).softmax(dim=1).cpu().numpy()
        curves.append({"epoch": epoch, "train_loss": float(np.mean(losses)),
                       **metrics.scores(y[test_rows], probs.argmax(axis=1))})
    return probs, model.layer_weights().detach().cpu().numpy(), curves


@dataclass
class Result:
    predictions: pd.DataFrame
    summary: dict
    curves: list
    layer_weights: dict  # {fold: [L + 1] weights}
    audit: dict  # leakage.audit of the folds, as every run's


def weighted_sum(x, manifest, cfg, classes, device_name=None):
    """The weighted-sum probe on every fold of every repeat."""
    dev = runtime.device(device_name)
    y = manifest["label_index"].to_numpy()
    splits = loop.repeated_splits(manifest, cfg.folds, cfg.repeats, cfg.protocol, cfg.seed, cfg.fold_file)
    tables, per_fold, curves, weights = [], [], [], {}
    for fold, (train_rows, test_rows) in enumerate(progress.bar(splits, desc="probe", unit="fold"), start=1):
        probs, layer_weights, fold_curves = fit_fold(x, y, train_rows, test_rows, cfg, fold, len(classes), dev)
        tables.append(loop.fold_predictions(manifest, test_rows, fold, cfg.folds, probs, classes))
        per_fold.append(metrics.scores(tables[-1]["true"], tables[-1]["pred"]))
        curves.append([{"fold": fold, **c} for c in fold_curves])
        weights[str(fold)] = layer_weights.tolist()
    summary = metrics.summarise(per_fold)
    summary["best_test_epoch"] = loop.best_test_epoch(curves)
    summary["best_epoch_each"] = loop.best_epoch_each(curves)
    return Result(pd.concat([pd.DataFrame(t) for t in tables], ignore_index=True), summary, curves, weights,
                  leakage.audit(manifest, splits))


def per_layer(x, manifest, cfg, classes):
    """layers.csv: each layer's linear-probe scores over the folds (mean, low, high), and the C each fold chose."""
    rows = []
    for layer in range(x.shape[1]):
        result = linear.cross_validate(x[:, layer], manifest, cfg, classes, "probe.linear")
        rows.append({"layer": layer, **{f"{key}_{end}": result.summary[key][end] for key in metrics.SUMMARY
                                        for end in ("mean", "low", "high")},
                     "C": " ".join(f"{c:g}" for c in result.chosen.values())})
    return pd.DataFrame(rows)


def encoder_cost(path):
    """ssl_embed's record of the encoder's cost per clip (data/ssl/<name>.json: flops, parameters), refused when
    missing."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: the encoder's cost per clip not found (run `dvc repro ssl_embed@{path.stem}`)")
    return json.loads(path.read_text())


def head_flops(head, layers, hidden):
    """torch.utils.flop_counter's FLOPs of the probe's own forward pass on one clip's [layers, hidden] embeddings."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        head(torch.zeros(1, layers, hidden))
    return int(counter.get_total_flops())


def record(out, metrics_path, result, layers, cfg, linear_cfg, classes, name, x, encoder=None):
    """The run's files; `encoder` (encoder_cost's record) goes into config.json beside the probe's own FLOPs, so
    that the report counts a clip's whole cost, the encoder's included."""
    out = Path(out)
    head = WeightedSum(x.shape[1], x.shape[2], cfg.head, len(classes))
    written.scored(out, Path(metrics_path), result.predictions, result.summary, list(classes),
                  sum(p.numel() for p in head.parameters()), result.audit, cfg.protocol)
    atomic.save_csv(out / "curves.csv", pd.DataFrame([c for fold in result.curves for c in fold]))
    written.log_live(out / "live", result.curves, result.predictions, list(classes))
    atomic.save_csv(out / "layers.csv", layers)
    atomic.save_json(out / "config.json", {
        "model": {"architecture": "ssl_weighted_sum", "classes": list(classes), "encoder": name},
        "train": [f"ssl/{name}"], "test": f"ssl/{name}", "protocol": None, "validation": None, "loss": "focal", "training": asdict(cfg),
        "linear_probe": {**asdict(linear_cfg), "C": list(linear_cfg.C)}, "inputs": [list(x.shape[1:])],
        "layer_weights": result.layer_weights,
        "probe_flops": head_flops(head, x.shape[1], x.shape[2]), "encoder_cost": encoder,
    })
