"""The proposed model as a predictor of new WAV files: the fold ensemble (models/ensemble.py) of a training stage's
saved model (`augment_train`, the paper's final method, or `train_eca`), over a recording's windows.

A recording no longer than the model's segment is one window, centre-padded as training pads a short clip. A
longer one is a timeline: windows of the segment's length every `hop` seconds from its start until one reaches
its end; that last window is centre-padded the same way (audio.centre), so the model never sees a layout that
training did not produce. A window is silence when no non-silent interval of `librosa.effects.split` overlaps
it: those intervals are the frames within `top_db` dB of the recording's loudest frame, and a recording of
zeros has none. The file's probabilities are the mean of its speech windows', and there are none for a file
that is silence throughout.
"""

import librosa
import numpy as np
import pandas as pd

from ..data import audio
from ..infra import atomic
from ..models.ensemble import BATCH, FoldEnsemble


def window_starts(n_samples, length, hop):
    """First sample of each window: every `hop` samples until a window reaches the end; one for a short clip."""
    return np.arange(0, max(n_samples - length, 0) + hop, hop)


def speech(y, starts, length, top_db):
    """Which windows a non-silent interval of librosa.effects.split overlaps (see the module docstring)."""
    # librosa measures against the loudest frame, which for all-zero audio is 0 dB itself: all "speech"
    intervals = librosa.effects.split(y, top_db=top_db) if y.any() else np.empty((0, 2), int)
    return ((intervals[:, 0] < starts[:, None] + length) & (intervals[:, 1] > starts[:, None])).any(axis=1)


class Predictor(FoldEnsemble):
    """The fold ensemble of a model file, scoring whole recordings as timelines of windows."""

    def __call__(self, path, hop_s=None, top_db=30, batch=BATCH):
        """One file's windows and summary: any rate, mono or stereo, any length; hop_s defaults to half a window."""
        x, sr = audio.read(path)
        y = audio.resample(audio.to_mono(x), sr, self.rate)
        starts = window_starts(len(y), self.length, round((hop_s or self.segment_s / 2) * self.rate))
        probs = np.concatenate([
            self.probabilities(np.stack([audio.centre(y[s : s + self.length], self.length) for s in chunk]))
            for chunk in np.split(starts, range(batch, len(starts), batch))
        ])
        silence = ~speech(y, starts, self.length, top_db)
        ends = np.minimum(starts + self.length, len(y))
        windows = [{"start": s / self.rate, "end": e / self.rate, "silence": bool(q), "probabilities": self.named(p)}
                   for s, e, q, p in zip(starts.tolist(), ends.tolist(), silence, probs)]
        summary = self.named(probs[~silence].mean(axis=0)) if not silence.all() else None
        return {"file": str(path), "silence": summary is None,
                "emotion": max(summary, key=summary.get) if summary else None, "probabilities": summary,
                "windows": windows}


def table(results, classes):
    """One row per window of the scored files: file, start, end, silence and each class's probability."""
    return pd.DataFrame([{"file": r["file"], "start": w["start"], "end": w["end"], "silence": w["silence"],
                          **w["probabilities"]} for r in results if "windows" in r for w in r["windows"]],
                        columns=["file", "start", "end", "silence", *classes])


def stretches(windows):
    """(from, to) seconds each window stands for in a plot: the time nearer its centre than any other window's,
    the first from 0 s and the last to the recording's end, so that every moment is drawn once, by one window."""
    centres = [(w["start"] + w["end"]) / 2 for w in windows]
    bounds = [0.0, *((a + b) / 2 for a, b in zip(centres, centres[1:])), max(w["end"] for w in windows)]
    return list(zip(bounds, bounds[1:]))


def figure(results, classes, model):
    """Each scored file's probabilities over time, one subplot each, from 0 s to the file's end.

    A window's probabilities are drawn as levels over its stretch of time (stretches), not as points at its centre:
    nothing is left blank before the first centre or after the last, and overlapping windows do not pile up.
    Silent windows are shaded and drawn without probabilities, since they count for nothing in the file's label;
    the title names the file, that label and the model.
    """
    import seaborn as sns
    from matplotlib.figure import Figure  # not pyplot: no backend or global figure state to manage
    from matplotlib.patches import Patch

    scored = [r for r in results if "windows" in r]
    colours = dict(zip(classes, sns.color_palette(n_colors=len(classes))))
    fig = Figure(figsize=(10, 1 + 2.4 * len(scored)), layout="constrained")
    axes = fig.subplots(len(scored), 1, squeeze=False)[:, 0]
    silence = any(w["silence"] for r in scored for w in r["windows"])
    for ax, result in zip(axes, scored):
        spans = list(zip(result["windows"], stretches(result["windows"])))
        for w, (t0, t1) in spans:
            if w["silence"]:
                ax.axvspan(t0, t1, color="0.88", zorder=0)
        x = [t for _, span in spans for t in span]
        for name in classes:  # a step line per class, broken (NaN) where a window is silent
            y = [np.nan if w["silence"] else w["probabilities"][name] for w, _ in spans for _ in (0, 1)]
            ax.plot(x, y, color=colours[name], linewidth=2, label=name)
        label = result["emotion"] or "silence throughout"
        ax.set(title=f"{result['file']}: {label} (model {model})", xlabel="time (s)", ylabel="probability",
               ylim=(0, 1), xlim=(0, x[-1]))
    handles, labels = axes[0].get_legend_handles_labels()
    if silence:
        handles, labels = handles + [Patch(color="0.88")], labels + ["silence"]
    axes[0].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def plot(results, classes, path, model):
    """figure() as a PNG, written atomically."""
    atomic.save_figure(path, figure(results, classes, model), dpi=120)
