"""The report stage on fake results trees written by the training stages' own code (record.run).

Only the training itself is faked: a run's `quality` decides how many clips of each class it gets right,
so the tests know which run is best without training anything.
"""

import json
from dataclasses import replace
from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as scipy_stats

from ecaser.data import corpora, dataset
from ecaser.training import experiments, record, loop
from ecaser.evaluation import calibration, leakage, metrics, stats
from ecaser import models, report
from ecaser.data.corpora import ravdess
from ecaser.report import collect, field, figures
from ecaser.baselines import linear, probe

REPO = Path(__file__).resolve().parents[1]
COUNTS = [12, 8, 6, 4]  # clips per class; unequal, so UA and WA differ


def params(corpus):
    p = yaml.safe_load((REPO / "params.yaml").read_text())
    p["data"].update(corpus=corpus, root="corpus")  # a real corpus needs a root; nothing here reads it
    p["data"]["classes"] = list(corpora.classes(corpus))  # as the segments' manifest would give them: there is none
    p["cv"]["folds"], p["train"]["epochs"] = 2, 2
    return p


def manifest(classes):
    labels = np.repeat(np.arange(len(classes)), np.resize(COUNTS, len(classes)))
    return pd.DataFrame({"id": [f"u{i:03d}" for i in range(len(labels))], "label_index": labels})


def fake_cross_validate(quality):
    """loop.cross_validate's outputs for a run that gets a share `quality` of each class right in fold 1,
    0.2 less in fold 2, and 0.1 more at epoch 1 than at the last epoch (so the best test epoch is epoch 1)."""

    def cross_validate(rows, train_features, test_features, cfg, checkpoints=None):
        y = rows["label_index"].to_numpy()
        rank = rows.groupby("label_index").cumcount().to_numpy()
        fold = rank % 2 + 1
        place = (rank // 2 + 1) / (np.bincount(y)[y] / 2)  # position of a clip within its class and fold, in (0, 1]

        def pred(q):
            return np.where(place <= q - 0.2 * (fold - 1), y, (y + 1) % len(cfg.model.classes))

        curves = [[{"fold": f, "epoch": e, "train_loss": 1.0 / e, **metrics.scores(y[fold == f], pred(q)[fold == f])}
                   for e, q in ((1, quality + 0.1), (2, quality))] for f in (1, 2)]
        final = pred(quality)
        predictions = pd.DataFrame({"id": rows["id"], "repeat": 1, "fold": fold, "true": y, "pred": final})
        predictions[[f"p_{c}" for c in cfg.model.classes]] = np.eye(len(cfg.model.classes))[final]
        summary = metrics.summarise([{k: fold_curves[-1][k] for k in metrics.SUMMARY} for fold_curves in curves])
        summary["best_test_epoch"] = loop.best_test_epoch(curves)
        summary["best_epoch_each"] = loop.best_epoch_each(curves)
        rng = np.random.default_rng(0)
        model = cfg.model
        width = (model.base_channels or 0) * (model.channel_scale or 0)
        blocks = model.attention_blocks if model.attention == "eca" else ()
        eca = {b: {c: rng.uniform(size=width * b).tolist() for c in model.classes} for b in blocks}
        splits = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in (1, 2)]
        speakers = pd.DataFrame({"speaker": [f"s{i % 3}" for i in range(len(y))]})  # every speaker on both sides
        softmax, temperatures = None, None
        if cfg.validation_folds:  # a calibrated run: softmax 0.7 on the predicted class, through T 1.5 and 2.5
            columns = [f"p_{c}" for c in cfg.model.classes]
            softmax = predictions.copy()
            rest = 0.3 / (len(columns) - 1)
            softmax[columns] = rest + (0.7 - rest) * np.eye(len(columns))[final]
            temperatures = {1: 1.5, 2: 2.5}
            for f, t in temperatures.items():
                predictions.loc[fold == f, columns] = calibration.apply_temperature(softmax.loc[fold == f, columns], t)
        return loop.Result(predictions, summary, curves, eca, fold_models=[], audit=leakage.audit(speakers, splits),
                           softmax=softmax, temperatures=temperatures)

    return cross_validate


def write_tree(root, corpus, classes, runs):
    """Run record.run for each (family, run, quality, keyword arguments) with the training faked."""
    p = params(corpus)
    p["data"]["classes"] = list(classes)  # as a manifest of these classes would give them, training and report alike
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setattr(dataset, "load_manifest", lambda: manifest(classes))
        mp.setattr(dataset, "load_features", lambda version, n: np.zeros((n, 64, 40), np.float16))
        mp.setattr(dataset, "load_dslstm", lambda n: tuple(np.zeros((n, d, t), np.float16) for d, t in DSLSTM_INPUTS))
        for family, name, quality, kw in runs:
            mp.setattr(loop, "cross_validate", fake_cross_validate(quality))
            if family == "dslstm":
                run = experiments.train_dslstm(p)
            else:
                train = kw.get("train_versions", ["v8"])
                model = models.cnn(classes, kw.get("channel_scale", 1), 16, kw.get("attention", "eca"),
                                   kw.get("attention_blocks", ()), kw.get("eca_kernel", 7))
                run = experiments.Run(model, tuple(train), train[0], kw.get("loss", "focal"), kw.get("protocol"),
                                      kw.get("validation"))
            record.run(p, run, f"results/{family}/{name}", f"metrics/{family}/{name}.json")
    return p


PROBE_COST = {"flops": 123_456_789, "parameters": 94_371_712}  # as ssl_embed records it (test_ssl checks the count)


