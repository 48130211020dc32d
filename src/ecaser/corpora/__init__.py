"""The four corpora behind one interface: a manifest (one row per utterance) and each row's audio.

Manifest columns: id, speaker, gender (f/m), session, label, source, duration_s. `source` is the WAV path
relative to the corpus root for real corpora; synthetic rows are rendered from their id instead.
Rows are sorted by id so that every later array index is stable.
"""

from pathlib import Path

import pandas as pd

from .. import audio
from ..errors import InputError
from . import emodb, iemocap, synthetic

COLUMNS = ["id", "speaker", "gender", "session", "label", "source", "duration_s"]
REAL = {"emodb": emodb, "iemocap": iemocap}


def classes(corpus):
    """The corpus's class names in their fixed order (label_index follows it)."""
    return REAL[corpus.removeprefix("synthetic-")].CLASSES


def manifest(corpus, root=None, seed=0, size=1.0, iemocap_set="improvised"):
    if corpus.startswith("synthetic-"):
        rows = synthetic.manifest(corpus.removeprefix("synthetic-"), seed=seed, size=size)
    elif corpus in REAL:
        if not root:
            raise InputError(f"{corpus}: no corpus folder given (data.root in params.yaml, or --root)")
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"{root}: {corpus} corpus folder not found")
        rows = iemocap.manifest(root, iemocap_set) if corpus == "iemocap" else emodb.manifest(root)
    else:
        raise InputError(f"unknown corpus {corpus!r}")
    rows = rows[COLUMNS].sort_values("id", kind="stable").reset_index(drop=True)
    rows.insert(COLUMNS.index("label") + 1, "label_index", rows["label"].map(classes(corpus).index))
    return rows


def load(corpus, root, row, seed=0):
    """One utterance's raw samples and sample rate, before segmentation."""
    if corpus.startswith("synthetic-"):
        return synthetic.render(corpus.removeprefix("synthetic-"), seed, row), synthetic.SAMPLE_RATE
    return audio.read(Path(root) / row.source)


def count_table(rows, corpus):
    """Utterances per class in class order, with a total: what the manifest command prints."""
    counts = rows["label"].value_counts().reindex(classes(corpus), fill_value=0)
    table = pd.DataFrame({"label": counts.index, "utterances": counts.values})
    return pd.concat([table, pd.DataFrame({"label": ["total"], "utterances": [int(counts.sum())]})])
