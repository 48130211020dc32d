"""Every comparison the paper draws, tested on this run: paired comparisons of two runs over the same folds.

The test is the corrected resampled t-test on ACC over folds x repeats (compare.py's fold-level test); the exact
McNemar test on the clips is shown beside it as a second view. Holm's correction runs over the t-tests within each
family of comparisons (one table or figure of the paper), so "holds" means the difference is not zero at 5 %
after correction. The paper's five headline claims are a family of their own,
each with the direction the paper reports: "supported" means the difference lies that way, "contradicted" the
opposite, and otherwise this run cannot tell the two apart.
"""

from ..commands import compare
from ..evaluation import stats
from . import paper
from ..models.registry import label
from .collect import augmentation_runs, natural

# (claim, run A, run B, +1 if the paper has A above B, -1 below); runs as collect.Results.run takes them
CLAIMS = [
    ("ECA helps", "eca/proposed", "cnn/focal", +1),
    ("ECA-Net's original ECA hurts", "eca_original/adaptive", "cnn/focal", -1),
    ("larger windows help", "cnn_sweep:largest", "cnn_sweep:smallest", +1),
    ("augmentation helps", "augment_cnn/final", "cnn/focal", +1),
    ("both help most", "augment_eca/final", "eca/proposed", +1),
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
    """The fold-level paired test of ACC, a - b, and the clip-level second view (exact McNemar on the first
    repeat's clips), as `ecaser compare` computes them."""
    return paired_test(results.predictions(a.name), results.predictions(b.name),
                       *(results.audit(run.name) for run in (a, b)))


def paired_test(pred_a, pred_b, *audits):
    """test() on two predictions.csv frames; InputError where they are not on the same clips and folds. audits: the
    runs' leakage audits, whose training clips per fold the corrected t-test uses (compare.sizes)."""
    pred_a, pred_b = stats.paired(pred_a, pred_b)
    fold_level = stats.corrected_ttest(compare.fold_scores(pred_a)["ACC"], compare.fold_scores(pred_b)["ACC"],
                                       *compare.sizes(pred_a, *audits))
    first = compare.first_repeat(pred_a)
    clip_level = stats.mcnemar(pred_a["true"][first], pred_a["pred"][first], pred_b["pred"][first])
    return {**fold_level, "p_mcnemar": clip_level["p"]}


def tested(results, pairs):
    """Each (label, run A, run B) pair whose two runs exist and differ, tested, with Holm over the pairs."""
    rows = [{"label": label, "a": a, "b": b, **test(results, a, b)} for label, a, b in pairs
            if a is not None and b is not None and a["source"] != b["source"]]
    if rows:
        for row, adjusted, holds in zip(rows, *stats.holm([r["p"] for r in rows]).values()):
            row.update(p_holm=float(adjusted), holds=bool(holds))
    return rows


def claims(results, p):
    """The paper's headline claims, with a verdict each."""
    directions = {claim: direction for claim, _, _, direction in CLAIMS}
    rows = tested(results, [(claim, find(results, p, a), find(results, p, b)) for claim, a, b, _ in CLAIMS])
    for row in rows:
        agrees = row["diff"] * directions[row["label"]] > 0
        row["verdict"] = ("supported" if agrees else "contradicted") if row["holds"] else "cannot tell apart"
    return rows


def families(results, p):
    """{family heading: tested rows}: the comparisons behind each of the paper's tables and figures."""
    ablation = [(label, results.run(source)) for _, label, source, _ in paper.TABLE6]
    ablation = [(label, run) for label, run in ablation if run is not None]
    scale = p["model"]["channel_scale"]
    sweep = results.family("cnn_sweep")
    sweep = sweep[sweep["channel_scale"] == scale]
    original = results.family("eca_original")
    by_version = {run["version"]: run for _, run in sweep.iterrows()}
    augmented = augmentation_runs(results)
    steps = []
    if augmented is not None:
        for (model, order), runs in augmented.groupby(["model", "order"]):
            alone = runs[runs["K"] == 1]
            steps += [(f"{model}, {order}, K = {run['K']} against K = 1", run, alone.iloc[0] if len(alone) else None)
                      for _, run in runs[runs["K"] > 1].sort_values("K").iterrows()]
    eca = results.run("eca/proposed")
    modules = results.family("attention")
    pairs = {
        "Table 6: each row against the one before it": [
            (f"{label} against {before}", run, previous)
            for (before, previous), (label, run) in zip(ablation, ablation[1:])],
        "Fig. 6: the largest STFT window against the smallest": [
            ("largest against smallest window", sweep_end(results, p, "largest"), sweep_end(results, p, "smallest"))],
        f"Fig. 7: ECA-Net's original ECA against none, version by version (n = {scale})": [
            (f"{run['version']}", run, by_version.get(run["version"])) for _, run in original.iterrows()
            if run["channel_scale"] == scale],
        "Fig. 10-11: each augmentation size against none (K = 1)": steps,
        "Table 5: each attention module against ECA": [
            (label(run["attention"]), run, eca) for _, run in modules.iterrows()],
    }
    return {heading: tested(results, rows) for heading, rows in pairs.items()}