def write_baselines(root, p, classes):
    """eGeMAPS's and a probe's runs by their stages' own code (linear.cross_validate and probe.weighted_sum on
    made-up features, then each module's record), on the fake runs' folds, so that they pair with them."""
    rows = manifest(classes)
    rows["speaker"] = [f"s{i % 5}" for i in range(len(rows))]  # the leakage audit counts speakers
    y = rows["label_index"].to_numpy()
    fold = rows.groupby("label_index").cumcount().to_numpy() % 2 + 1  # fake_cross_validate's folds
    splits = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in (1, 2)]
    rng = np.random.default_rng(1)
    features = rng.standard_normal((len(rows), 6)) + 0.8 * y[:, None]
    layers = rng.standard_normal((len(rows), 3, 8)).astype(np.float32)
    layers[:, 1] += y[:, None]  # layer 1 carries the classes
    p = {**p, "probe": {**p["probe"], "epochs": 2, "linear": {**p["probe"]["linear"], "inner_folds": 2}},
         "egemaps": {**p["egemaps"], "inner_folds": 2}}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setattr(loop, "repeated_splits", lambda *args: splits)
        cfg = linear.config(p, "egemaps")
        linear.record("results/egemaps/functionals", "metrics/egemaps/functionals.json",
                      linear.cross_validate(features, rows, cfg, classes), cfg, classes, "egemaps")
        cfg, linear_cfg = probe.config(p), linear.config(p, "probe.linear")
        probe.record("results/ssl_probe/tiny", "metrics/ssl_probe/tiny.json",
                     probe.weighted_sum(layers, rows, cfg, classes, "cpu"),
                     probe.per_layer(layers, rows, linear_cfg, classes), cfg, linear_cfg, classes, "tiny", layers,
                     PROBE_COST)


def augment(model, order, k, quality):
    train, _ = experiments.augmented_versions([f"v{i}" for i in range(1, 9)], order, k)
    eca = {"attention_blocks": (5, 6), "eca_kernel": 7} if model == "eca" else {}
    return f"augment_{model}", f"{order}-{k}", quality, {"train_versions": train, **eca}


FULL = [
    *[("cnn_sweep", f"{v}-n{n}", q, {"train_versions": [v], "channel_scale": n})
      for v, n, q in (("v1", 1, 0.4), ("v8", 1, 0.5), ("v1", 2, 0.7), ("v8", 2, 0.6))],
    ("cnn", "cross_entropy", 0.4, {"loss": "cross_entropy"}),
    *[("eca_kernels", f"{v}-k{k}", q, {"train_versions": [v], "attention_blocks": (5, 6), "eca_kernel": k})
      for v, k, q in (("v8", 3, 0.5), ("v8", 7, 0.6), ("v1", 7, 0.45))],
    *[("eca_blocks", f"last{n}-k7", q, {"attention_blocks": tuple(range(7 - n, 7))}) for n, q in ((2, 0.6), (6, 0.4))],
    *[("eca_original", v, q, {"train_versions": [v], "attention_blocks": (1, 2, 3, 4, 5, 6), "eca_kernel": "adaptive"})
      for v, q in (("v8", 0.3), ("v1", 0.35))],
    ("eca", "proposed", 0.6, {"attention_blocks": (5, 6)}),
    augment("cnn", "ascending", 2, 0.5), augment("cnn", "descending", 2, 0.6), augment("cnn", "descending", 4, 0.8),
    augment("eca", "ascending", 2, 0.9), augment("eca", "descending", 2, 0.7), augment("eca", "descending", 4, 0.5),
    ("protocol", "speaker", 0.5, {**augment("eca", "descending", 2, 0.5)[3], "protocol": "speaker"}),
    ("calibrated", "final", 0.6, {**augment("eca", "descending", 2, 0.6)[3], "validation": 5}),
]
DSLSTM = ("dslstm", "published", 0.35, {"loss": "cross_entropy"})
DSLSTM_INPUTS = ((39, 301), (128, 63), (256, 32))  # MFCC, fine and coarse Mel (the real ones of a 2 s clip)
FULL += [*[("attention", kind, q, {"attention": kind, "attention_blocks": (6,) if kind == "area" else (5, 6)})
           for kind, q in (("se", 0.5), ("cbam", 0.55), ("mhsa", 0.45), ("area", 0.4), ("head_fusion", 0.5),
                           ("stc", 0.55))], DSLSTM]
EMODB_LIKE = ["anger", "boredom", "neutral"]
PARTIAL = [("cnn_sweep", "v8-n1", 0.5, {}), ("eca", "proposed", 0.6, {"attention_blocks": (5, 6)}),
           augment("eca", "descending", 2, 0.7), DSLSTM]
IEMOCAP = ["angry", "sad", "happy", "neutral"]


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    p = write_tree(root, "synthetic-emodb", EMODB_LIKE, FULL)
    write_baselines(root, p, EMODB_LIKE)
    report.build(p, root)
    return root


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    root = tmp_path_factory.mktemp("partial")
    p = write_tree(root, "iemocap", IEMOCAP, PARTIAL)
    (root / "plots").mkdir()
    (root / "plots/fig8_eca_kernel.png").write_bytes(b"from an earlier run that had an ECA kernel grid")
    report.build(p, root)
    return root


@pytest.fixture(scope="module")
def results(full):
    return collect.load(params("synthetic-emodb"), full)


def scores(root, run_id):
    m = json.loads((root / "metrics" / f"{run_id}.json").read_text())
    return {key: m[key]["mean"] for key in metrics.KEYS}


def test_summary_holds_the_runs_own_numbers(full):
    summary = json.loads((full / "metrics/summary.json").read_text())
    rows = {"cnn_cross_entropy": "cnn/cross_entropy", "cnn_focal": "cnn_sweep/v8-n1",
            "original_eca": "eca_original/v8", "our_eca": "eca/proposed",
            "stft_augmentation": "augment_cnn/descending-2", "both": "augment_eca/descending-2"}
    # the augmentation rows are at augment.final_size (2), though the CNN's descending-4 scores higher
    assert summary["ablation"] == {key: scores(full, run_id) for key, run_id in rows.items()}
    best = {"cnn_sweep": "v1-n2", "eca_kernels": "v8-k7", "eca_blocks": "last2-k7",
            "augment_cnn": "descending-4", "augment_eca": "ascending-2"}
    assert summary["best"] == {f: {"run": run, **scores(full, f"{f}/{run}")} for f, run in best.items()}
    proposed = json.loads((full / "metrics/eca/proposed.json").read_text())
    details = json.loads((full / "results/eca/proposed/scores.json").read_text())
    assert summary["proposed"]["ACC_std"] == details["std"]["ACC"]
    assert summary["proposed"]["best_test_epoch_ACC"] == details["best_test_epoch"]["ACC"] > proposed["ACC"]["mean"]
    assert summary["proposed"]["parameters"] == proposed["model"]["parameters"]


