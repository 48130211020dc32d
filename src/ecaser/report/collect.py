"""What the training stages wrote, as tables: one row per run, and one row per run and fold.

Runs are found from metrics/<family>/<run>.json and described by results/<family>/<run>/config.json, not
by parsing params.yaml or run names, so the report follows whatever grid was trained and skips absent
families. One run can stand in several places (experiments.aliases and borrowed): "cnn/focal", Table 6's
weighted-focal CNN, is the channel sweep's run of the CNN at model.*, trained once.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import emotions
from ..training import experiments
from ..evaluation import metrics
from .. import models
from ..models.registry import ATTENTION, label
from ..infra.errors import InputError
from ..evaluation.metrics import KEYS
from . import paper

FAMILIES = ("cnn_sweep", "cnn", "eca_kernels", "eca_blocks", "eca_original", "eca", "attention", "augment_cnn",
            "augment_eca", "dslstm", "protocol", "calibrated")
TABLE4 = ("cnn/focal", "eca_original/adaptive", "eca/proposed", "dslstm/published")
AUGMENT = {"augment_cnn": "CNN", "augment_eca": "CNN + ECA"}


def natural(text):
    """Sort key that puts v2 before v10 and last2 before last10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def flat(config):
    """config.json with its model's fields at the top level, beside train, test, loss and the rest."""
    return {**config["model"], **{key: value for key, value in config.items() if key != "model"}}


def config_of(run):
    """The flat config of an experiments.Run that a training stage would write."""
    return {**run.model.to_dict(), "train": list(run.train), "test": run.test, "loss": run.loss,
            "protocol": run.protocol, "validation": run.validation}


def signature(config):
    """What decides a run's numbers, so that equal runs of different families can stand in for each other."""
    return json.dumps([config[key] for key in ("architecture", "train", "test", "channel_scale", "attention",
                                               "attention_blocks", "eca_kernel", "loss")]
                      + [config.get("protocol"), config.get("validation")])


def describe(config):
    """A model's name in figures: DS-LSTM or CNN, and where the CNN's attention sits (and an ECA's kernel)."""
    loss = config["loss"].replace("_", " ")
    if config["architecture"] == "dslstm":
        return f"DS-LSTM, {loss}"
    name = f"CNN, {loss}"
    if config["attention"]:
        kernel = f"; k = {config['eca_kernel']}" if config["attention"] == "eca" else ""
        blocks = config["attention_blocks"]
        where = f"block{'s' * (len(blocks) > 1)} {', '.join(map(str, blocks))}"
        name += f" + {label(config['attention'])} ({where}{kernel})"
    return name


def read_json(path):
    if not path.is_file():
        raise InputError(f"{path}: not found; re-run the training stage that writes it")
    return json.loads(path.read_text())


@dataclass
class Results:
    """The runs of every family present under root, and their per-fold scores."""

    root: Path
    runs: pd.DataFrame  # index: run id "family/run"
    folds: pd.DataFrame  # id, fold, UA, WA, ACC

    def family(self, family):
        """The family's grid: its own runs and the cells it borrows, without the aliases that name a role in it."""
        return self.runs[(self.runs["family"] == family) & ~self.runs["alias"]]

    def fold_scores(self, runs):
        """Per-fold scores of `runs` with the runs' own columns: the long form seaborn aggregates."""
        return self.folds.merge(runs.drop(columns=[*KEYS]), left_on="id", right_index=True)

    def best(self, family):
        """The family's run with the highest mean test ACC: chosen on test scores, as the paper chose it."""
        runs = self.family(family)
        return None if runs.empty else runs.loc[runs["ACC"].idxmax()]

    def run(self, run_id):
        """A run by id (an alias included), or None where it was not trained."""
        return self.runs.loc[run_id] if run_id in self.runs.index else None

    def folder(self, run_id):
        """The results folder of a run, or of the run it stands for."""
        return self.root / "results" / self.runs.loc[run_id, "source"]

    def predictions(self, run_id):
        return pd.read_csv(self.folder(run_id) / "predictions.csv")

    def audit(self, run_id):
        return audit(self.folder(run_id))

    def curves(self, run_id):
        return pd.read_csv(self.folder(run_id) / "curves.csv")

    def flops(self, run):
        """FLOPs of one forward pass of the run's model on one clip, counted here from its config.json."""
        return models.summary(models.Spec.from_dict(run["config"]).build(), run["config"]["inputs"])["flops"]

    def eca_weights(self, run_id):
        """{block: {class: per-channel mean weight}}; {} for a run without ECA blocks, which writes no file."""
        path = self.folder(run_id) / "eca_weights.json"
        return read_json(path) if path.is_file() else {}


def audit(folder):
    """A results folder's leakage audit as its scores.json holds it (None for a run written before audits)."""
    return read_json(folder / "scores.json").get("audit")


