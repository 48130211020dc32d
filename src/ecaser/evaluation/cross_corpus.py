"""The paper's final model scored on another corpus, over the classes the two corpora share.

Whether a model trained on one corpus recognises emotions in another is the next question after the paper's own.
The model is the fold ensemble `predict` runs (models/ensemble.py on models/eca_augmented.pt). The target corpus is
read through the corpora interface and segmented as the segment stage segments the training corpus, to the model's
own segment length and sample rate (one centred segment per clip, audio.segment), so the model sees the layout it
was trained on. Target clips of classes without a counterpart in the model's corpus are left out and counted
(emotions.shared). The model's probabilities are renormalised over the shared classes and its prediction is the
most probable of those: a class the target lacks (EMODB's boredom, on IEMOCAP) cannot be predicted, so the scores
measure how well the model separates the shared classes, and `unrestricted_outside` says how often its own first
choice fell outside them. UA, WA and ACC are pooled over the target's clips, each with a 95 % interval from a
bootstrap over the target's speakers (stats.speaker_bootstrap): the clips of one speaker are not independent.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..infra import atomic, progress
from ..data import audio, corpora, emotions
from . import metrics, stats
from ..infra.errors import InputError
from ..models.ensemble import BATCH, FoldEnsemble

CONFIDENCE = 0.95


def probabilities(predictor, target, rows, seed, batch=BATCH):
    """The ensemble's class probabilities of each row's clip, segmented as training segments its clips."""
    out, windows = [], []
    for row in progress.bar(rows.itertuples(), total=len(rows), desc="cross-corpus", unit="clip"):
        x, rate = corpora.load(target["corpus"], target["root"], row, seed)
        windows.append(audio.segment(x, rate, predictor.rate, predictor.length, row.source))
        if len(windows) == batch:
            out.append(predictor.probabilities(np.stack(windows)))
            windows = []
    if windows:
        out.append(predictor.probabilities(np.stack(windows)))
    return np.concatenate(out)


def score(model, target, seed, n_resamples, out, metrics_path):
    """Score the model file on the target; write <out>/predictions.csv, <out>/scores.json and the metrics file."""
    predictor = FoldEnsemble(model)
    corpus = target["corpus"]
    rows = corpora.manifest(corpus, target["root"], seed, target["size"], target["iemocap_set"])
    match = emotions.shared(predictor.classes, corpora.classes(corpus), predictor.corpus, corpus)
    if not match.classes:
        raise InputError(f"{model}: its classes ({', '.join(predictor.classes)}) and {corpus}'s "
                         f"({', '.join(corpora.classes(corpus))}) have none in common")
    left_out = rows.loc[~rows["label"].isin(match.target), "label"].value_counts()
    rows = rows[rows["label"].isin(match.target)].reset_index(drop=True)
    if rows.empty:
        raise InputError(f"{target['root'] or corpus}: no clips of the shared classes ({', '.join(match.target)})")
    probs = probabilities(predictor, target, rows, seed)
    _, true, pred, shared = emotions.restrict(probs, predictor.classes, rows["label"], match.source, match.target)
    n = len(match.classes)
    result = stats.speaker_bootstrap(true, pred, rows["speaker"], n, n_resamples, confidence=CONFIDENCE)
    first = np.array(predictor.classes)[probs.argmax(axis=1)]
    table = pd.DataFrame({"id": rows["id"], "speaker": rows["speaker"], "label": rows["label"],
                          "true": np.array(match.classes)[true], "pred": np.array(match.classes)[pred],
                          "unrestricted": first,
                          **{f"p_{c}": shared[:, i] for i, c in enumerate(match.classes)},
                          **{f"model_p_{c}": probs[:, i] for i, c in enumerate(predictor.classes)}})
    summary = {"clips": len(rows), "speakers": int(rows["speaker"].nunique())}
    details = {
        "target": target, "seed": seed,
        "model": {"path": str(model), "corpus": predictor.corpus, "version": predictor.version,
                  "classes": predictor.classes, "segment_s": predictor.segment_s, "sample_rate": predictor.rate},
        "classes": list(match.classes), "model_classes": list(match.source), "target_classes": list(match.target),
        "left_out": {"model": list(match.source_only),
                     "target": {label: int(left_out.get(label, 0)) for label in match.target_only}},
        **summary, "scores": result, "F1": metrics.scores(true, pred)["F1"],
        "recall": dict(zip(match.classes, map(float, metrics.recall(true, pred, n)))),
        "confusion": metrics.confusion(true, pred, n).tolist(),
        "unrestricted_outside": float(100 * np.mean(~np.isin(first, match.source))),
        "resamples": n_resamples, "confidence": CONFIDENCE,
    }
    out = Path(out)
    atomic.save_csv(out / "predictions.csv", table)
    atomic.save_json(out / "scores.json", details)
    atomic.save_json(metrics_path, {**result, **summary})
    return details
