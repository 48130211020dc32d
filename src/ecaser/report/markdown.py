"""reports/report.md: what was run and at what scale, then this run's numbers beside the paper's."""

import pandas as pd

from ..evaluation.metrics import KEYS
from . import comparisons, field, figures, paper, protocols
from .collect import ablation, attention, cross_corpus, natural, systems

OPTIMISTIC = "ACC, best epoch on the test fold (optimistic; not our protocol)"
OPTIMISTIC_ALL = "UA / WA / ACC, best epoch on the test fold (optimistic; not our protocol)"
EACH = "UA / WA / ACC, UA and WA each at its own best test epoch (the DS-LSTM authors' protocol)"
BEST = "chosen on test scores, as the paper chose it: optimistic"
# The paper-scale configs' settings (configs/paper-*.yaml), named beside this run's own where they differ.
PAPER_SCALE = {"channel_scale": 4, "kernel": 7, "blocks": [5, 6], "folds": 5, "repeats": 3, "protocol": "stratified",
               "epochs": 100, "batch_size": 36, "final_size": 6, "precision": "bfloat16"}


def beside(value, key, text=None):
    """This run's value, and the paper-scale configs' where it differs, labelled as theirs."""
    text = text or (lambda v: str(v))
    paper_value = PAPER_SCALE[key]
    return text(value) if value == paper_value else f"{text(value)} (paper-scale configs: {text(paper_value)})"


def choices(p):
    """What the paper leaves unsaid and this repository had to choose: (topic, our choice and why), every value named
    from the params this run used (paper-scale configs' values beside them where they differ). docs/choices.md
    explains them."""
    rate, mels, train, cv = p["data"]["sample_rate"], p["stft"]["n_mels"], p["train"], p["cv"]
    model, eca, final = p["model"], p["eca"], p["augment"]["final_size"]
    versions = list(p["stft"]["versions"])
    descending = versions[::-1][:int(final)] if isinstance(final, int) else []
    blocks = ", ".join(map(str, eca["blocks"]))
    folds = f"{cv['folds']}-fold"
    repeats = f", repeated {cv['repeats']} times with other seeds" if cv["repeats"] != 1 else ""
    return [
        ("STFT window", "Hann, the usual choice; the paper's MATLAB preprocessing does not name one"),
        ("FFT length", "the window zero-padded to the next power of two: 256 for 15 ms, 512 for 20-30 ms, 1024 above "
                       "(at 16 kHz)"),
        ("Mel filters", f"librosa's Slaney-normalised filterbank, {mels} bands from 0 Hz to {rate / 2000:g} kHz"),
        ("Framing", f"centred frames with zero padding, so every version has 1 + samples / {rate // 100} frames "
                    "(a 10 ms hop)"),
        ("Log floor", "10 log10 of the power with a 1e-10 floor and no top-dB clipping: nothing is cut off"),
        ("Normalisation", "each Mel band's mean and std over the training fold, so the test fold decides nothing"),
        ("Adam", f"learning rate `train.lr` {train['lr']:g}, decay factor per epoch `train.lr_decay` "
                 f"{train['lr_decay']:g}, batch {beside(train['batch_size'], 'batch_size')}, "
                 f"{beside(train['epochs'], 'epochs', epochs)}"),
        ("n and k", f"channel scale n = {beside(model['channel_scale'], 'channel_scale')} "
                    f"(`model.channel_scale`), ECA kernel k = {beside(eca['kernel'], 'kernel')} (`eca.kernel`) after "
                    f"blocks {blocks} (`eca.blocks`); the paper-scale configs take IEMOCAP's n = 4 and k = 7 for "
                    "EMODB too, since the paper's EMODB choices are lost from its text"),
        ("Folds", f"{cv['protocol']} {folds}{repeats} (`cv.*`; paper-scale configs: "
                  f"{PAPER_SCALE['protocol']} {PAPER_SCALE['folds']}-fold, repeated {PAPER_SCALE['repeats']} times; "
                  "the paper says only \"randomly selected\"): stratified folds keep the class shares"),
        ("Scored epoch", "the last one: the paper does not say, and picking the best test epoch would let the test fold "
                         "choose; that optimistic figure is shown separately, labelled"),
        ("Precision", f"{beside(train['precision'], 'precision')} (`train.precision`): float32 on the CPU, "
                      "bfloat16 autocast for a GPU"),
        ("Segment length", f"{p['data']['segment_s']:g} s per clip (`data.segment_s`; the paper: 3 s for EMODB, "
                           "6 s for IEMOCAP)"),
        ("Final augmentation size", f"K = {beside(final, 'final_size')} descending versions "
                                    f"({', '.join(descending)}) (`augment.final_size`): the paper gives EMODB's best "
                                    "(6: v8..v3), not IEMOCAP's, and K is set, not picked on test folds"),
    ]


