"""How much the protocol adds: the final model under cv.protocol and under each protocols.others protocol.

The final model (augment_eca, descending, augment.final_size) is cross-validated once per protocol: cv.protocol's run
is augment_eca's own (the alias protocol/<cv.protocol>), the others are train_protocol's. Every clip is scored once
per repeat under each protocol, so two protocols' runs are paired on the clips (id, repeat), though not on the folds:
the difference of each score against the paper's protocol (stratified) comes with a paired bootstrap interval over
the clips (scipy.stats.bootstrap, paired resampling) and the exact McNemar test of the clips' correctness
(evaluation/stats.py, statsmodels).
"""

import warnings

import numpy as np
from scipy import stats as scipy_stats

from ..evaluation import metrics, stats
from ..evaluation.metrics import KEYS

REFERENCE = "stratified"  # the paper's protocol
RESAMPLES = 2000
SEED = 0


def runs(p, results):
    """[(protocol, run)] of the final model, cv.protocol first, then protocols.others in their order; absent ones
    left out."""
    names = [p["cv"]["protocol"], *[o for o in p.get("protocols", {}).get("others", []) if o != p["cv"]["protocol"]]]
    found = [(name, results.run(f"protocol/{name}")) for name in names]
    return [(name, run) for name, run in found if run is not None]


def paired(results, a, b):
    """The two runs' predictions on the same clips: (true, pred a, pred b), matched on (id, repeat)."""
    left, right = (results.predictions(run.name)[["id", "repeat", "true", "pred"]] for run in (a, b))
    both = left.merge(right, on=["id", "repeat"], suffixes=("_a", "_b"), validate="one_to_one")
    if len(both) != len(left) or len(both) != len(right) or not (both["true_a"] == both["true_b"]).all():
        return None
    return both["true_a"].to_numpy(), both["pred_a"].to_numpy(), both["pred_b"].to_numpy()


def three(true, pred):
    return np.array([metrics.scores(true, pred)[key] for key in KEYS])


def differences(true, pred_a, pred_b):
    """{key: (b's score minus a's on the same clips, low, high)}, the interval a paired percentile bootstrap over
    clips (the three scores' differences resampled together)."""

    def diff(t, x, y):
        return three(t, y) - three(t, x)

    with warnings.catch_warnings():  # a resample may miss a class that the predictions hold: sklearn's warning
        warnings.simplefilter("ignore", UserWarning)
        boot = scipy_stats.bootstrap((true, pred_a, pred_b), diff, paired=True, vectorized=False, n_resamples=RESAMPLES,
                                     method="percentile", random_state=np.random.default_rng(SEED))
    point = diff(true, pred_a, pred_b)
    low, high = boot.confidence_interval
    return {key: (point[i], low[i], high[i]) for i, key in enumerate(KEYS)}


def compare(results, reference, other):
    """{key: (difference, low, high)} and McNemar's p of `other` against `reference`; None if not on the same clips."""
    clips = paired(results, reference, other)
    if clips is None:
        return None
    return {"diff": differences(*clips), "p_mcnemar": stats.mcnemar(*clips)["p"],
            "clips": len(clips[0])}


def kept(p, results):
    """The header's line: which protocol the headline numbers use, and the share of the stratified UA that the
    speaker-independent run keeps (where both were run)."""
    found = dict(runs(p, results))
    line = (f"- **Headline protocol:** every score in this report but those of \"How much the protocol adds\" "
            f"uses {p['cv']['protocol']} folds (`cv.protocol`)")
    if REFERENCE in found and "speaker" in found:
        share = 100 * found["speaker"]["UA"] / found[REFERENCE]["UA"]
        line += (f"; speaker-independent folds keep {share:.0f} % of the stratified UA of the final model "
                 f"({found['speaker']['UA']:.2f} against {found[REFERENCE]['UA']:.2f})")
    return [line + "."]


def interval(run, key):
    return f"{run[key]:.2f} [{run[f'{key}_low']:.2f}, {run[f'{key}_high']:.2f}]"


def section(p, results, table):
    lines = ["## How much the protocol adds", ""]
    found = runs(p, results)
    if len(found) < 2:
        return lines + ["_Skipped: the final model was scored under one protocol only (protocols.others lists none "
                        "that was trained)._", ""]
    reference = dict(found).get(REFERENCE)
    rows = []
    for name, run in found:
        row = {"protocol": name, "run": run["source"], **{f"{key} [95 % interval]": interval(run, key) for key in KEYS}}
        tested = None if reference is None or name == REFERENCE else compare(results, reference, run)
        for key in KEYS:
            row[f"{key} - stratified [95 % interval]"] = ("—" if tested is None else
                                                         "{:+.2f} [{:+.2f}, {:+.2f}]".format(*tested["diff"][key]))
        row["p, McNemar (clips)"] = "—" if tested is None else f"{tested['p_mcnemar']:.3g}"
        rows.append(row)
    return lines + [
        f"The final model (augment_eca, descending, K = {p['augment']['final_size']}) cross-validated under each "
        f"protocol ({p['cv']['folds']} folds x {p['cv']['repeats']} repeat(s)); {p['cv']['protocol']} is "
        "`cv.protocol`'s run, the others `train_protocol`'s. Each protocol scores every clip once per repeat, so the "
        f"differences against the paper's protocol ({REFERENCE}) are paired on the clips: a percentile bootstrap "
        f"over clips ({RESAMPLES:,} paired resamples) and the exact McNemar test on their correctness. The "
        "intervals beside each score are its own (metrics files).", "", table(rows), ""]
