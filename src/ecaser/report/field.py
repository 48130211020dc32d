"""Where the paper's method stands against the field: the final model beside the CNN, the DS-LSTM, eGeMAPS and every
frozen self-supervised encoder's probe that was run, on the same folds, with each system's paired difference from
the final model; and Table 4's published Vesper row beside the probes, labelled as a published number.

Every trained row is read from what its stage wrote (metrics/<family>/<run>.json: UA, WA, ACC and macro-F1 with
their 95 % intervals over the folds; results/<family>/<run>/: predictions.csv, config.json). FLOPs are of one clip's
forward pass: the CNN's and the DS-LSTM's counted from their config.json (collect.Results.flops), a probe's as its
encoder's (ssl_embed's torch.utils.flop_counter count, in the probe's config.json) plus the probe's own; eGeMAPS has
none counted (openSMILE's signal processing runs outside torch). The paired test is comparisons.paired_test's, the
corrected resampled t-test on ACC over folds x repeats, Holm-corrected across the table.
"""

import pandas as pd

from ..evaluation import stats
from ..evaluation.metrics import SUMMARY
from ..infra.errors import InputError
from . import comparisons, paper
from .collect import audit, natural, read_json

FINAL = "augment_eca/final"
# (run id as collect.Results.run takes it, label): our runs, final model first
OURS = [(FINAL, "our method (ECA + STFT augmentation, descending, K = augment.final_size)"),
        ("cnn/focal", "CNN, weighted focal (no attention)"), ("dslstm/published", "DS-LSTM (Wang et al., 2020)")]
BASELINES = {"egemaps": "eGeMAPS + {}", "ssl_probe": "{}: frozen encoder, weighted-sum probe"}
PUBLISHED = ("Vesper",)  # Table 4's rows that stand beside the probes: published, not retrained
PROTOCOL = "ours: the final model's folds"


def baseline(root, family, path):
    """One eGeMAPS or probe run: its row's id, label, folder, metrics, parameters and FLOPs per clip."""
    folder = root / "results" / family / path.stem
    config, m = read_json(folder / "config.json"), read_json(path)
    if family == "egemaps":
        return {"id": f"egemaps/{path.stem}", "label": BASELINES[family].format(config["model"]["architecture"]),
                "folder": folder, "metrics": m, "parameters": m["model"]["parameters"], "flops": None,
                "flops_note": "not counted (openSMILE, outside torch)"}
    cost = config.get("encoder_cost")
    return {"id": f"ssl_probe/{path.stem}", "label": BASELINES[family].format(config["model"]["encoder"]),
            "folder": folder, "metrics": m, "encoder": cost,
            "parameters": m["model"]["parameters"] + (cost["parameters"] if cost else 0),
            "flops": cost["flops"] + config["probe_flops"] if cost else None,
            "flops_note": "encoder's not recorded: re-run ssl_embed"}


def systems(results):
    """The trained rows, final model first: ours (where trained), then eGeMAPS's and every probe's runs."""
    rows = []
    for run_id, name in OURS:
        run = results.run(run_id)
        if run is not None:
            rows.append({"id": run_id, "label": name, "folder": results.folder(run_id),
                         "metrics": read_json(results.root / "metrics" / f"{run['source']}.json"),
                         "parameters": int(run["parameters"]), "flops": int(results.flops(run)),
                         "source": run["source"]})
    for family in BASELINES:
        for path in sorted((results.root / "metrics" / family).glob("*.json"), key=natural):
            rows.append(baseline(results.root, family, path))
    return rows


def tested(rows):
    """Each row's paired test against the final model (A: the row, B: the final model), Holm across the table; a row
    on other folds gets its reason instead."""
    final = next((row for row in rows if row["id"] == FINAL), None)
    if final is None:
        return rows
    ours, ours_audit = pd.read_csv(final["folder"] / "predictions.csv"), audit(final["folder"])
    for row in rows:
        if row is final:
            continue
        try:
            row["test"] = comparisons.paired_test(pd.read_csv(row["folder"] / "predictions.csv"), ours,
                                                  audit(row["folder"]), ours_audit)
        except InputError as e:
            row["unpaired"] = str(e)
    done = [row for row in rows if "test" in row]
    if done:
        correction = stats.holm([row["test"]["p"] for row in done])
        for row, adjusted, holds in zip(done, correction["adjusted"], correction["reject"]):
            row["test"].update(p_holm=float(adjusted), holds=bool(holds))
    return rows


def published():
    """Table 4's rows that stand beside the probes, as the paper quotes them: (model, UA, WA, ACC, parameters, FLOPs
    as printed, year)."""
    return [(model, ua, wa, acc, parameters, flops, year)
            for model, _, year, ua, wa, acc, parameters, flops in paper.TABLE4 if model in PUBLISHED]