def test_every_figure_is_a_readable_png(full):
    for name in (figure.file for figure in figures.FIGURES):
        image = matplotlib.image.imread(full / "plots" / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 100, name
    assert not list((full / "plots").glob(".*.tmp"))


def test_unaugmented_runs_stand_in_for_k1(full):
    augmented = collect.augmentation(collect.load(params("synthetic-emodb"), full))
    k1 = augmented[augmented["K"] == 1].groupby(["model", "order"])["id"].first().to_dict()
    assert k1 == {("CNN", "ascending"): "cnn_sweep/v1-n1", ("CNN", "descending"): "cnn_sweep/v8-n1",
                  ("CNN + ECA", "ascending"): "eca_kernels/v1-k7", ("CNN + ECA", "descending"): "eca_kernels/v8-k7"}
    first = augmented[augmented["id"] == "cnn_sweep/v1-n1"]
    assert first["ACC"].mean() == pytest.approx(scores(full, "cnn_sweep/v1-n1")["ACC"])


def test_report_states_the_setup_and_puts_the_papers_emodb_numbers_beside_ours(full):
    text = (full / "reports/report.md").read_text()
    assert "**These are demo numbers on a synthetic corpus (`synthetic-emodb`)" in text.split("\n## ")[0]
    assert "classes: anger, boredom, neutral" in text and "2-fold cross-validation (stratified)" in text
    assert "scores of the last epoch; the test fold never chooses anything" in text
    assert "STFT versions trained or tested: v1, v2, v5, v6, v7, v8." in text  # not the DS-LSTM's inputs
    proposed = json.loads((full / "metrics/eca/proposed.json").read_text())
    row = next(line for line in text.splitlines() if line.startswith("| + our ECA "))
    details = json.loads((full / "results/eca/proposed/scores.json").read_text())
    assert f"{proposed['UA']['mean']:.2f} ± {details['std']['UA']:.2f}" in row
    assert "85.48" in row and f"{details['best_test_epoch']['ACC']:.2f}" in row
    assert "best epoch on the test fold (optimistic; not our protocol)" in text
    assert "chosen on test scores" in text and "Skipped" not in text
    choices = text.split("## Where the paper is silent: our choices")[1].split("\n## ")[0]
    assert "- **Scored epoch:** the last one" in choices and "- **Adam:** learning rate" in choices
    for name in (figure.file for figure in figures.FIGURES):
        assert f"](../plots/{name})" in text


def test_real_corpus_with_missing_families_is_reported_with_notes(partial):
    text = (partial / "reports/report.md").read_text()
    assert "synthetic" not in text and "classes: angry, sad, happy, neutral" in text
    row = next(line for line in text.splitlines() if line.startswith("| + our ECA "))
    assert "79.37" in row and "85.48" not in row
    assert "_Skipped: no runs of `eca_kernels` under metrics/._" in text
    assert "_Not trained, so not shown: CNN, cross entropy; + original ECA; + STFT augmentation._" in text
    assert "_No runs of `augment_cnn`._" in text
    written = {p.name for p in (partial / "plots").glob("*.png")}  # the stale fig8 is gone too
    # Fig. 9's cell with ECA in the last 2 blocks and k = 7 is the proposed model, borrowed from eca/proposed
    assert collect.load(params("iemocap"), partial).run("eca_blocks/last2-k7")["source"] == "eca/proposed"
    assert "| last2-k7 (= eca/proposed) |" in text.split("## Fig. 9")[1].split("## Fig. 10")[0]
    assert written == {"fig6_channel_scale.png", "fig9_eca_blocks.png", "fig11_descending.png", "fig12_confusion.png",
                       "fig13_confusion.png", "fig14_eca_block5.png", "fig15_eca_block6.png", "training_curves.png", "reliability.png",
                       "confusion_baselines.png"}
    assert "## Fig. 10: multi-STFT augmentation, ascending\n\n_Skipped: no runs of `augment_cnn` under" in text
    summary = json.loads((partial / "metrics/summary.json").read_text())
    assert set(summary["ablation"]) == {"cnn_focal", "our_eca", "both"}
    assert set(summary["best"]) == {"augment_eca", "cnn_sweep", "eca_blocks"}  # eca_blocks: the borrowed cell
    k1 = collect.augmentation(collect.load(params("iemocap"), partial)).query("K == 1")
    assert set(k1["id"]) == {"eca/proposed"}


def test_a_corpus_the_paper_has_no_numbers_on_is_reported_with_its_own_classes(tmp_path):
    """RAVDESS: eight classes, and no published column to fill."""
    p = write_tree(tmp_path, "ravdess", ravdess.CLASSES, PARTIAL)
    report.build(p, tmp_path)
    text = (tmp_path / "reports/report.md").read_text()
    assert "The paper has no numbers on `ravdess`" in text and f"8 classes: {', '.join(ravdess.CLASSES)}." in text
    assert "(paper, " not in text.split("## Table 5")[0].split("## Table 4: our method")[0]
    assert "(paper, " not in text.split("### Table 4, second part")[1].split("## Table 5")[0]
    assert "The paper's best" not in text
    confusion = pd.read_json(tmp_path / "results/eca/proposed/live/plots/sklearn/confusion_matrix.json")
    assert set(confusion["actual"]) == set(ravdess.CLASSES)
    assert matplotlib.image.imread(tmp_path / "plots/fig12_confusion.png").ndim == 3


def row(text, start):
    return next(line for line in text.splitlines() if line.startswith(start))


def cells(text, *first):
    """The stripped cells of the table row whose first cells are `first` (tables are padded for reading)."""
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in text.splitlines() if line.startswith("|")]
    return next(r for r in rows if r[: len(first)] == list(first))