def load(p, root="."):
    root = Path(root)
    runs, folds = [], []
    for family in FAMILIES:
        for path in sorted((root / "metrics" / family).glob("*.json"), key=natural):
            run_id = f"{family}/{path.stem}"
            m = read_json(path)
            config = flat(read_json(root / "results" / run_id / "config.json"))
            details = read_json(root / "results" / run_id / "scores.json")
            runs.append({
                "id": run_id, "family": family, "run": path.stem, "source": run_id, "model": describe(config),
                "version": config["test"], "K": len(config["train"]), "channel_scale": config["channel_scale"],
                "last": len(config["attention_blocks"]), "attention": config["attention"],
                "eca_kernel": config["eca_kernel"],
                "order": path.stem.rsplit("-", 1)[0] if family in AUGMENT else None,
                "classes": config["classes"], "signature": signature(config), "config": config,
                **{key: m[key]["mean"] for key in KEYS}, **{f"{key}_std": details["std"][key] for key in KEYS},
                **{f"{key}_{end}": m[key][end] for key in KEYS for end in ("low", "high")},
                **{f"best_{key}": details["best_test_epoch"][key] for key in KEYS},
                **{f"each_{key}": details["best_epoch_each"][key] for key in KEYS}, **m["model"],
                "calibration": m.get("calibration"), "audit": details.get("audit", {}).get("summary"),
                "uncalibrated": m.get("uncalibrated"), "temperature": m.get("temperature"),
            })
            folds += [{"id": run_id, "fold": int(fold), **scores} for fold, scores in details["folds"].items()]
    if not runs:
        raise InputError(f"{root / 'metrics'}: no training runs found; run the training stages first")
    runs = pd.DataFrame(runs).set_index("id").assign(alias=False)
    # an alias names a role (it stays out of its family's own runs); a borrowed run fills a cell of its family's grid
    stand_ins = [(name, run, True) for name, run in experiments.aliases(p).items()]
    stand_ins += [(name, run, False) for name, run in experiments.borrowed(p).items()]
    for alias, run, role in stand_ins:
        same = runs[runs["source"].eq(runs.index) & (runs["signature"] == signature(config_of(run)))]
        if len(same) and alias not in runs.index:
            family, name = alias.split("/")
            runs = pd.concat([runs, same.iloc[[0]].assign(family=family, run=name, alias=role)
                              .rename(index=lambda _: alias)])
            folds += [{**row, "id": alias} for row in folds if row["id"] == same.index[0]]
    return Results(root, runs, pd.DataFrame(folds))


def ablation(results):
    """Table 6's rows that were trained: (summary key, row label, run row, the paper's numbers by corpus)."""
    rows = [(key, label, results.run(source), published) for key, label, source, published in paper.TABLE6]
    return [row for row in rows if row[2] is not None]


def systems(results):
    """Table 4's rows that were trained: the CNN, with the original and with the proposed ECA, and the DS-LSTM."""
    return [results.runs.loc[i] for i in TABLE4 if i in results.runs.index]


def attention(results):
    """Table 5's rows that were trained: the proposed model's ECA run, then each other module in its place."""
    rows = [results.runs.loc["eca/proposed"]] if "eca/proposed" in results.runs.index else []
    others = results.family("attention")
    order = {kind: i for i, kind in enumerate(ATTENTION)}  # the registry's order; unknown keys last
    return rows + [run for _, run in others.sort_values("attention", key=lambda k: k.map(order).fillna(len(order)),
                                                         kind="stable").iterrows()]


def augmentation_runs(results):
    """The augmentation runs by model, order and K, one row each (model, order and K as columns).

    K = 1 trains on the test version alone: where that size was not trained as augmentation, any run of
    another family with the same configuration is that point (e.g. cnn_sweep/v1-n4 for ascending CNN).
    """
    parts = []
    for family, model in AUGMENT.items():
        for order, runs in results.family(family).groupby("order"):
            if 1 not in set(runs["K"]):
                config = runs.iloc[0]["config"]
                alone = signature({**config, "train": [config["test"]]})
                runs = pd.concat([runs, results.runs[results.runs["signature"] == alone].head(1)])
            parts.append(runs.assign(model=model, order=order, K=runs["K"].where(runs["family"] == family, 1)))
    return pd.concat(parts) if parts else None


def augmentation(results):
    """Per-fold scores of the augmentation runs by model, order and K."""
    runs = augmentation_runs(results)
    return None if runs is None else results.fold_scores(runs)


def cross_corpus(results):
    """Each cross_corpus target's scores.json, and for reference the final model's own scores over the same shared
    classes, restricted as on the target (emotions.restrict): its fold models on their test folds, pooled."""
    final = results.run("augment_eca/final")
    targets = []
    for path in sorted((results.root / "metrics" / "cross_corpus").glob("*.json"), key=natural):
        target = {"name": path.stem, **read_json(results.root / "results" / "cross_corpus" / path.stem / "scores.json")}
        if final is not None and list(final["classes"]) == target["model"]["classes"]:
            pred, shared = results.predictions("augment_eca/final"), target["model_classes"]
            labels = np.array(final["classes"])[pred["true"]]
            probs = pred[[f"p_{c}" for c in final["classes"]]].to_numpy()
            _, true, guess, _ = emotions.restrict(probs, final["classes"], labels, shared, shared)
            target["within"] = {"run": final["source"], "clips": len(true), **metrics.scores(true, guess)}
        targets.append(target)
    return targets
