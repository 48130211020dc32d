"""Every corpus behind one interface: a manifest (one row per utterance) and each row's audio.

Manifest columns: id, speaker, gender (f/m), session, text, label, source, duration_s. `text` names what is
spoken, as far as the corpus says (EMODB's text code, RAVDESS's statement, CREMA-D's sentence, SAVEE's stem,
TESS's word, IEMOCAP's dialog scenario; a csv table's optional text column): clips sharing it share their words,
which a text-independent split (folds.py) keeps apart and leakage.py counts; empty where a corpus has none. `source` is the WAV path
relative to the corpus root for real corpora; synthetic rows are rendered from their id instead.
Rows are sorted by id so that every later array index is stable. Files a loader reads but leaves out by
design (RAVDESS's song files, CREMA-D's clip without audio) are counted in the manifest's attrs["left_out"],
{what: count}, which `left_out` words for the manifest command and the segment stage.
"""

from pathlib import Path

import pandas as pd

from .. import audio
from ...infra import params
from ...infra.errors import InputError
from . import cremad, emodb, iemocap, ravdess, savee, synthetic, table, tess, tree

COLUMNS = ["id", "speaker", "gender", "session", "text", "label", "source", "duration_s"]
REAL = {"emodb": emodb, "iemocap": iemocap, "ravdess": ravdess, "cremad": cremad, "tess": tess, "savee": savee,
        "csv": table}
# every corpus data.corpus can name: the synthetic copies of EMODB and IEMOCAP, and each loader above
NAMES = (*(f"synthetic-{kind}" for kind in synthetic.CORPORA), *REAL)


def check(corpus, key="data.corpus"):
    """The corpus name from the param `key`, refused in one line that names the key unless a loader reads it."""
    if corpus not in NAMES:
        raise InputError(f"params: '{key}' must be one of {', '.join(NAMES)}, got {corpus!r}")
    return corpus


def data(p):
    """params.data(p), data.corpus checked first (its other checks depend on which corpus it is)."""
    check(params.get(p, "data.corpus"))
    return params.data(p)


def target(p, name):
    """params.cross_corpus_target(p, name), its corpus checked against the loaders first."""
    spec = params.get(p, f"cross_corpus.targets.{name}")
    if isinstance(spec, dict) and "corpus" in spec:
        check(spec["corpus"], f"cross_corpus.targets.{name}.corpus")
    return params.cross_corpus_target(p, name)


def classes(corpus, stated=None, labels=None):
    """The corpus's class names in their fixed order (label_index follows it); the csv corpus's are data.classes
    (`stated`), or else its `labels` sorted."""
    if corpus == "csv":
        return table.classes(stated, labels)
    return REAL[corpus.removeprefix("synthetic-")].CLASSES


def manifest(corpus, root=None, seed=0, size=1.0, iemocap_set="improvised", csv=None, stated=None):
    if corpus.startswith("synthetic-"):
        rows = synthetic.manifest(corpus.removeprefix("synthetic-"), seed=seed, size=size)
    elif corpus in REAL:
        root = folder(corpus, root)
        if corpus == "iemocap":
            rows = iemocap.manifest(root, iemocap_set)
        elif corpus == "csv":
            rows = table.manifest(root, csv, stated)
        else:
            rows = REAL[corpus].manifest(root)
    else:
        check(corpus)
    left_out = rows.attrs.get("left_out", {})
    rows = rows[COLUMNS].sort_values("id", kind="stable").reset_index(drop=True)
    order = classes(corpus, stated, rows["label"])
    rows.insert(COLUMNS.index("label") + 1, "label_index", rows["label"].map(order.index))
    rows.attrs["left_out"] = left_out
    return rows


def folder(corpus, root):
    if not root:
        raise InputError(f"{corpus}: no corpus folder given (data.root in params.yaml, or --root)")
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: {corpus} corpus folder not found")
    return root


def files(corpus, root, csv=None):
    """The files the corpus's loader reads, sorted by path, debris (`__MACOSX/`, `._*`) left out."""
    root = folder(corpus, root)
    return table.files(root, csv) if corpus == "csv" else tree.find(root, REAL[corpus].FILES)


def left_out(rows, corpus):
    """Lines saying which files the loader read and left out by design, and how many."""
    return [f"{corpus}: left out {n} {what}" for what, n in rows.attrs.get("left_out", {}).items()]


def load(corpus, root, row, seed=0):
    """One utterance's raw samples and sample rate, before segmentation."""
    if corpus.startswith("synthetic-"):
        return synthetic.render(corpus.removeprefix("synthetic-"), seed, row), synthetic.SAMPLE_RATE
    return audio.read(Path(root) / row.source)


def count_table(rows, corpus):
    """Utterances per class in class order, with a total: what the manifest command prints."""
    order = rows.drop_duplicates("label").sort_values("label_index")["label"] if corpus == "csv" else classes(corpus)
    counts = rows["label"].value_counts().reindex(order, fill_value=0)
    table = pd.DataFrame({"label": counts.index, "utterances": counts.values})
    return pd.concat([table, pd.DataFrame({"label": ["total"], "utterances": [int(counts.sum())]})])
