"""The paper's figures, redrawn with seaborn from this run's results; a figure without its runs is skipped.

Error bars are the folds' population std, the spread metrics.summarise reports, not seaborn's default
interval, so every figure agrees with the tables beside it.
"""

from collections import namedtuple

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator
from sklearn.calibration import calibration_curve

from ..infra import atomic
from ..evaluation import calibration, metrics
from . import field
from .collect import attention, augmentation, natural, systems

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit to import

CURVES = {"cnn/focal": "CNN", "eca/proposed": "CNN + ECA (proposed)", "dslstm/published": "DS-LSTM"}
WITH_ECA = "CNN + original ECA (every block, adaptive k)"
WITHOUT_ECA = "CNN, no attention"


def dodge(scores, hue, width):
    """Side-by-side offset for several hue levels; seaborn 0.13 divides by zero when asked to dodge just one."""
    return width if scores[hue].nunique() > 1 else False


def fold_std(scores):
    """Mean ± the folds' population std, for seaborn's errorbar."""
    mean, std = np.mean(scores), np.std(scores)
    return mean - std, mean + std


def pointplot(scores, x, hue, title, xlabel, legend):
    """ACC per x (in natural order), one line per hue level, from per-fold scores."""
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.pointplot(scores, x=x, y="ACC", hue=hue, order=sorted(scores[x].unique(), key=natural),
                  errorbar=fold_std, dodge=dodge(scores, hue, 0.3), capsize=0.1, palette="viridis", ax=ax)
    ax.set(title=title, xlabel=xlabel, ylabel="ACC (%)")
    sns.move_legend(ax, "best", title=legend)
    return fig


def points(results, family, x, hue, title, xlabel, legend):
    """ACC per x, one line per hue, of one sweep family."""
    runs = results.family(family)
    return None if runs.empty else pointplot(results.fold_scores(runs), x, hue, title, xlabel, legend)


def channel_scale(p, results):
    return points(results, "cnn_sweep", "version", "channel_scale", "Fig. 6: CNN without attention, by STFT "
                  "version and channel scale n", "STFT version (test)", "n")


def original_eca(p, results):
    """Fig. 7: ECA-Net's ECA (every block, adaptive kernel) against no attention, version by version, at n.

    The line without ECA is the channel sweep's runs at the same n and versions, so the two lines differ only in
    the attention.
    """
    scale = p["model"]["channel_scale"]
    runs = results.family("eca_original")
    runs = runs[runs["channel_scale"] == scale]
    if runs.empty:
        return None
    sweep = results.family("cnn_sweep")
    sweep = sweep[(sweep["channel_scale"] == scale) & sweep["version"].isin(runs["version"])]
    scores = pd.concat([results.fold_scores(sweep).assign(line=WITHOUT_ECA),
                        results.fold_scores(runs).assign(line=WITH_ECA)])
    return pointplot(scores, "version", "line", f"Fig. 7: with and without the original ECA (n = {scale})",
                     "STFT version (trained and tested on)", None)


def eca_kernel(p, results):
    runs = results.family("eca_kernels")
    blocks = ", ".join(map(str, runs.iloc[0]["config"]["attention_blocks"])) if len(runs) else ""
    return points(results, "eca_kernels", "version", "eca_kernel", f"Fig. 8: ECA after blocks {blocks}, "
                  "by kernel k and STFT version", "STFT version (test)", "k")


def eca_blocks(p, results):
    runs = results.family("eca_blocks")
    version = runs.iloc[0]["version"] if len(runs) else ""
    return points(results, "eca_blocks", "last", "eca_kernel", f"Fig. 9: ECA in the last K blocks, by kernel k "
                  f"({version})", "K: blocks with ECA, counted from the last", "k")


def augment(results, order, title):
    """ACC of CNN and CNN + ECA against the number K of STFT versions the training folds see, in one order."""
    scores = augmentation(results)
    if scores is None or order not in set(scores["order"]):
        return None
    scores = scores[scores["order"] == order]
    return pointplot(scores, "K", "model", f"{title}, tested on {scores['version'].iloc[0]}",
                     "K: STFT versions in the training folds", "model")


def ascending(p, results):
    """Fig. 10: the training folds see the test version and the K - 1 versions above it."""
    return augment(results, "ascending", "Fig. 10: multi-STFT augmentation, ascending")


def descending(p, results):
    """Fig. 11: the training folds see the test version and the K - 1 versions below it."""
    return augment(results, "descending", "Fig. 11: multi-STFT augmentation, descending")


