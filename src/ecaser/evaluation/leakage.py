"""What a run's test folds share with their training sides: the leakage audit behind every score.

A score on clips whose speaker, or whose words, the model heard in training measures less than one on clips it
never heard: random folds (the paper's) put every speaker and every text on both sides. For each fold the audit
counts the test side's speakers and texts (the manifest's `text`: what is spoken, corpora/__init__.py) and those
of them found in the training side too, and the share of test clips whose speaker / text was seen in training; then
their mean, min and max over the folds (folds x repeats). The training stages write the summary into each run's
metrics file (`audit`, for `dvc metrics diff`) and the per-fold detail into the results folder's scores.json;
`sentence` words it in one line for the report. A corpus without texts (every text empty) has its text entries
left out and its sentence says so.
"""

import numpy as np

DIMENSIONS = {"speakers": "speaker", "texts": "text"}
LABELS = {"stratified": "random"}  # how `sentence` names a protocol's folds


def shared(values, train, test):
    """Of the test side's distinct values: how many, how many also on the training side, and the share (percent) of
    test clips whose value is on the training side."""
    seen = np.isin(values[test], values[train])
    return {"test": int(len(np.unique(values[test]))), "shared": int(len(np.unique(values[test][seen]))),
            "clips_seen_pct": float(100 * seen.mean())}


def columns(manifest):
    """{dimension: each clip's value} for the dimensions the manifest knows (texts only where every clip has one)."""
    found = {"speakers": manifest["speaker"].astype(str).to_numpy()}
    if "text" in manifest:
        text = manifest["text"].astype("string").fillna("")
        if text.ne("").all():
            found["texts"] = text.astype(str).to_numpy()
    return found


def audit(manifest, splits):
    """{"folds": [per fold: training and test clips (speaker_text trains on fewer than the rest of the corpus), and
    per dimension test / shared / clips_seen_pct], "summary": per dimension
    and measure its mean, min and max over the folds}; folds numbered from 1 as in predictions.csv."""
    values = columns(manifest)
    folds = [{"fold": fold, "train_clips": int(len(train)), "test_clips": int(len(test)),
              **{name: shared(v, np.asarray(train), np.asarray(test)) for name, v in values.items()}}
             for fold, (train, test) in enumerate(splits, start=1)]
    summary = {name: {measure: {"mean": float(np.mean(series)), "min": float(np.min(series)),
                                "max": float(np.max(series))}
                      for measure in ("test", "shared", "clips_seen_pct")
                      for series in [[f[name][measure] for f in folds]]}
               for name in values}
    return {"folds": folds, "summary": summary}


def count(folds, name, measure):
    """A per-fold count as one figure, or its range where the folds differ."""
    values = sorted({f[name][measure] for f in folds})
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def sentence(result, protocol):
    """One line, e.g. "random folds: 10/10 speakers and 10/10 texts of every test fold seen in training"; where the
    folds differ, ranges: "speaker folds: 0 of 3-4 speakers and 10/10 texts of ..."."""
    folds = result["folds"]
    parts = []
    for name in (n for n in DIMENSIONS if n in folds[0]):
        shared_, test = count(folds, name, "shared"), count(folds, name, "test")
        parts.append(f"{shared_}/{test} {name}" if "-" not in shared_ + test else f"{shared_} of {test} {name}")
    line = f"{LABELS.get(protocol, protocol)} folds: {' and '.join(parts)} of every test fold seen in training"
    if "texts" not in folds[0]:
        line += " (texts unknown: the corpus does not name them)"
    return line

