"""The paper's figures, redrawn with seaborn from this run's results; a figure without its runs is skipped.

Error bars are the folds' population std, the spread metrics.summarise reports, not seaborn's default
interval, so every figure agrees with the tables beside it.
"""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from .. import atomic, metrics
from .collect import ablation, attention, augmentation, natural, systems

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit to import

CURVES = {"cnn/focal": "CNN", "eca/proposed": "CNN + ECA (proposed)", "dslstm/published": "DS-LSTM"}


def dodge(scores, hue, width):
    """Side-by-side offset for several hue levels; seaborn 0.13 divides by zero when asked to dodge just one."""
    return width if scores[hue].nunique() > 1 else False


def fold_std(scores):
    """Mean ± the folds' population std, for seaborn's errorbar."""
    mean, std = np.mean(scores), np.std(scores)
    return mean - std, mean + std


def points(results, family, x, hue, title, xlabel, legend):
    """ACC per x, one line per hue, of one sweep family."""
    runs = results.family(family)
    if runs.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    scores = results.fold_scores(runs)
    sns.pointplot(scores, x=x, y="ACC", hue=hue, order=sorted(runs[x].unique(), key=natural),
                  errorbar=fold_std, dodge=dodge(scores, hue, 0.3), capsize=0.1, palette="viridis", ax=ax)
    ax.set(title=title, xlabel=xlabel, ylabel="ACC (%)")
    sns.move_legend(ax, "best", title=legend)
    return fig


def channel_scale(results):
    return points(results, "cnn_sweep", "version", "channel_scale", "Fig. 6: CNN without attention, by STFT "
                  "version and channel scale n", "STFT version (test)", "n")


def eca_kernel(results):
    runs = results.family("eca_kernels")
    blocks = ", ".join(map(str, runs.iloc[0]["config"]["attention_blocks"])) if len(runs) else ""
    return points(results, "eca_kernels", "version", "eca_kernel", f"Fig. 8: ECA after blocks {blocks}, "
                  "by kernel k and STFT version", "STFT version (test)", "k")


def eca_blocks(results):
    runs = results.family("eca_blocks")
    version = runs.iloc[0]["version"] if len(runs) else ""
    return points(results, "eca_blocks", "last", "eca_kernel", f"Fig. 9: ECA in the last K blocks, by kernel k "
                  f"({version})", "K: blocks with ECA, counted from the last", "k")


def original_eca(results):
    """Fig. 7: no attention, ECA-Net's placement and kernel, and ours, on the same version and scale."""
    ids = [i for i in ("cnn/focal", "eca_original/adaptive", "eca/proposed") if i in results.runs.index]
    if "eca_original/adaptive" not in ids:
        return None
    scores = results.fold_scores(results.runs.loc[ids]).melt(
        id_vars=["model", "fold"], value_vars=list(metrics.KEYS), var_name="score", value_name="percent")
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(scores, x="score", y="percent", hue="model", errorbar=fold_std, capsize=0.1, ax=ax)
    ax.set(title="Fig. 7: with and without the original ECA", xlabel="", ylabel="score (%)")
    sns.move_legend(ax, "upper center", bbox_to_anchor=(0.5, -0.08), title=None, frameon=False)
    return fig


def augment(results):
    """Fig. 10-11: ACC against the number K of STFT versions the training folds see, per order."""
    scores = augmentation(results)
    if scores is None:
        return None
    grid = sns.catplot(scores, kind="point", x="K", y="ACC", hue="model", col="order", errorbar=fold_std,
                       dodge=dodge(scores, "model", 0.2), capsize=0.1, height=4, aspect=1.1)
    grid.set_axis_labels("K: STFT versions in the training folds", "ACC (%)").set_titles("{col_name}")
    grid.figure.suptitle("Fig. 10-11: multi-STFT augmentation (ascending tests on the first version, "
                         "descending on the last)", y=1.04)
    return grid.figure


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


def confusion(results):
    """Fig. 12-13: each ablation model's confusion matrix."""
    rows = [(label, run) for _, label, run, _ in ablation(results)]
    return confusion_grid(results, rows, "Fig. 12-13: confusion matrices, % of each true class") if rows else None


def confusion_baselines(results):
    """The DS-LSTM's and each attention module's confusion matrix, beside the proposed ECA's."""
    others = [run for run in [*systems(results), *attention(results)] if run["family"] in ("dslstm", "attention")]
    if not others:
        return None
    proposed = [results.runs.loc["eca/proposed"]] if "eca/proposed" in results.runs.index else []
    return confusion_grid(results, [(run["model"], run) for run in proposed + others],
                          "Confusion matrices of the DS-LSTM and the attention modules, % of each true class")


def eca_weights(results):
    """Fig. 14-15: the proposed model's ECA weight of each channel, averaged per true emotion over the test folds."""
    weights = results.eca_weights("eca/proposed") if "eca/proposed" in results.runs.index else {}
    if not weights:
        return None
    blocks = sorted(weights, key=int)
    classes = results.runs.loc["eca/proposed", "classes"]
    fig, axes = plt.subplots(len(blocks), 1, figsize=(11, (1.2 + 0.35 * len(classes)) * len(blocks)), squeeze=False)
    for ax, block in zip(axes.flat, blocks):
        table = pd.DataFrame(weights[block])[classes].T  # emotion x channel
        sns.heatmap(table, cmap="viridis", xticklabels=max(1, table.shape[1] // 16), ax=ax,
                    cbar_kws={"label": "mean weight"})
        ax.set(title=f"block {block}", xlabel="channel", ylabel="")
    fig.suptitle("Fig. 14-15: ECA channel weights per emotion (eca/proposed, test folds)")
    fig.tight_layout()
    return fig


def training_curves(results):
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


FIGURES = {
    "fig6_channel_scale.png": channel_scale,
    "fig7_original_eca.png": original_eca,
    "fig8_eca_kernel.png": eca_kernel,
    "fig9_eca_blocks.png": eca_blocks,
    "fig10_11_augmentation.png": augment,
    "fig12_13_confusion.png": confusion,
    "confusion_baselines.png": confusion_baselines,
    "fig14_15_eca_weights.png": eca_weights,
    "training_curves.png": training_curves,
}


def draw(results, out):
    """Write every figure that has its runs into out/; remove a skipped one's stale file. Returns the names written."""
    written = []
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook"):
        for name, figure in FIGURES.items():
            fig = figure(results)
            if fig is None:
                (out / name).unlink(missing_ok=True)
                continue
            with atomic.atomic_path(out / name) as tmp:
                fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
            plt.close(fig)
            written.append(name)
    return written
