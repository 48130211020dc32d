"""The paper's claims, each tested on this run: a paired comparison of two runs over the same folds.

Each claim is a pair of runs and the direction the paper reports. The test is the corrected resampled t-test on ACC
over folds x repeats (compare.py's fold-level test), and Holm's correction runs over the claims together, so
"supported" means the difference lies in the paper's direction at 5 % after correction, "contradicted" the
opposite, and otherwise this run cannot tell the two apart.
"""

from .. import compare, stats
from .collect import natural

# (claim, run A, run B, +1 if the paper has A above B, -1 below); runs as collect.Results.run takes them
CLAIMS = [
    ("ECA helps", "eca/proposed", "cnn/focal", +1),
    ("ECA-Net's original ECA hurts", "eca_original/adaptive", "cnn/focal", -1),
    ("larger windows help", "cnn_sweep:largest", "cnn_sweep:smallest", +1),
    ("augmentation helps", "augment_cnn:descending", "cnn/focal", +1),
    ("both help most", "augment_eca:descending", "eca/proposed", +1),
]


def sweep_end(results, p, end):
    """The sweep's run at model.channel_scale on its first or last version: the best version against v1."""
    runs = results.family("cnn_sweep")
    runs = runs[runs["channel_scale"] == p["model"]["channel_scale"]]
    if runs.empty:
        return None
    versions = sorted(runs["version"], key=natural)
    return runs[runs["version"] == versions[-1 if end == "largest" else 0]].iloc[0]


def find(results, p, source):
    if source.startswith("cnn_sweep:"):
        return sweep_end(results, p, source.split(":")[1])
    return results.run(source)


def test(results, a, b):
    """The fold-level paired test of ACC, a - b, as `ecaser compare` computes it."""
    pred_a, pred_b = stats.paired(results.predictions(a.name), results.predictions(b.name))
    return stats.corrected_ttest(compare.fold_scores(pred_a)["ACC"], compare.fold_scores(pred_b)["ACC"],
                                 *compare.sizes(pred_a))


def evaluate(results, p):
    """One row per claim whose two runs were trained (and are not one run), with its verdict after Holm."""
    rows = []
    for claim, source_a, source_b, direction in CLAIMS:
        a, b = find(results, p, source_a), find(results, p, source_b)
        if a is None or b is None or a["source"] == b["source"]:
            continue
        rows.append({"claim": claim, "a": a, "b": b, "direction": direction, **test(results, a, b)})
    if rows:
        for row, adjusted, holds in zip(rows, *stats.holm([r["p"] for r in rows]).values()):
            row["p_holm"] = float(adjusted)
            agrees = row["diff"] * row["direction"] > 0
            row["verdict"] = ("supported" if agrees else "contradicted") if holds else "cannot tell apart"
    return rows
