"""The `report` stage: every training run -> metrics/summary.json, plots/*.png and reports/report.md.

    build(params.load(), root=".")

Reads only what the training stages wrote under root (metrics/, results/), so tests point it at a fake tree.
"""

from pathlib import Path

from ..infra import atomic
from ..evaluation.metrics import KEYS
from . import collect, field, figures, markdown

SWEEPS = ("cnn_sweep", "eca_kernels", "eca_blocks", "augment_cnn", "augment_eca")


def scores(run):
    return {key: float(run[key]) for key in KEYS}


def summary(results):
    """The headline numbers, flat enough for `dvc metrics diff` to line up run against run.

    best.<family> is the family's best run by test ACC (the paper's choice, made on test scores); ablation holds
    Table 6's rows (its augmentation rows are the descending runs at augment.final_size); systems (Table 4) by run
    id, attention (Table 5) by module and cross_corpus (the final model on other corpora, over the classes they
    share) by target, and field the final model against the baselines and probes (field.summary).
    """
    best = {family: results.best(family) for family in SWEEPS}
    out = {
        "ablation": {key: scores(run) for key, _, run, _ in collect.ablation(results)},
        "best": {family: {"run": run["run"], **scores(run)} for family, run in best.items() if run is not None},
    }
    out["systems"] = {run.name: {**scores(run), "best_test_epoch_ACC": float(run["best_ACC"]),
                                 "parameters": int(run["parameters"])} for run in collect.systems(results)}
    out["attention"] = {run["attention"]: {**scores(run), "parameters": int(run["parameters"])}
                        for run in collect.attention(results)}
    out["cross_corpus"] = {t["name"]: {**{key: float(t["scores"][key]["value"]) for key in KEYS}, "clips": t["clips"]}
                           for t in collect.cross_corpus(results)}
    out["field"] = field.summary(results)
    if "eca/proposed" in results.runs.index:
        run = results.runs.loc["eca/proposed"]
        out["proposed"] = {**scores(run), **{f"{key}_std": float(run[f"{key}_std"]) for key in KEYS},
                           "best_test_epoch_ACC": float(run["best_ACC"]),
                           "parameters": int(run["parameters"]), "flops": int(results.flops(run))}
    return out


def build(p, root="."):
    root = Path(root)
    results = collect.load(p, root)
    atomic.save_json(root / "metrics" / "summary.json", summary(results))
    written = figures.draw(p, results, root / "plots")
    atomic.write_bytes(root / "reports" / "report.md", (markdown.render(p, results, written) + "\n").encode())
