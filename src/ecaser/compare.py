"""`python -m ecaser compare RUN_A RUN_B`: whether one run beats another, and by how much, with stats.py's tests.

A run is its results folder (results/eca/proposed) or its stage's name in dvc.yaml (train_eca,
train_cnn_sweep@v8-1). Both must have been scored on the same clips and folds: paired tests need it.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import dataset, metrics, stats
from .errors import InputError


def folder(run, root="."):
    """The results folder of a run given as a folder or as a stage name."""
    path = Path(root) / run
    if (path / "predictions.csv").is_file():
        return path
    from dvc.repo import Repo  # only a stage name needs DVC's resolution of dvc.yaml

    try:
        stages = Repo(str(root)).index.stages
    except Exception as e:  # not a DVC repository, or a dvc.yaml DVC cannot read
        raise InputError(f"{run}: not a results folder, and {root} has no readable dvc.yaml ({e})") from None
    stage = next((s for s in stages if s.addressing == run), None)
    if stage is None:
        raise InputError(f"{run}: neither a results folder with predictions.csv nor a stage of dvc.yaml")
    outs = [Path(root) / str(out.def_path) for out in stage.outs if str(out.def_path).startswith("results/")]
    if not outs or not (outs[0] / "predictions.csv").is_file():
        raise InputError(f"{run}: no predictions.csv in its results folder; run `dvc repro {run}` first")
    return outs[0]


def load(path):
    config = json.loads((path / "config.json").read_text())
    return pd.read_csv(path / "predictions.csv"), list(config["model"]["classes"])


def fold_scores(predictions):
    """{UA, WA, ACC: per-fold scores in fold order}."""
    folds = [metrics.scores(f["true"], f["pred"]) for _, f in predictions.groupby("fold", sort=True)]
    return {key: np.array([f[key] for f in folds]) for key in metrics.KEYS}


def first_repeat(predictions):
    """Rows of the split's first repeat: clip-level tests count each clip once (each repeat scores every clip)."""
    return (predictions["repeat"] == 1).to_numpy()


def sizes(predictions):
    """(training clips, test clips) of a fold, on average: a fold trains on the rest of its repeat's clips."""
    n_test = len(predictions) / predictions["fold"].nunique()
    return len(predictions) / predictions["repeat"].nunique() - n_test, n_test


def compare(path_a, path_b, manifest_path=dataset.SEGMENTS / "manifest.csv"):
    """The paired comparison of run A against run B, as plain numbers (the --json output)."""
    (pred_a, classes_a), (pred_b, classes_b) = load(path_a), load(path_b)
    if classes_a != classes_b:
        raise InputError(f"{path_a} and {path_b}: different classes ({classes_a} and {classes_b})")
    pred_a, pred_b = stats.paired(pred_a, pred_b)
    manifest = dataset.load_manifest(manifest_path).set_index("id")
    missing = set(pred_a["id"]) - set(manifest.index)
    if missing:
        raise InputError(f"{manifest_path}: {len(missing)} clips of the runs are not in the manifest")
    folds_a, folds_b = fold_scores(pred_a), fold_scores(pred_b)
    n_train, n_test = sizes(pred_a)
    tests = {key: stats.corrected_ttest(folds_a[key], folds_b[key], n_train, n_test)
             for key in metrics.KEYS}
    first = first_repeat(pred_a)
    one_a, one_b = pred_a[first], pred_b[first]
    true = one_a["true"].to_numpy()
    mcnemar = stats.mcnemar(true, one_a["pred"], one_b["pred"])
    bootstrap = stats.cluster_bootstrap(true, one_a["pred"], one_b["pred"], manifest.loc[one_a["id"], "speaker"])
    return {
        "a": str(path_a), "b": str(path_b), "clips": int(first.sum()), "folds": int(pred_a["fold"].nunique()),
        "scores": {key: {"a": stats.interval(folds_a[key]), "b": stats.interval(folds_b[key]),
                         "difference": tests[key]} for key in metrics.KEYS},
        "mcnemar": {"only_a_right": int(mcnemar["table"][0, 1]), "only_b_right": int(mcnemar["table"][1, 0]),
                    "p": mcnemar["p"]},
        "speaker_bootstrap_UA": bootstrap,
        "recall": {name: {"a": float(ra), "b": float(rb)} for name, ra, rb in
               zip(classes_a, *(metrics.recall(p["true"], p["pred"], len(classes_a)) for p in (pred_a, pred_b)))},
    }


def text(result):
    """The comparison for people: one line per score, the clip-level tests, and each class's recall."""
    lines = [f"A: {result['a']}", f"B: {result['b']}",
             f"{result['clips']} clips, {result['folds']} folds (all repeats), paired; intervals are 95 %", "",
             f"{'':5}{'A':>8}{'B':>8}{'A - B':>9}  {'interval':<18}p (corrected resampled t)"]
    for key, s in result["scores"].items():
        d = s["difference"]
        span = f"[{d['low']:+.2f}, {d['high']:+.2f}]"
        lines.append(f"{key:<5}{s['a']['mean']:8.2f}{s['b']['mean']:8.2f}{d['diff']:+9.2f}  {span:<18}{d['p']:.3g}")
    m, b = result["mcnemar"], result["speaker_bootstrap_UA"]
    lines += ["", f"clips only A gets right: {m['only_a_right']}, only B: {m['only_b_right']}; exact McNemar p = "
                  f"{m['p']:.3g}",
              f"UA difference, speakers resampled: {b['diff']:+.2f} [{b['low']:+.2f}, {b['high']:+.2f}], "
              f"p = {b['p']:.3g}",
              "", f"{'recall (%)':<14}{'A':>8}{'B':>8}"]
    lines += [f"{name:<14}{r['a']:8.1f}{r['b']:8.1f}" for name, r in result["recall"].items()]
    return "\n".join(lines)