def test_table4_puts_the_dslstm_beside_its_published_numbers(full, partial):
    text = (full / "reports/report.md").read_text()
    ours = json.loads((full / "metrics/dslstm/published.json").read_text())
    line = row(text, "| DS-LSTM, cross entropy ")
    details = json.loads((full / "results/dslstm/published/scores.json").read_text())
    assert f"{ours['UA']['mean']:.2f} ± {details['std']['UA']:.2f}" in line and "| —" in line  # no EMODB figure
    best = details["best_test_epoch"]
    assert f"{best['UA']:.2f} / {best['WA']:.2f} / {best['ACC']:.2f}" in line
    each = details["best_epoch_each"]  # the DS-LSTM authors' protocol, UA and WA each at its own best epoch
    assert line.rstrip(" |").endswith(f"{each['UA']:.2f} / {each['WA']:.2f} / {each['ACC']:.2f}")
    assert f"{ours['model']['parameters']:,}" in line
    assert "73.30 / 72.70 / 73.00" in row((partial / "reports/report.md").read_text(), "| DS-LSTM, cross entropy ")
    # FLOPs are counted by the report from config.json: the same as counting an independently built model
    flops = models.summary(models.cnn(EMODB_LIKE, 1, 16, "eca", (5, 6), 7).build(), [(64, 40)])["flops"]
    cells = [cell.strip() for cell in row(text, "| CNN, focal + ECA (blocks 5, 6; k = 7) ").split("|")]
    assert f"{flops / 1e6:,.1f}" in cells
    summary = json.loads((full / "metrics/summary.json").read_text())
    assert summary["proposed"]["flops"] == flops
    assert list(summary["systems"]) == ["cnn/focal", "eca_original/adaptive", "eca/proposed", "dslstm/published"]
    assert summary["systems"]["dslstm/published"]["UA"] == ours["UA"]["mean"]


def test_table4_shows_published_systems_as_published_beside_our_method(full):
    text = (full / "reports/report.md").read_text()
    table4 = text.split("## Table 4")[1].split("### Table 4, second part")[0]
    assert "not retrained here" in table4
    assert cells(table4, "Vesper") == ["Vesper", "transformer", "2024", "73.90 / 73.00 / 73.45", "63,515,872",
                                       "35.16 G", "published (IEMOCAP, 5-fold CV)"]
    assert cells(table4, "our method")[3:6] == ["80.30 / 80.50 / 80.40", "2,734,482", "61.10 G"]
    # our row is Table 6's last: the descending ECA run at augment.final_size, not the best run (ascending-2)
    ours = cells(table4, "our method (this run)")
    assert ours[-1] == "this run (augment_eca/descending-2)"
    flops = models.summary(models.cnn(EMODB_LIKE, 1, 16, "eca", (5, 6), 7).build(), [(64, 40)])["flops"]
    assert ours[5] == f"{flops / 1e9:.3f} G per clip; {flops / 2 * 12 / 1e9:.2f} G MACs per batch of 12"
    assert "61.10 G" in table4 and "is 60.5 G, close to it" in table4


