"""What a training stage does: params + one configuration -> its results folder and its metrics file.

results/<family>/<run>/ (DVC-cached): config.json (what decides the numbers: architecture, versions,
attention, loss), predictions.csv, curves.csv (per fold and epoch), eca_weights.json (ECA runs), live/
(dvclive: per-epoch curves, fold means, and the confusion matrix for `dvc plots`).
metrics/<family>/<run>.json (small, kept in git): UA, WA, ACC mean and std over folds, per fold, the
optimistic best-test-epoch figure, and the model's parameters, for `dvc metrics diff`. FLOPs are counted by the
report from config.json: torch's flop counter costs a process 2 s of imports, too much for every training stage.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from dvclive import Live

from . import atomic, corpora, dataset, dslstm_features, models, params, predict, training
from .errors import InputError

RESULTS = Path("results")
METRICS = Path("metrics")


def config(p, loss="focal", **model):
    """training.Config from params.yaml, a stage's loss and its model choices (architecture, attention, ...)."""
    settings = params.training(p)
    if loss == "cross_entropy":  # the ablation's first row: gamma 0 and no class weights
        settings.update(focal_gamma=0.0, weighted=False)
    classes = corpora.classes(params.data(p)["corpus"])
    return training.Config(classes, **model, **settings)


def features(train_versions, test_version, n_rows):
    """The memory-mapped feature files of a run, refused unless they share one shape."""
    train = [dataset.load_features(v, n_rows) for v in train_versions]
    test = dataset.load_features(test_version, n_rows)
    shapes = {f.shape for f in [*train, test]}
    if len(shapes) > 1:
        names = ", ".join(f"{v}: {f.shape}" for v, f in zip([*train_versions, test_version], [*train, test]))
        raise InputError(f"data/features: versions of one run must share a shape, got {names}")
    return train, test


def augmented_versions(versions, order, k):
    """(training versions, test version) of multi-STFT augmentation with K versions, in the paper's two orders.

    ascending tests on the first version and trains on the first K; descending tests on the last and trains
    on the last K, nearest first.
    """
    versions = list(versions)
    if order not in ("ascending", "descending"):
        raise InputError(f"params: 'augment.orders' entries must be ascending or descending, got {order!r}")
    if not 1 <= k <= len(versions):
        raise InputError(f"params: 'augment.sizes' entries must lie in 1..{len(versions)}, got {k!r}")
    ordered = versions if order == "ascending" else versions[::-1]
    return ordered[:k], ordered[0]


def run(p, family, name, train_versions, test_version, channel_scale, attention_blocks=(), attention="eca",
        eca_kernel=7, loss="focal", save_model=None):
    """Train and score one configuration of the CNN; with save_model, also keep its fold models for `ecaser predict`."""
    cfg = config(p, loss, channel_scale=channel_scale, attention_blocks=tuple(attention_blocks), attention=attention,
                 eca_kernel=eca_kernel)
    cfg.model()  # refuses bad architecture params before any data is read
    manifest = dataset.load_manifest()
    train, test = features(train_versions, test_version, len(manifest))
    result = record(family, name, cfg, loss, manifest, [(f,) for f in train], (test,), list(train_versions),
                    test_version)
    if save_model:
        data = params.data(p)
        predict.save(save_model, cfg, result.fold_models, params.stft_version(p, test_version), data["segment_s"])
    return result


def run_dslstm(p, name, loss):
    """Train and score the Dual-Sequence LSTM on its own features (MFCCs and two Mel spectrograms)."""
    cfg = config(p, loss, architecture="dslstm")
    manifest = dataset.load_manifest()
    streams = dslstm_features.load(len(manifest))
    return record("dslstm", name, cfg, loss, manifest, [streams], streams, list(dslstm_features.STREAMS), "dslstm")


def record(family, name, cfg, loss, manifest, train, test, train_names, test_name):
    """Cross-validate cfg on the features and write the run's results folder and metrics file."""
    parameters = models.parameters(cfg.model())
    result = training.cross_validate(manifest, train, test, cfg)
    out = RESULTS / family / name
    atomic.save_csv(out / "predictions.csv", result.predictions)
    atomic.save_csv(out / "curves.csv", pd.DataFrame([c for fold in result.curves for c in fold]))
    if result.eca_weights:
        atomic.save_json(out / "eca_weights.json", result.eca_weights)
    log_live(out / "live", result.curves, result.predictions, cfg.classes)
    cnn = cfg.architecture == "cnn"
    attention = cfg.attention if cnn and cfg.attention_blocks else None
    atomic.save_json(out / "config.json", {
        "architecture": cfg.architecture, "train": train_names, "test": test_name,
        "channel_scale": cfg.channel_scale if cnn else None, "base_channels": cfg.base_channels if cnn else None,
        "attention": attention, "attention_blocks": list(cfg.attention_blocks) if attention else [],
        "eca_kernel": cfg.eca_kernel if attention == "eca" else None, "loss": loss, "classes": cfg.classes,
        "inputs": [list(stream.shape[1:]) for stream in test],
    })
    atomic.save_json(METRICS / family / f"{name}.json", {**result.summary, "model": {"parameters": parameters}})
    return result


def model(config):
    """The untrained model a run's config.json describes."""
    keys = ("architecture", "channel_scale", "base_channels", "attention_blocks", "attention", "eca_kernel")
    return training.Config(config["classes"], **{key: config[key] for key in keys}).model()


def log_live(path, curves, predictions, classes):
    """Per-epoch curves averaged over folds, and the pooled confusion matrix, in dvclive's layout."""
    with Live(str(path), save_dvc_exp=False, dvcyaml=None, report=None) as live:
        for epoch in range(len(curves[0])):
            live.step = epoch + 1  # dvclive's step is the epoch, counted from 1 as in curves.csv
            live.log_metric("train/loss", float(np.mean([fold[epoch]["train_loss"] for fold in curves])))
            for key in ("UA", "WA", "ACC"):
                live.log_metric(f"test/{key}", float(np.mean([fold[epoch][key] for fold in curves])))
        names = np.array(classes)
        live.log_sklearn_plot("confusion_matrix", names[predictions["true"]], names[predictions["pred"]],
                              name="confusion_matrix.json")