def table(rows):
    """Markdown table of already formatted cells (no number re-parsing: 84.50 stays 84.50)."""
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)


def pm(run, key):
    return f"{run[key]:.2f} ± {run[f'{key}_std']:.2f}"


def scores(run):
    return {key: pm(run, key) for key in KEYS}


def epochs(n):
    return f"{n} epoch{'s' * (n != 1)}"


def header(p, results):
    corpus = p["data"]["corpus"]
    real = paper.NAMES.get(paper.corpus(corpus))
    runs = results.runs
    versions = sorted({v for config in runs["config"] if config["architecture"] == "cnn"
                       for v in [*config["train"], config["test"]]}, key=natural)
    lines = ["# Speech emotion recognition with a CNN and ECA: report", ""]
    if corpus.startswith("synthetic-"):
        lines += [f"**These are demo numbers on a synthetic corpus (`{corpus}`), not a reproduction of the paper.** "
                  f"The corpus copies {real}'s classes; the paper's {real} numbers beside ours are the target "
                  "a run on the real corpus is compared against.", ""]
    elif real is None:
        lines += [f"The paper has no numbers on `{corpus}`, so the tables below show this run's alone (Table 5 "
                  "keeps the paper's EMODB and IEMOCAP columns for reference).", ""]
    lines += [
        f"- **Corpus:** `{corpus}`; {len(runs.iloc[0]['classes'])} classes: {', '.join(runs.iloc[0]['classes'])}.",
        f"- **Protocol:** {p['cv']['folds']}-fold cross-validation ({p['cv']['protocol']})"
        f"{f', repeated {rp} times' if (rp := p['cv']['repeats']) != 1 else ''}, "
        f"{epochs(p['train']['epochs'])}, batch {p['train']['batch_size']}, Adam lr {p['train']['lr']:g}; scores of "
        "the last epoch; the test fold never chooses anything. ± is the standard deviation over folds.",
        f"- **Scale:** channel scale n = {p['model']['channel_scale']} (paper: {paper.CHANNEL_SCALE}), "
        f"{epochs(p['train']['epochs'])} (paper: {paper.EPOCHS}); ECA k = {p['eca']['kernel']} after blocks "
        f"{', '.join(map(str, p['eca']['blocks']))}; final model: K = {p['augment']['final_size']} descending STFT "
        f"versions; {p['data']['segment_s']:g} s segments; ablation models on {p['model']['version']}; "
        f"STFT versions trained or tested: {', '.join(versions)}.",
        *protocols.kept(p, results), *calibrated_line(p, results),
        f"- Where a configuration is called best, it was {BEST}.",
    ]
    return lines


def calibrated_line(p, results):
    """The header's line on predict's probabilities: which model, and what temperature scaling did to its ECE."""
    scaled = temperature_scaled(results)
    if not p["calibration"]["temperature"]:
        return ["- **`predict`'s probabilities:** the final model's plain softmax (`calibration.temperature` is "
                "false); \"Calibration of the final model\" says how far they can be trusted."]
    if scaled is None:
        return []
    return [f"- **`predict`'s probabilities:** temperature-scaled (T fitted on held-out parts of the training folds): "
            f"ECE {scaled['uncalibrated']['ECE']:.3f} before, {scaled['calibration']['ECE']:.3f} after, on the test "
            "folds (\"Calibration of the final model\")."]