def confusion_grid(results, runs, title):
    """One heatmap per (label, run) of its pooled test predictions, row-normalised (recall per class, %)."""
    ncols = min(3, len(runs))
    nrows = -(-len(runs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.4 * nrows), squeeze=False)
    for ax, (label, run) in zip(axes.flat, runs):
        predictions, classes = results.predictions(run.name), run["classes"]
        counts = metrics.confusion(predictions["true"], predictions["pred"], len(classes))
        percent = pd.DataFrame(100 * counts / counts.sum(axis=1, keepdims=True), index=classes, columns=classes)
        sns.heatmap(percent, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar=False, square=True, ax=ax)
        ax.set(title=f"{label} ({run['source']})\nUA {run['UA']:.1f}, WA {run['WA']:.1f}", xlabel="predicted",
               ylabel="true")
    for ax in axes.flat[len(runs):]:
        ax.axis("off")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def pair(results, cnn, eca):
    """(label, run) of the CNN's and the CNN + ECA's run, of those two that were trained."""
    runs = [("CNN", results.run(cnn)), ("CNN + ECA", results.run(eca))]
    return [(label, run) for label, run in runs if run is not None]


def confusion_plain(p, results):
    """Fig. 12: CNN against CNN + ECA (the proposed blocks 5 and 6), both without augmentation."""
    runs = pair(results, "cnn/focal", "eca/proposed")
    return confusion_grid(results, runs, "Fig. 12: confusion matrices without augmentation, % of each true "
                          "class") if runs else None


def confusion_augmented(p, results):
    """Fig. 13: the same two models with descending STFT augmentation (Table 6's last two rows)."""
    runs = pair(results, "augment_cnn/final", "augment_eca/final")
    return confusion_grid(results, runs, "Fig. 13: confusion matrices with STFT augmentation (descending), % of "
                          "each true class") if runs else None


def confusion_baselines(p, results):
    """The DS-LSTM's and each attention module's confusion matrix, beside the proposed ECA's."""
    others = [run for run in [*systems(results), *attention(results)] if run["family"] in ("dslstm", "attention")]
    if not others:
        return None
    proposed = [results.runs.loc["eca/proposed"]] if "eca/proposed" in results.runs.index else []
    return confusion_grid(results, [(run["model"], run) for run in proposed + others],
                          "Confusion matrices of the DS-LSTM and the attention modules, % of each true class")


def eca_weights(results, block, number):
    """The augmented ECA model's (Table 6's "+ both") weight of each channel of one block, one line per true
    emotion, averaged over its test clips: the paper's figures are of the model trained with STFT augmentation."""
    run = results.run("augment_eca/final")
    weights = {} if run is None else results.eca_weights(run.name).get(str(block))
    if not weights:
        return None
    table = pd.DataFrame(weights)[run["classes"]].rename_axis("channel").reset_index()
    long = table.melt(id_vars="channel", var_name="emotion", value_name="mean weight")
    fig, ax = plt.subplots(figsize=(11, 4))
    sns.lineplot(long, x="channel", y="mean weight", hue="emotion", errorbar=None, ax=ax)
    ax.margins(x=0)
    ax.set(title=f"Fig. {number}: ECA channel weights of block {block} per emotion ({run['source']}, test folds)")
    return fig


def eca_block5(p, results):
    return eca_weights(results, 5, 14)


def eca_block6(p, results):
    return eca_weights(results, 6, 15)


def training_curves(p, results):
    """Mean over folds of the training loss and the test UA per epoch (the test fold chooses nothing)."""
    present = [i for i in CURVES if i in results.runs.index]
    if not present:
        return None
    curves = pd.concat([results.curves(i).assign(model=CURVES[i]) for i in present])
    fig, (loss, ua) = plt.subplots(1, 2, figsize=(10, 4))
    sns.lineplot(curves, x="epoch", y="train_loss", hue="model", errorbar=fold_std, marker="o", ax=loss)
    sns.lineplot(curves, x="epoch", y="UA", hue="model", errorbar=fold_std, marker="o", ax=ua)
    loss.set(title="training loss", ylabel="loss")
    ua.set(title="test UA", ylabel="UA (%)")
    for ax in (loss, ua):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("Training curves, mean ± std over folds")
    fig.tight_layout()
    return fig


def probe_layers(p, results):
    """Each probed encoder's per-layer linear probe: UA by layer with its 95 % interval over the folds (layers.csv);
    None where no probe ran."""
    encoders = field.layers(results.root)
    if not encoders:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for (name, layers), colour in zip(encoders.items(), sns.color_palette("viridis", len(encoders))):
        ax.plot(layers["layer"], layers["UA_mean"], marker="o", color=colour, label=name)
        ax.fill_between(layers["layer"], layers["UA_low"], layers["UA_high"], color=colour, alpha=0.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title="Per-layer linear probe of each frozen encoder (95 % interval over folds)",
           xlabel="layer (0: the embeddings' output)", ylabel="UA (%)")
    ax.legend(title="encoder", loc="best")
    return fig