def summary(results):
    """metrics/summary.json's `field`: each trained row's scores, parameters, FLOPs and test against the final model;
    the published rows' numbers under published/<model>."""
    out = {}
    for row in tested(systems(results)):
        entry = {key: float(row["metrics"][key]["mean"]) for key in SUMMARY}
        entry.update(parameters=int(row["parameters"]), flops=row["flops"])
        if "test" in row:
            entry.update(ACC_diff=float(row["test"]["diff"]), p=float(row["test"]["p"]),
                         p_holm=float(row["test"]["p_holm"]))
        out[row["id"]] = entry
    for model, ua, wa, acc, parameters, _, _ in published():
        out[f"published/{model.lower()}"] = {"UA": ua, "WA": wa, "ACC": acc, "parameters": parameters}
    return out


def bracket(score):
    return f"{score['mean']:.2f} [{score['low']:.2f}, {score['high']:.2f}]"


def giga(flops):
    return f"{flops / 1e9:.3f} G"


def cells(row):
    if row["id"] == FINAL:
        test = {"ACC − our method [95 %]": "(reference)", "p": "", "p, Holm": "", "holds": ""}
    elif "test" in row:
        t = row["test"]
        test = {"ACC − our method [95 %]": f"{t['diff']:+.2f} [{t['low']:+.2f}, {t['high']:+.2f}]",
                "p": f"{t['p']:.3g}", "p, Holm": f"{t['p_holm']:.3g}", "holds": "✓" if t["holds"] else ""}
    else:
        test = {"ACC − our method [95 %]": "not paired" if "unpaired" in row else "—", "p": "", "p, Holm": "",
                "holds": ""}
    return {"system": row["label"], "run": f"`{row.get('source', row['id'])}`", "protocol": PROTOCOL,
            **{f"{'macro-F1' if key == 'F1' else key} [95 %]": bracket(row["metrics"][key]) for key in SUMMARY},
            "parameters": f"{row['parameters']:,}",
            "FLOPs per clip": giga(row["flops"]) if row["flops"] is not None else row["flops_note"], **test}


def section(p, results):
    """The report's section: one table, then how to read it."""
    rows = tested(systems(results))
    lines = ["## Against the field: the final model, the baselines and frozen self-supervised encoders", ""]
    out = [cells(row) for row in rows]
    blank = dict.fromkeys(out[0], "—") if out else {}
    for model, ua, wa, acc, parameters, flops, year in published():
        out.append({**blank, "system": f"{model} ({year}), as published", "run": "— (not retrained)",
                    "protocol": "published: IEMOCAP, its authors' 5-fold CV, other folds",
                    "UA [95 %]": f"{ua:.2f}", "WA [95 %]": f"{wa:.2f}", "ACC [95 %]": f"{acc:.2f}",
                    "parameters": f"{parameters:,}", "FLOPs per clip": f"{flops} (as printed in Table 4)",
                    "ACC − our method [95 %]": "", "p": "", "p, Holm": "", "holds": ""})
    lines += [pd.DataFrame(out).to_markdown(index=False, disable_numparse=True), ""]
    if not any(row["id"] == FINAL for row in rows):
        lines += [f"_No `{FINAL}` run, so nothing is tested against it._", ""]
    if not any(row["id"].startswith("ssl_probe/") for row in rows):
        lines += ["_No frozen encoder was probed (`ssl.models` is empty): add one to place it here "
                  "(docs/baselines.md)._", ""]
    unpaired = [f"`{row['id']}` ({row['unpaired']})" for row in rows if "unpaired" in row]
    lines += [f"_Not paired with the final model, so not tested: {'; '.join(unpaired)}._", ""] if unpaired else []
    k = p["augment"]["final_size"]
    return lines + [
        f"Every trained row is scored on the final model's folds (`cv.*`, `train.seed`), so each is paired with it "
        f"clip for clip: the difference in ACC (the row minus `{FINAL}`, descending with K = {k}) and its 95 % "
        "interval are the corrected resampled t-test's over folds × repeats, and \"p, Holm\" is Holm-corrected "
        "across this table's tests; ✓ marks a difference that holds at 5 % after correction. The intervals beside "
        "each score are over the folds. Parameters count everything a clip passes through: a probe's include its "
        "frozen encoder's (its trainable part is the probe's own head and layer weights). FLOPs per clip count 2 per "
        "multiply-add of one clip's forward pass, by torch's flop counter: a probe's include its encoder's, counted "
        "at `ssl_embed` time on the model built from its folder's config. The published row is the paper's Table 4 "
        "quote of the system's own paper, on its own folds and protocol: it was not retrained here and is not "
        "paired with anything.", ""]


def layers(root):
    """{encoder: its per-layer linear probe's layers.csv} of every probe run under root, in natural order."""
    return {path.parent.name: pd.read_csv(path)
            for path in sorted((root / "results" / "ssl_probe").glob("*/layers.csv"), key=natural)}