def ablation_table(p, results):
    real = paper.corpus(p["data"]["corpus"])
    name = paper.NAMES.get(real)
    rows = []
    for _, label, run, published in ablation(results):
        rows.append({"method": label, "run": run["source"], **{f"{k} (this run)": v for k, v in scores(run).items()},
                     "ACC 95 % interval": interval(run),
                     **{f"{k} (paper, {name})": f"{x:.2f}" for k, x in zip(KEYS, published.get(real, ()))},
                     OPTIMISTIC: f"{run['best_ACC']:.2f}"})
    missing = [label for _, label, source, _ in paper.TABLE6 if results.run(source) is None]
    final = results.run("augment_eca/final")
    final = results.run("augment_cnn/final") if final is None else final
    lines = ["## Table 6: ablation", ""]
    lines += [table(rows), ""] if rows else []
    lines += [f"The augmentation rows are the descending runs with K = {final['K']} (augment.final_size: trained on "
              f"{', '.join(final['config']['train'])}, tested on {final['version']}), as the paper's ablation is on "
              "version 8; K is set in params.yaml, not chosen on the test folds.", ""] if final is not None else []
    return lines + ([f"_Not trained, so not shown: {'; '.join(missing)}._", ""] if missing else [])


def choices_section(p):
    return ["## Where the paper is silent: our choices", "", "Every value below is this run's params'; the "
            "paper-scale configs' stand beside them where they differ.", "",
            *(f"- **{topic}:** {choice}." for topic, choice in choices(p)), ""]


def triple(numbers):
    return " / ".join(f"{x:.2f}" for x in numbers) if numbers else "—"


def optimistic(run):
    return triple([run[f"best_{key}"] for key in KEYS])


def published_systems_table(p, results):
    """Table 4 as the paper prints it: published figures of other systems, not retrained, and our method's row."""
    rows = [{"model": model, "method": method, "year": str(year), "UA / WA / ACC": triple((ua, wa, acc)),
             "parameters": f"{parameters:,}", "FLOPs": flops, "source": "published (IEMOCAP, 5-fold CV)"}
            for model, method, year, ua, wa, acc, parameters, flops in paper.TABLE4]
    ours = results.run("augment_eca/final")
    if ours is not None:
        per_clip = results.flops(ours)
        batch = p["train"]["batch_size"]
        rows.append({"model": "our method (this run)", "method": ours["model"], "year": "—",
                     "UA / WA / ACC": " / ".join(pm(ours, key) for key in KEYS),
                     "parameters": f"{ours['parameters']:,}",
                     "FLOPs": f"{per_clip / 1e9:.3f} G per clip; {per_clip / 2 * batch / 1e9:.2f} G MACs per batch "
                              f"of {batch}", "source": f"this run ({ours['source']})"})
    lines = ["## Table 4: our method against published systems", "",
             f"The other systems' rows are their own published figures, as {paper.CITATION} quotes them; they were "
             "not retrained here, and their protocols are their own. \"our method\" is ECA with multi-STFT "
             "augmentation, Table 6's last row.", "", table(rows), ""]
    n4 = 1.68e9  # multiply-adds of one 64 x 601 clip through the paper's n = 4 model (model-summary: 3.35 G FLOPs)
    return lines + [f"The paper does not say how its {paper.PAPER_FLOPS / 1e9:.2f} G was counted. A hypothesis, not "
                    f"a fact: {n4 / 1e9:.2f} G multiply-adds per 6 s clip at n = 4, times a batch of 36, is "
                    f"{n4 * 36 / 1e9:.1f} G, close to it.", ""]


def paper_column(real, run):
    """The paper's UA / WA / ACC of the system a run reproduces, as a column; none on a corpus the paper skips."""
    if real not in paper.NAMES:
        return {}
    return {f"UA / WA / ACC (paper, {paper.NAMES[real]})": triple(paper.published(run.name).get(real))}


def systems_table(p, results):
    real = paper.corpus(p["data"]["corpus"])
    rows = [{"model": run["model"], "run": run["source"], "parameters": f"{run['parameters']:,}",
             "FLOPs (M)": f"{results.flops(run) / 1e6:,.1f}", **scores(run), "ACC 95 % interval": interval(run),
             **paper_column(real, run), OPTIMISTIC_ALL: optimistic(run),
             EACH: triple([run[f"each_{key}"] for key in KEYS])}
            for run in systems(results)]
    lines = ["### Table 4, second part: systems trained here, on our folds and budget", ""]
    lines += [table(rows), ""] if rows else ["_Skipped: no runs of cnn, eca_original, eca or dslstm._", ""]
    return lines + [
        f"The paper's proposed model (n = {paper.CHANNEL_SCALE}, 4 IEMOCAP classes, ECA k = 7 after blocks 5 and 6) "
        f"has {paper.PARAMETERS:,} parameters; ours has n = {p['model']['channel_scale']}. FLOPs count 2 per "
        f"multiply-add of one clip's forward pass. The DS-LSTM's published figures (IEMOCAP) have their own "
        f"protocol: {paper.DSLSTM_PROTOCOL}. Compare them with the last column (on `data.iemocap_set: full`, their "
        "set), ours with our protocol's columns.", ""]