def reliability(p, results):
    """The final model's reliability diagram: accuracy against mean top-class probability in 15 equal-width bins
    (scikit-learn's calibration_curve on correctness), the diagonal, and how many clips each bin holds; beside it,
    where the train_calibrated stage ran, the temperature-scaled final model's."""
    run = results.run("augment_eca/final")
    if run is None:
        return None
    fig, (top, counts) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, height_ratios=(3, 1))
    top.plot([0, 1], [0, 1], ls="--", color="grey", label="perfectly calibrated")
    drawn = [("augment_eca/final", f"{run['source']} (softmax)")]
    if results.run("calibrated/final") is not None:
        drawn.append(("calibrated/final", "calibrated/final (temperature-scaled)"))
    for run_id, label in drawn:
        predictions = results.predictions(run_id)
        probs = predictions[[f"p_{c}" for c in run["classes"]]].to_numpy()
        confidence, right = probs.max(axis=1), (probs.argmax(axis=1) == predictions["true"].to_numpy())
        accuracy, mean_confidence = calibration_curve(right, confidence, n_bins=calibration.BINS, strategy="uniform")
        line, = top.plot(mean_confidence, accuracy, marker="o", label=label)
        edges = np.linspace(0, 1, calibration.BINS + 1)
        counts.stairs(np.histogram(confidence, bins=edges)[0], edges, color=line.get_color())
    top.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title="Reliability of the final model (top class)")
    top.legend(loc="upper left")
    counts.set(xlabel="top-class probability", ylabel="clips")
    fig.tight_layout()
    return fig


Figure = namedtuple("Figure", ["file", "draw", "heading", "families", "tables"])
# Every figure, in the report's order: its file under plots/, the function that draws it (None where its runs are
# missing), the report's heading over it, the run families it needs, and whether their run tables follow it. The
# report reads this list and nothing else, so a new figure is a function and a line here.
FIGURES = [
    Figure("fig6_channel_scale.png", channel_scale, "Fig. 6: channel scale and STFT version (CNN, no attention)",
           ["cnn_sweep"], True),
    Figure("fig7_original_eca.png", original_eca, "Fig. 7: with and without the original ECA, by STFT version",
           ["eca_original", "cnn_sweep"], False),
    Figure("fig8_eca_kernel.png", eca_kernel, "Fig. 8: ECA kernel and STFT version", ["eca_kernels"], True),
    Figure("fig9_eca_blocks.png", eca_blocks, "Fig. 9: ECA position (last K blocks) and kernel", ["eca_blocks"], True),
    Figure("fig10_ascending.png", ascending, "Fig. 10: multi-STFT augmentation, ascending",
           ["augment_cnn", "augment_eca"], False),
    Figure("fig11_descending.png", descending, "Fig. 11: multi-STFT augmentation, descending",
           ["augment_cnn", "augment_eca"], True),
    Figure("fig12_confusion.png", confusion_plain,
           "Fig. 12: confusion matrices of CNN and CNN + ECA, without augmentation", ["cnn_sweep", "eca"], False),
    Figure("fig13_confusion.png", confusion_augmented,
           "Fig. 13: confusion matrices of CNN and CNN + ECA, with STFT augmentation (descending)",
           ["augment_cnn", "augment_eca"], False),
    Figure("confusion_baselines.png", confusion_baselines,
           "Confusion matrices of the DS-LSTM and the attention modules", ["dslstm", "attention"], False),
    Figure("fig14_eca_block5.png", eca_block5,
           "Fig. 14: ECA channel weights per emotion, block 5 (with STFT augmentation)", ["augment_eca"], False),
    Figure("fig15_eca_block6.png", eca_block6,
           "Fig. 15: ECA channel weights per emotion, block 6 (with STFT augmentation)", ["augment_eca"], False),
    Figure("reliability.png", reliability, "Reliability of the final model", ["augment_eca"], False),
    Figure("training_curves.png", training_curves, "Training curves (proposed model and CNN)", ["cnn", "eca"], False),
    Figure("ssl_probe_layers.png", probe_layers, "Frozen encoders: UA of the per-layer linear probe, by layer",
           ["ssl_probe"], False),
]


def draw(p, results, out):
    """Write every figure that has its runs into out/; remove a skipped one's stale file. Returns the names written.

    Each figure is figure(p, results): Fig. 7 takes its channel scale from params.
    """
    written = []
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook"):
        for figure in FIGURES:
            fig = figure.draw(p, results)
            if fig is None:
                (out / figure.file).unlink(missing_ok=True)
                continue
            atomic.save_figure(out / figure.file, fig, dpi=120, bbox_inches="tight")
            plt.close(fig)
            written.append(figure.file)
    return written
