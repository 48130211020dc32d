"""What a training stage does: params + one configuration -> its results folder and its metrics file.

results/<family>/<run>/ (DVC-cached): config.json, predictions.csv, curves.csv (per fold and epoch),
eca_weights.json (ECA runs), live/ (dvclive: per-epoch curves, fold means, and the confusion matrix for `dvc plots`).
metrics/<family>/<run>.json (small, kept in git): UA, WA, ACC mean and std over folds, per fold, the
optimistic best-test-epoch figure, and the model's parameters and FLOPs, for `dvc metrics diff`.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from dvclive import Live

from . import atomic, corpora, dataset, models, params, predict, training
from .errors import InputError

RESULTS = Path("results")
METRICS = Path("metrics")


def config(p, channel_scale, eca_blocks, eca_kernel, loss="focal"):
    """training.Config from params.yaml and a stage's own choices."""
    settings = params.training(p)
    if loss == "cross_entropy":  # the ablation's first row: gamma 0 and no class weights
        settings.update(focal_gamma=0.0, weighted=False)
    classes = corpora.classes(params.data(p)["corpus"])
    return training.Config(classes, channel_scale, eca_blocks=tuple(eca_blocks), eca_kernel=eca_kernel, **settings)


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


def run(p, family, name, train_versions, test_version, channel_scale, eca_blocks=(), eca_kernel=7, loss="focal",
        save_model=None):
    """Train and score one configuration; with save_model, also keep its fold models for `ecaser predict`."""
    cfg = config(p, channel_scale, eca_blocks, eca_kernel, loss)
    model = cfg.model()  # refuses bad architecture params before any data is read
    manifest = dataset.load_manifest()
    train, test = features(train_versions, test_version, len(manifest))
    size = models.summary(model, test.shape[1:])
    result = training.cross_validate(manifest, train, test, cfg)

    out = RESULTS / family / name
    atomic.save_csv(out / "predictions.csv", result.predictions)
    atomic.save_csv(out / "curves.csv", pd.DataFrame([c for fold in result.curves for c in fold]))
    if result.eca_weights:
        atomic.save_json(out / "eca_weights.json", result.eca_weights)
    log_live(out / "live", result.curves, result.predictions, cfg.classes)
    atomic.save_json(out / "config.json", {
        "train": list(train_versions), "test": test_version, "channel_scale": channel_scale,
        "eca_blocks": list(cfg.eca_blocks), "eca_kernel": eca_kernel, "loss": loss, "classes": cfg.classes,
    })
    if save_model:
        data = params.data(p)
        predict.save(save_model, cfg, result.fold_models, params.stft_version(p, test_version), data["segment_s"])
    summary = {**result.summary, "model": size}
    atomic.save_json(METRICS / family / f"{name}.json", summary)
    return result


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