def attention_table(p, results):
    rows = attention(results)
    base = results.runs.loc["cnn/focal", "parameters"] if "cnn/focal" in results.runs.index else None
    out = []
    for run in rows:
        overhead = "—" if base is None else f"+{run['parameters'] - base:,}"
        name, published = paper.TABLE5.get(run["attention"], (run["attention"], {}))
        columns = {f"UA / WA / ACC (paper, {corpus})": triple(published.get(real))
                   for real, corpus in paper.NAMES.items()}
        out.append({"module": name, "model": run["model"], "run": run["source"], **scores(run),
                    "ACC 95 % interval": interval(run),
                    "parameter overhead": overhead, **columns})
    lines = ["## Table 5: attention modules in the same CNN", ""]
    if not out:
        return lines + ["_Skipped: no runs of eca or attention._", ""]
    return lines + [table(out), "", "Each module sits where the proposed model has its ECA (area attention after the "
                    "last block), on the same STFT version and channel scale. Overhead: parameters beyond the CNN "
                    "without attention (cnn/focal: the sweep's run at model.*). SE and CBAM are extra rows of ours; "
                    "the paper has no numbers for them.", ""]


def bracket(score):
    return f"{score['value']:.2f} [{score['low']:.2f}, {score['high']:.2f}]"


def cross_corpus_section(results):
    """The final model on each cross_corpus target, over the classes the two corpora share."""
    targets = cross_corpus(results)
    lines = ["## Cross-corpus: the final model on other corpora", ""]
    if not targets:
        return lines + ["_No target scored: no runs under metrics/cross_corpus/ (cross_corpus.targets)._", ""]
    rows = [{"target": t["name"], "corpus": f"`{t['target']['corpus']}`", "clips": str(t["clips"]),
             "speakers": str(t["speakers"]), **{f"{key} [95 % interval]": bracket(t["scores"][key]) for key in KEYS},
             "within-corpus, same classes (UA / WA / ACC)": triple([t["within"][k] for k in KEYS])
             if "within" in t else "—"} for t in targets]
    lines += [table(rows), ""]
    for t in targets:
        pairs = ", ".join(m if m == x else f"{m} = {x}" for m, x in zip(t["model_classes"], t["target_classes"]))
        left = ", ".join(f"{label} ({n} clips)" for label, n in t["left_out"]["target"].items()) or "none"
        lines.append(f"- **{t['name']}:** shared classes {pairs}; the model's classes without a counterpart: "
                     f"{', '.join(t['left_out']['model']) or 'none'}; the target's, left out: {left}. Unrestricted, "
                     f"the model's first choice was outside the shared classes for {t['unrestricted_outside']:.1f} % "
                     "of the clips.")
    model, final = targets[0]["model"], results.run("augment_eca/final")
    own = (f" (`{final['source']}`; over all its classes UA / WA / ACC {' / '.join(pm(final, k) for k in KEYS)})"
           if final is not None else "")
    return lines + ["", f"The final model (`{model['path']}`, trained on `{model['corpus']}`, STFT {model['version']}: "
                    "the fold ensemble `predict` runs) scores each target's clips of the classes the two corpora "
                    f"share, each clip segmented to the model's {model['segment_s']:g} s at {model['sample_rate']} Hz "
                    "as training segments its own. Its probabilities are renormalised over the shared classes and the "
                    "prediction is the most probable of them. Scores pool the target's clips; each interval is a "
                    f"percentile bootstrap over the target's speakers ({targets[0]['resamples']:,} resamples). "
                    "Within-corpus: the same run's fold models on their own test folds, pooled and restricted to the "
                    f"same classes in the same way{own}.", ""]