def test_table5_rows_and_their_parameter_overhead(full):
    text = (full / "reports/report.md").read_text()
    table5 = text.split("## Table 5")[1].split("\n## ")[0]
    lines = [line for line in table5.splitlines() if line.startswith("| ") and not line.startswith("| module")]
    assert [line.split("|")[3].strip() for line in lines] == [
        "eca/proposed", "attention/se", "attention/cbam", "attention/mhsa", "attention/area",
        "attention/head_fusion", "attention/stc"]
    # SE after blocks 5 and 6 of the n = 1 CNN (80 and 96 channels, reduction 16): 2*C*(C//16) + C//16 + C each
    se = sum(2 * c * (c // 16) + c // 16 + c for c in (80, 96))
    assert f"+{se:,}" in cells(table5, "SE (ours, not in the paper)", "CNN, focal + SE (blocks 5, 6)")
    eca = cells(table5, "ECA", "CNN, focal + ECA (blocks 5, 6; k = 7)")
    assert eca[-3:] == [f"+{2 * 7:,}", "85.48 / 86.17 / 85.83", "79.37 / 79.68 / 79.53"]
    # the paper's rows, named as the paper names them, with both corpora's numbers (EMODB, IEMOCAP)
    assert cells(table5, "MHA", "CNN, focal + MHSA (blocks 5, 6)")[-2:] == ["80.87 / 81.12 / 81.00",
                                                                          "73.96 / 73.63 / 73.79"]
    assert cells(table5, "Area Attention")[-2:] == ["84.45 / 84.67 / 84.56", "74.85 / 75.60 / 75.09"]
    assert cells(table5, "Head-fusion")[-2:] == ["84.22 / 84.67 / 84.45", "78.59 / 78.86 / 78.73"]
    assert cells(table5, "STC")[-2:] == ["84.89 / 85.79 / 85.34", "79.30 / 78.90 / 79.10"]
    assert cells(table5, "CBAM (ours, not in the paper)")[-2:] == ["—", "—"]
    summary = json.loads((full / "metrics/summary.json").read_text())
    assert list(summary["attention"]) == ["eca", "se", "cbam", "mhsa", "area", "head_fusion", "stc"]
    assert summary["attention"]["cbam"]["ACC"] == scores(full, "attention/cbam")["ACC"]


def drawn(figure, results):
    """The axes of the figure a figure function draws from `results` (closed: only inspected, never shown)."""
    fig = figure(params("synthetic-emodb"), results)
    plt.close(fig)
    return fig.axes


def curves(ax):
    """Each plotted line's y values, in legend order: not the error bars (NaN-separated) nor the legend's handles."""
    return [list(line.get_ydata()) for line in ax.get_lines()
            if len(line.get_ydata()) and not np.isnan(line.get_ydata()).any()]


def labels(ax):
    return [t.get_text() for t in ax.get_xticklabels()], [t.get_text() for t in ax.get_legend().get_texts()]


def test_fig7_puts_each_original_eca_run_beside_the_sweep_run_at_its_version_and_scale(full, results):
    (ax,) = drawn(figures.original_eca, results)
    assert labels(ax) == (["v1", "v8"], [figures.WITHOUT_ECA, figures.WITH_ECA])
    acc = {run: scores(full, run)["ACC"] for run in ("cnn_sweep/v1-n1", "cnn_sweep/v8-n1", "eca_original/v1",
                                                     "eca_original/v8")}
    assert curves(ax) == [pytest.approx([acc["cnn_sweep/v1-n1"], acc["cnn_sweep/v8-n1"]]),
                          pytest.approx([acc["eca_original/v1"], acc["eca_original/v8"]])]
    (ax,) = drawn(figures.original_eca, replace(results, runs=results.runs.drop(index="eca_original/v1")))
    assert labels(ax)[0] == ["v8"] and curves(ax) == [pytest.approx([acc["cnn_sweep/v8-n1"]]),
                                                      pytest.approx([acc["eca_original/v8"]])]
    without = results.runs[results.runs["family"] != "eca_original"]
    assert figures.original_eca(params("synthetic-emodb"), replace(results, runs=without)) is None


@pytest.mark.parametrize("figure, order, ks", [(figures.ascending, "ascending", ["1", "2"]),
                                               (figures.descending, "descending", ["1", "2", "4"])])
def test_fig10_and_11_draw_one_order_each(results, figure, order, ks):
    (ax,) = drawn(figure, results)
    assert labels(ax) == (ks, ["CNN", "CNN + ECA"]) and order in ax.get_title()
    acc = collect.augmentation(results).query("order == @order").groupby(["model", "K"])["ACC"].mean()
    assert curves(ax) == [pytest.approx(list(acc["CNN"])), pytest.approx(list(acc["CNN + ECA"]))]


def test_fig12_and_13_compare_cnn_and_eca_without_and_with_descending_augmentation(results):
    titles = [ax.get_title().split("\n")[0] for ax in drawn(figures.confusion_plain, results)]
    assert titles == ["CNN (cnn_sweep/v8-n1)", "CNN + ECA (eca/proposed)"]
    titles = [ax.get_title().split("\n")[0] for ax in drawn(figures.confusion_augmented, results)]
    # at augment.final_size (2): not the CNN's better descending-4, nor the ECA model's better ascending-2
    assert titles == ["CNN (augment_cnn/descending-2)", "CNN + ECA (augment_eca/descending-2)"]


@pytest.mark.parametrize("figure, block", [(figures.eca_block5, 5), (figures.eca_block6, 6)])
def test_fig14_and_15_draw_one_line_per_emotion_over_the_augmented_eca_models_channels(full, results, figure, block):
    (ax,) = drawn(figure, results)
    assert "augment_eca/descending-2" in ax.get_title() and labels(ax)[1] == EMODB_LIKE
    weights = json.loads((full / "results/augment_eca/descending-2/eca_weights.json").read_text())[str(block)]
    assert curves(ax) == [pytest.approx(weights[emotion]) for emotion in EMODB_LIKE]
    assert {len(line) for line in curves(ax)} == {16 * block}  # block L of the n = 1 CNN has 16 L channels
    no_eca = results.runs.drop(index=[i for i in results.runs.index if i.startswith("augment_eca/")])
    assert figure(params("synthetic-emodb"), replace(results, runs=no_eca)) is None


def test_the_papers_claims_are_tested_pairwise_and_counted_in_the_opening_lines(full):
    text = (full / "reports/report.md").read_text()
    section = text.split("## The paper's claims")[1].split("\n## ")[0]
    rows = {r[0]: r for r in ([c.strip() for c in line.split("|")[1:-1]] for line in section.splitlines()
                              if line.startswith("| ") and not line.startswith("| comparison"))}
    assert list(rows) == ["ECA helps", "ECA-Net's original ECA hurts", "larger windows help", "augmentation helps",
                          "both help most"]
    assert rows["larger windows help"][1:3] == ["cnn_sweep/v8-n1", "cnn_sweep/v1-n1"]  # at model.channel_scale 1
    assert rows["augmentation helps"][1:3] == ["augment_cnn/descending-2", "cnn_sweep/v8-n1"]
    # the test, independently: per-fold ACC from each run's scores.json; 2 folds, so each trains on the other's clips
    folds = {run: [json.loads((full / f"results/{run}/scores.json").read_text())["folds"][f]["ACC"] for f in "12"]
             for run in ("eca/proposed", "cnn_sweep/v8-n1")}
    half = sum(COUNTS[: len(EMODB_LIKE)]) / 2
    expected = stats.corrected_ttest(folds["eca/proposed"], folds["cnn_sweep/v8-n1"], half, half)
    ours = rows["ECA helps"]
    assert ours[3] == f"{expected['diff']:+.2f}" and ours[5] == f"{expected['p']:.3g}"
    # the clip-level second view: the exact binomial test on the clips only one of the two gets right
    a, b = (pd.read_csv(full / f"results/{run}/predictions.csv").set_index("id") for run in folds)
    b = b.loc[a.index]
    right_a, right_b = a.pred == a.true, b.pred == b.true
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    assert ours[7] == f"{scipy_stats.binomtest(min(only_a, only_b), only_a + only_b).pvalue:.3g}"
    holm = stats.holm([float(r[5]) for r in rows.values()])["adjusted"]
    verdicts = [r[8] for r in rows.values()]
    assert all((v != "cannot tell apart") == (h < 0.05) for v, h in zip(verdicts, holm))
    opening = text.split("\n## ")[0]
    supported = verdicts.count("supported")
    assert f"of 5, {supported} supported at 5 %" in opening


def test_every_comparison_of_the_paper_is_tested_with_holm_within_its_table(full):
    text = (full / "reports/report.md").read_text()
    section = text.split("## Every comparison the paper draws")[1].split("\n## ")[0]
    tables = {}
    for part in section.split("\n### ")[1:]:
        heading, body = part.split("\n", 1)
        tables[heading] = [[c.strip() for c in line.split("|")[1:-1]] for line in body.splitlines()
                           if line.startswith("| ") and not line.startswith("| comparison")]
    ablation = tables["Table 6: each row against the one before it"]
    assert [r[0] for r in ablation][:2] == ["CNN, weighted focal against CNN, cross entropy",
                                            "+ original ECA against CNN, weighted focal"]
    assert ablation[0][1:3] == ["cnn_sweep/v8-n1", "cnn/cross_entropy"]
    fig7 = tables["Fig. 7: ECA-Net's original ECA against none, version by version (n = 1)"]
    assert {tuple(r[:3]) for r in fig7} == {("v1", "eca_original/v1", "cnn_sweep/v1-n1"),
                                            ("v8", "eca_original/v8", "cnn_sweep/v8-n1")}
    steps = {r[0]: r[1:3] for r in tables["Fig. 10-11: each augmentation size against none (K = 1)"]}
    assert steps["CNN, descending, K = 4 against K = 1"] == ["augment_cnn/descending-4", "cnn_sweep/v8-n1"]
    assert steps["CNN + ECA, ascending, K = 2 against K = 1"] == ["augment_eca/ascending-2", "eca_kernels/v1-k7"]
    modules = {r[0]: r[1:3] for r in tables["Table 5: each attention module against ECA"]}
    assert modules["SE"] == ["attention/se", "eca/proposed"] and len(modules) == 6
    for rows in tables.values():  # Holm within each table, from its own p-values
        adjusted = stats.holm([float(r[5]) for r in rows])["adjusted"]
        assert [float(r[6]) for r in rows] == pytest.approx(adjusted, rel=0.01)  # from the printed 3 digits
        assert all((r[8] == "✓") == (a < 0.05) for r, a in zip(rows, adjusted))
    # every table has the runs' ACC interval
    proposed = json.loads((full / "metrics/eca/proposed.json").read_text())["ACC"]
    assert f"[{proposed['low']:.2f}, {proposed['high']:.2f}]" in row(text, "| + our ECA ")


def test_the_report_command_prints_where_the_report_is_and_its_opening_lines(full, capsys, tmp_path):
    """What `make repro` ends with: the path, then the report up to its first section, the claims' count in it."""
    from ecaser.commands.cli import main as cli

    cli(["report", "--root", str(full)])
    out = capsys.readouterr().out.splitlines()
    text = (full / "reports/report.md").read_text()
    assert out[0].startswith(f"The report: {full / 'reports/report.md'}")
    assert out[2:] == text.split("\n## ")[0].strip().splitlines()
    assert any(line.startswith("- **The paper's claims, tested on this run:** of ") for line in out)
    with pytest.raises(SystemExit) as exit:
        cli(["report", "--root", str(tmp_path)])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'reports/report.md'}: no report yet (make it with " \
                                              "`dvc repro`)"


def field_rows(text):
    section = text.split("## Against the field")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    head = [c.strip() for c in lines[0].split("|")[1:-1]]
    return section, [dict(zip(head, (c.strip() for c in line.split("|")[1:-1]))) for line in lines[1:]]


def independent(root, run):
    """Per-fold UA, WA, ACC and macro-F1 straight from a run's predictions.csv, by scikit-learn."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    folds = []
    for _, f in pd.read_csv(root / f"results/{run}/predictions.csv").groupby("fold"):
        ua, wa = 100 * balanced_accuracy_score(f.true, f.pred), 100 * accuracy_score(f.true, f.pred)
        folds.append({"UA": ua, "WA": wa, "ACC": (ua + wa) / 2,
                      "F1": 100 * f1_score(f.true, f.pred, average="macro", labels=np.unique(f.true))})
    return pd.DataFrame(folds)


def test_against_the_field_the_final_model_beside_every_baseline_on_the_same_folds(full):
    summary = json.loads((full / "metrics/summary.json").read_text())["field"]
    sources = {"augment_eca/final": "augment_eca/descending-2", "cnn/focal": "cnn_sweep/v8-n1",
               "dslstm/published": "dslstm/published", "egemaps/functionals": "egemaps/functionals",
               "ssl_probe/tiny": "ssl_probe/tiny"}
    assert list(summary) == [*sources, "published/vesper"]
    for key, run in sources.items():  # the numbers, independently from each run's predictions
        assert {k: summary[key][k] for k in ("UA", "WA", "ACC", "F1")} == pytest.approx(
            independent(full, run).mean().to_dict())
    # the paired test against the final model, independently: the corrected resampled t-test (Nadeau and Bengio)
    final = independent(full, "augment_eca/descending-2")["ACC"].to_numpy()
    half = sum(COUNTS[: len(EMODB_LIKE)]) / 2
    p_values = []
    for key in list(sources)[1:]:
        d = independent(full, sources[key])["ACC"].to_numpy() - final
        with np.errstate(divide="ignore"):  # folds that differ by the same amount: t is infinite, p 0
            t = d.mean() / np.sqrt((1 / len(d) + half / half) * d.var(ddof=1))
        p_values.append(2 * scipy_stats.t.sf(abs(t), len(d) - 1))
        assert summary[key]["ACC_diff"] == pytest.approx(d.mean()) and summary[key]["p"] == pytest.approx(p_values[-1])
    # Holm across the table's four tests, by hand: the i-th smallest p times (m - i), running maximum, at most 1
    order = np.argsort(p_values)
    holm = np.minimum(np.maximum.accumulate(np.array(p_values)[order] * (4 - np.arange(4))), 1)
    expected = np.empty(4)
    expected[order] = holm
    assert [summary[key]["p_holm"] for key in list(sources)[1:]] == pytest.approx(expected)
    # parameters and FLOPs: the CNN's from its model, the probe's its encoder's plus its own (torch's count)
    results = collect.load(params("synthetic-emodb"), full)
    assert summary["cnn/focal"]["flops"] == results.flops(results.run("cnn/focal"))
    config = json.loads((full / "results/ssl_probe/tiny/config.json").read_text())
    assert summary["ssl_probe/tiny"]["flops"] == PROBE_COST["flops"] + config["probe_flops"] > PROBE_COST["flops"]
    head = json.loads((full / "metrics/ssl_probe/tiny.json").read_text())["model"]["parameters"]
    assert summary["ssl_probe/tiny"]["parameters"] == PROBE_COST["parameters"] + head
    assert summary["egemaps/functionals"]["flops"] is None


def test_the_field_section_prints_the_numbers_and_labels_the_published_vesper_row(full):
    section, rows = field_rows((full / "reports/report.md").read_text())
    by_run = {r["run"]: r for r in rows}
    assert list(by_run)[:5] == ["`augment_eca/descending-2`", "`cnn_sweep/v8-n1`", "`dslstm/published`",
                                "`egemaps/functionals`", "`ssl_probe/tiny`"]
    m = json.loads((full / "metrics/ssl_probe/tiny.json").read_text())
    tiny = by_run["`ssl_probe/tiny`"]
    assert tiny["macro-F1 [95 %]"] == f"{m['F1']['mean']:.2f} [{m['F1']['low']:.2f}, {m['F1']['high']:.2f}]"
    assert tiny["system"] == "tiny: frozen encoder, weighted-sum probe"
    assert by_run["`augment_eca/descending-2`"]["ACC − our method [95 %]"] == "(reference)"
    summary = json.loads((full / "metrics/summary.json").read_text())["field"]
    assert tiny["p, Holm"] == f"{summary['ssl_probe/tiny']['p_holm']:.3g}"
    assert tiny["holds"] == ("✓" if summary["ssl_probe/tiny"]["p_holm"] < 0.05 else "")
    vesper = rows[-1]  # beside the probes, labelled as published on other folds, not retrained, not tested
    assert vesper["system"] == "Vesper (2024), as published" and vesper["run"] == "— (not retrained)"
    assert "published" in vesper["protocol"] and "other folds" in vesper["protocol"]
    assert [vesper[k] for k in ("UA [95 %]", "WA [95 %]", "ACC [95 %]")] == ["73.90", "73.00", "73.45"]
    assert vesper["parameters"] == "63,515,872" and vesper["FLOPs per clip"].startswith("35.16 G")
    assert vesper["p"] == "" and vesper["macro-F1 [95 %]"] == "—"
    assert "No frozen encoder was probed" not in section
    assert summary["published/vesper"] == {"UA": 73.9, "WA": 73.0, "ACC": 73.45, "parameters": 63_515_872}


def test_the_per_layer_probe_figure_draws_ua_by_layer(full, results):
    fig = figures.probe_layers(None, results)
    line = fig.axes[0].lines[0]
    layers = pd.read_csv(full / "results/ssl_probe/tiny/layers.csv")
    assert line.get_label() == "tiny" and list(line.get_ydata()) == pytest.approx(layers["UA_mean"].tolist())
    assert list(line.get_xdata()) == [0, 1, 2]
    plt.close(fig)
    assert "![Frozen encoders: UA of the per-layer linear probe, by layer](../plots/ssl_probe_layers.png)" in \
        (full / "reports/report.md").read_text()


def test_without_probes_or_egemaps_the_field_section_has_ours_and_the_published_row(partial):
    text = (partial / "reports/report.md").read_text()
    section, rows = field_rows(text)
    assert [r["run"] for r in rows] == ["`augment_eca/descending-2`", "`cnn_sweep/v8-n1`", "`dslstm/published`",
                                        "— (not retrained)"]
    assert "_No frozen encoder was probed (`ssl.models` is empty)" in section
    assert "## Frozen encoders: UA of the per-layer linear probe, by layer\n\n_Skipped: no runs of `ssl_probe`" in text
    summary = json.loads((partial / "metrics/summary.json").read_text())["field"]
    assert set(summary) == {"augment_eca/final", "cnn/focal", "dslstm/published", "published/vesper"}
    p_values = [summary[key]["p"] for key in ("cnn/focal", "dslstm/published")]  # Holm over two: the smaller doubled
    assert min(summary[key]["p_holm"] for key in ("cnn/focal", "dslstm/published")) == pytest.approx(
        min(2 * min(p_values), 1))


def test_the_report_names_the_settings_of_the_params_it_was_run_with(full):
    """Every setting the report names comes from the params the run used: changed params, changed text."""
    from ecaser.report import markdown
    p = params("synthetic-emodb")
    p["eca"]["kernel"], p["cv"]["folds"], p["augment"]["final_size"] = 3, 4, 3
    p["model"]["channel_scale"], p["cv"]["repeats"], p["train"]["batch_size"] = 2, 2, 20
    p["train"]["lr"], p["data"]["segment_s"], p["cv"]["protocol"] = 0.0005, 4.5, "speaker"
    text = markdown.render(p, collect.load(p, full), [])
    choices = text.split("## Where the paper is silent: our choices")[1].split("\n## ")[0]
    assert "ECA kernel k = 3 (paper-scale configs: 7)" in choices
    assert "channel scale n = 2 (paper-scale configs: 4)" in choices
    assert "speaker 4-fold, repeated 2 times" in choices
    assert "K = 3 (paper-scale configs: 6) descending versions (v8, v7, v6)" in choices
    assert "learning rate `train.lr` 0.0005" in choices and "batch 20 (paper-scale configs: 36)" in choices
    assert "2 epochs (paper-scale configs: 100 epochs)" in choices and "4.5 s per clip" in choices
    for stale in ("n = 4 and k = 7, IEMOCAP's", "stratified 5-fold (the paper", "K = 6 descending"):
        assert stale not in choices
    opening = text.split("\n## ")[0]
    assert "4-fold cross-validation (speaker), repeated 2 times" in opening and "batch 20" in opening
    assert "ECA k = 3 after blocks 5, 6" in opening and "final model: K = 3" in opening


def test_each_family_says_what_its_folds_share(full):
    text = (full / "reports/report.md").read_text()
    shares = text.split("## What the folds share")[1].split("\n## ")[0]
    line = "random folds: 3/3 speakers of every test fold seen in training (texts unknown: the corpus does not name them)"
    families = ["cnn_sweep", "cnn", "eca_kernels", "eca_blocks", "eca_original", "eca", "attention", "augment_cnn",
                "augment_eca", "dslstm"]
    # the fake training gives every protocol the same folds; the line names the protocol each run was trained under
    assert [l for l in shares.splitlines() if l.startswith("- ")] == [
        *(f"- **`{f}`:** {line}." for f in families), f"- **`protocol`:** {line.replace('random', 'speaker')}.",
        f"- **`calibrated`:** {line}."]


def test_the_final_models_calibration_and_reliability_diagram(full, results):
    text = (full / "reports/report.md").read_text()
    section = text.split("## Calibration of the final model")[1].split("\n## ")[0]
    predictions = pd.read_csv(full / "results/augment_eca/descending-2/predictions.csv")
    probs = predictions[[f"p_{c}" for c in EMODB_LIKE]].to_numpy()
    right = probs.argmax(axis=1) == predictions["true"]
    # one-hot probabilities: every clip has confidence 1, so ECE is the error rate; Brier 2 per wrong clip
    assert f"ECE {1 - right.mean():.3f}" in section and f"Brier score {2 * (1 - right.mean()):.3f}" in section
    assert "](../plots/reliability.png)" in text.split("## Reliability of the final model")[1]
    top, counts = drawn(figures.reliability, results)
    x, y = top.lines[1].get_data()
    assert list(x) == pytest.approx([1.0]) and list(y) == pytest.approx([right.mean()])
    assert [patch.get_data().values.sum() for patch in counts.patches] == [len(predictions)] * 2
    c = calibration.of_predictions(predictions, EMODB_LIKE)
    assert f"log loss {c['log_loss']:.3f}" in section

    # temperature scaling: the train_calibrated run's softmax (0.7 on its predicted class) and the same through T 1.5, 2.5
    from sklearn.metrics import log_loss

    folder = full / "results/calibrated/final"
    scaled, plain = (pd.read_csv(folder / name) for name in ("predictions.csv", "predictions_softmax.csv"))
    columns = [f"p_{c}" for c in EMODB_LIKE]
    by_hand = plain[columns].to_numpy() ** (1 / np.where(plain["fold"] == 1, 1.5, 2.5))[:, None]
    np.testing.assert_allclose(scaled[columns], by_hand / by_hand.sum(axis=1, keepdims=True), atol=1e-6)
    run = results.run("calibrated/final")
    ua, acc, final_ua = run["UA"], run["ACC"], results.run("augment_eca/final")["UA"]
    before, after = (log_loss(t["true"], t[columns]) for t in (plain, scaled))
    assert "`calibration.validation_folds` = 5" in section and "4/5 of each training fold" in section
    assert f"| the same, temperature-scaled | 4/5 of each | 2.00 (1.50 to 2.50) | {ua:.2f} | {acc:.2f} |" in section
    assert f"log loss from {before:.3f} to {after:.3f}" in section
    assert f"moves UA by {ua - final_ua:+.2f} points" in section
    assert "uses models/eca_calibrated.pt (`calibration.temperature`: true)" in section
    scaled_ece, plain_ece = (calibration.of_predictions(t, EMODB_LIKE)["ECE"] for t in (scaled, plain))
    assert (f"- **`predict`'s probabilities:** temperature-scaled (T fitted on held-out parts of the training folds): "
            f"ECE {plain_ece:.3f} before, {scaled_ece:.3f} after") in text.split("\n## ")[0]
    assert top.lines[2].get_label() == "calibrated/final (temperature-scaled)"


def test_the_final_model_under_each_protocol_against_the_papers_on_the_same_clips(tmp_path):
    from statsmodels.stats.contingency_tables import mcnemar
    from sklearn.metrics import balanced_accuracy_score
    family, name, _, kw = augment("eca", "descending", 2, 0.9)
    p = write_tree(tmp_path, "synthetic-emodb", EMODB_LIKE,
                   [(family, name, 0.9, kw), ("protocol", "speaker", 0.5, {**kw, "protocol": "speaker"})])
    report.build(p, tmp_path)
    text = (tmp_path / "reports/report.md").read_text()
    config = json.loads((tmp_path / "results/protocol/speaker/config.json").read_text())
    assert config["protocol"] == "speaker" and config["training"]["protocol"] == "speaker"
    stratified = pd.read_csv(tmp_path / "results/augment_eca/descending-2/predictions.csv")
    speaker = pd.read_csv(tmp_path / "results/protocol/speaker/predictions.csv")
    ua = [100 * balanced_accuracy_score(d["true"], d["pred"]) for d in (stratified, speaker)]
    opening = text.split("\n## ")[0]
    assert "uses stratified folds (`cv.protocol`)" in opening
    assert f"speaker-independent folds keep {100 * ua[1] / ua[0]:.0f} % of the stratified UA" in opening
    section = text.split("## How much the protocol adds")[1].split("\n## ")[0]
    line = cells(section, "speaker")
    assert line[1] == "protocol/speaker" and cells(section, "stratified")[1] == "augment_eca/descending-2"
    assert line[2].startswith(f"{ua[1]:.2f} [")
    assert line[5].startswith(f"{ua[1] - ua[0]:+.2f} [")
    low, high = (float(x) for x in line[5].split("[")[1].rstrip("]").split(", "))
    assert low <= ua[1] - ua[0] <= high and high - low > 0
    right_a, right_b = stratified["pred"] == stratified["true"], speaker["pred"] == speaker["true"]
    table = [[np.sum(right_a & right_b), np.sum(right_a & ~right_b)], [np.sum(~right_a & right_b),
                                                                        np.sum(~right_a & ~right_b)]]
    assert line[-1] == f"{mcnemar(table, exact=True).pvalue:.3g}"
    # the audit line of the protocol family names its own protocol's folds
    assert "- **`protocol`:** speaker folds:" in text


def test_protocols_others_is_checked_in_one_line_naming_the_key():
    p = params("synthetic-emodb")
    with pytest.raises(experiments.InputError, match="'protocols.others' lists stratified, which is cv.protocol"):
        experiments.train_protocol({**p, "protocols": {"others": ["stratified"]}}, "stratified")
    with pytest.raises(experiments.InputError, match="'protocols.others' must be a list"):
        experiments.train_protocol({**p, "protocols": {"others": ["file"]}}, "file")
    run = experiments.train_protocol(p, "speaker")
    assert run == replace(experiments.augment_eca(p, "descending", p["augment"]["final_size"]), protocol="speaker")
    assert record.config(p, run).protocol == "speaker" and record.config(p, replace(run, protocol=None)).protocol == \
        p["cv"]["protocol"]


@pytest.mark.parametrize("bad", [1, 2.5, True, "5", None])
def test_calibration_validation_folds_is_checked_in_one_line_naming_the_key(bad):
    p = params("synthetic-emodb")
    with pytest.raises(experiments.InputError, match=r"^params: 'calibration.validation_folds' must be an integer >= 2"):
        experiments.train_calibrated({**p, "calibration": {"validation_folds": bad, "temperature": True}})
    run = experiments.train_calibrated(p)
    assert run == replace(experiments.final(p), validation=p["calibration"]["validation_folds"])
    assert record.config(p, run).validation_folds == 5 and record.config(p, experiments.final(p)).validation_folds is None