def family_table(p, results, family):
    runs = results.family(family)
    rows = [{"run": run["run"] if run["source"] == name else f"{run['run']} (= {run['source']})",
             "trained on -> tested on": f"{', '.join(run['config']['train'])} -> {run['version']}",
             **scores(run), "ACC 95 % interval": interval(run)} for name, run in runs.iterrows()]
    best = results.best(family)
    lines = [f"`{family}`:", "", table(rows), "",
             f"Best by mean test ACC ({BEST}): `{best['run']}`, UA {best['UA']:.2f}, WA {best['WA']:.2f}, "
             f"ACC {best['ACC']:.2f}."]
    real = paper.corpus(p["data"]["corpus"])
    if family == "cnn_sweep" and real in paper.BEST_SWEEP:
        config, published = paper.BEST_SWEEP[real]
        lines[-1] += (f" The paper's best ({paper.NAMES[real]}): {config}, UA {published[0]:.2f}, "
                      f"WA {published[1]:.2f}, ACC {published[2]:.2f}.")
    return lines + [""]


def section(p, results, written, heading, figure, families, tables):
    lines = [f"## {heading}", ""]
    missing = [f for f in families if results.family(f).empty]
    if figure not in written:
        why = f"no runs of {', '.join(f'`{f}`' for f in missing)} under metrics/" if missing else "nothing to draw"
        return lines + [f"_Skipped: {why}._", ""]
    lines += [f"![{heading}](../plots/{figure})", ""]
    for family in families if tables else []:
        lines += [f"_No runs of `{family}`._", ""] if family in missing else family_table(p, results, family)
    return lines


def interval(run, key="ACC"):
    return f"[{run[f'{key}_low']:.2f}, {run[f'{key}_high']:.2f}]"


def comparison_rows(rows, last):
    """Table rows of tested comparisons; `last` names the final column (a verdict, or whether it holds)."""
    return [{"comparison": r["label"], "A": r["a"]["source"], "B": r["b"]["source"],
             "ACC A - B": f"{r['diff']:+.2f}", "95 % interval": f"[{r['low']:+.2f}, {r['high']:+.2f}]",
             "p": f"{r['p']:.3g}", "p, Holm": f"{r['p_holm']:.3g}", "p, McNemar (clips)": f"{r['p_mcnemar']:.3g}",
             **last(r)} for r in rows]


def claims_lines(rows):
    """The opening count of the paper's claims this run supports, and the table of their tests."""
    if not rows:
        return [], []
    count = {verdict: sum(r["verdict"] == verdict for r in rows) for verdict in ("supported", "contradicted")}
    summary = (f"- **The paper's claims, tested on this run:** of {len(rows)}, {count['supported']} supported at 5 % "
               f"(corrected resampled t-test on ACC over folds, Holm-corrected over the claims), "
               f"{count['contradicted']} contradicted, {len(rows) - sum(count.values())} that this run cannot "
               "tell apart. See \"The paper's claims\".")
    section = ["## The paper's claims", "", "Each claim as a paired comparison of two runs of this pipeline (same "
               "clips, same folds); `python -m ecaser compare A B` adds the clip-level tests.", "",
               table(comparison_rows(rows, lambda r: {"verdict": r["verdict"]})), ""]
    return [summary], section


def comparisons_section(families):
    """One table per family of the paper's comparisons, Holm-corrected within the family."""
    lines = ["## Every comparison the paper draws", "",
             "Paired over the same folds; corrected resampled t-test on ACC, Holm within each table; the exact "
             "McNemar test on the clips as a second view (uncorrected). ✓: the t-test's difference holds at 5 % "
             "after correction.", ""]
    for heading, rows in families.items():
        if rows:
            lines += [f"### {heading}", "",
                      table(comparison_rows(rows, lambda r: {"holds": "✓" if r["holds"] else ""})), ""]
    return lines


def audit_section(results):
    """One line per run family of what its test folds share with their training sides (leakage.sentence of each
    run's audit, from its scores.json); a family whose runs' folds differ lists each distinct line."""
    lines = ["## What the folds share", "", "What each family's test folds share with their training sides (the "
             "leakage audit of evaluation/leakage.py, per run in its scores.json): a score on speakers or texts "
             "heard in training measures less than one on unheard ones.", ""]
    runs = results.runs[~results.runs["alias"]]
    for family in dict.fromkeys(runs["family"]):
        found = list(dict.fromkeys(a for a in runs.loc[runs["family"] == family, "audit"] if isinstance(a, str)))
        lines.append(f"- **`{family}`:** {'; '.join(found) if found else 'no audit recorded (an older run)'}.")
    return lines + [""]


def temperature_scaled(results):
    """The train_calibrated run, where it ran and recorded its softmax's calibration beside the scaled one's."""
    scaled = results.run("calibrated/final")
    return scaled if scaled is not None and isinstance(scaled["uncalibrated"], dict) else None


def calibration_section(p, results):
    """ECE, Brier score and log loss of the final model's out-of-fold probabilities (its metrics file), and what
    temperature scaling (the train_calibrated stage's run) does to them."""
    final = results.run("augment_eca/final")
    lines = ["## Calibration of the final model", ""]
    if final is None or not isinstance(final["calibration"], dict):
        return lines + ["_Skipped: no augment_eca run at augment.final_size with a calibration block._", ""]
    c = final["calibration"]
    lines += [f"`{final['source']}`, its out-of-fold probabilities pooled over folds and repeats: "
              f"ECE {c['ECE']:.3f} (15 equal-width bins of the top-class probability), Brier score "
              f"{c['Brier']:.3f} (multi-class, 0..2), log loss {c['log_loss']:.3f}; lower is better for each "
              "(evaluation/calibration.py). The reliability diagram is below (\"Reliability of the final "
              "model\").", ""]
    scaled = temperature_scaled(results)
    if scaled is None:
        return lines + ["_Temperature scaling: no train_calibrated run (`dvc repro train_calibrated`)._", ""]
    n = scaled["config"]["validation"]
    t, before, after = scaled["temperature"], scaled["uncalibrated"], scaled["calibration"]
    spread = f"{t['mean']:.2f} ({t['min']:.2f} to {t['max']:.2f})"
    model = "models/eca_calibrated.pt" if p["calibration"]["temperature"] else "models/eca_augmented.pt"

    def row(label, trained, temperature, run, c):
        return (f"| {label} | {trained} | {temperature} | {run['UA']:.2f} | {run['ACC']:.2f} | {c['ECE']:.3f} | "
                f"{c['Brier']:.3f} | {c['log_loss']:.3f} |")

    return lines + [
        f"**Temperature scaling** (Guo et al., 2017; `train_calibrated`, `calibration.validation_folds` = {n}): the "
        f"final model trained again on {n - 1}/{n} of each training fold; the remaining 1/{n}, split off as "
        f"`{scaled['config']['training']['protocol']}` folds split the corpus, fits the fold's one temperature T (the "
        "log loss of softmax(logits / T), minimised), and the test fold is scored through it. The test fold chooses "
        "nothing. Dividing the logits by T > 0 keeps each clip's most probable class, so UA and ACC are the softmax's.",
        "", "| model | trained on | T | UA | ACC | ECE | Brier | log loss |", "|---|---|---|---|---|---|---|---|",
        row(f"final model, softmax (`{final['source']}`)", "whole training folds", "", final, c),
        row("final model, softmax (`calibrated/final`)", f"{n - 1}/{n} of each", "", scaled, before),
        row("the same, temperature-scaled", f"{n - 1}/{n} of each", spread, scaled, after), "",
        f"Temperature scaling moves ECE from {before['ECE']:.3f} to {after['ECE']:.3f}, Brier from "
        f"{before['Brier']:.3f} to {after['Brier']:.3f} and log loss from {before['log_loss']:.3f} to "
        f"{after['log_loss']:.3f} on the same test clips; holding out 1/{n} of each training fold moves UA by "
        f"{scaled['UA'] - final['UA']:+.2f} points against the final model. `python -m ecaser predict` uses "
        f"{model} (`calibration.temperature`: {str(p['calibration']['temperature']).lower()}) and says whether its "
        "probabilities are calibrated.", ""]


def render(p, results, written):
    summary, claims_section = claims_lines(comparisons.claims(results, p))
    lines = [*header(p, results), *summary, "", *ablation_table(p, results), *published_systems_table(p, results),
             *systems_table(p, results), *attention_table(p, results), *field.section(p, results),
             *cross_corpus_section(results),
             *claims_section, *protocols.section(p, results, table), *audit_section(results),
             *calibration_section(p, results),
             *comparisons_section(comparisons.families(results, p)), *choices_section(p)]
    for figure in figures.FIGURES:
        lines += section(p, results, written, figure.heading, figure.file, figure.families, figure.tables)
    return "\n".join(lines)
