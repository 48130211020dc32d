"""params.yaml: loading it and refusing invalid values before any work starts."""

import hashlib
from pathlib import Path

import yaml

from .errors import InputError

PRECISIONS = ("float32", "bfloat16")  # bfloat16: autocast, on the CPU as on CUDA


def load(path="params.yaml"):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: params file not found")
    return yaml.safe_load(path.read_text())


def get(params, key):
    """params['a']['b'] for key 'a.b', with a clear error naming the key when it is missing."""
    node = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise InputError(f"params: missing key '{key}'")
        node = node[part]
    return node


def eca_kernel(text):
    """An ECA kernel as a command line writes it: an odd integer, or "adaptive" for ECA-Net's rule per block."""
    return text if text == "adaptive" else int(text)


def positive(params, key, kind=float):
    value = get(params, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or kind(value) != value:
        raise InputError(f"params: '{key}' must be a positive {kind.__name__}, got {value!r}")
    return kind(value)


def data(params):
    """The data section, checked: root for real corpora, positive lengths and rates. The corpus name is checked
    against the loaders by corpora.data, where they are at hand: this module imports none of them."""
    corpus = get(params, "data.corpus")
    root = get(params, "data.root")
    if not corpus.startswith("synthetic") and not root:
        raise InputError(f"params: 'data.root' must name the {corpus} folder when data.corpus is {corpus}")
    return {
        "corpus": corpus,
        "root": root,
        "sample_rate": positive(params, "data.sample_rate", int),
        "segment_s": positive(params, "data.segment_s"),
        "seed": int(get(params, "data.seed")),
        "synthetic_size": positive(params, "data.synthetic_size"),
        "iemocap_set": get(params, "data.iemocap_set"),
        **table(params, corpus),
    }


def table(params, corpus):
    """data.csv and data.classes: the csv corpus's table and class order, set for that corpus only."""
    csv, classes = get(params, "data.csv"), get(params, "data.classes")
    if corpus != "csv":
        for key, value in (("data.csv", csv), ("data.classes", classes)):
            if value is not None:
                raise InputError(f"params: '{key}' is for data.corpus csv only (the {corpus} corpus's files and "
                                 f"classes are its own), got {value!r}; set it to null")
    elif not csv:
        raise InputError("params: 'data.csv' must name the corpus's table (relative to data.root) when "
                         "data.corpus is csv")
    if classes is not None and (not isinstance(classes, list) or not classes or len(set(classes)) != len(classes)
                                or not all(isinstance(c, str) and c.strip() for c in classes)):
        raise InputError(f"params: 'data.classes' must be null (the labels sorted) or a list of distinct class "
                         f"names, got {classes!r}")
    return {"csv": csv, "classes": classes}


def stft_version(params, version):
    """Window, hop and FFT length in samples for one of the STFT versions (the paper's Table 1)."""
    spec = get(params, f"stft.versions.{version}")
    sr = positive(params, "data.sample_rate", int)
    window_ms = positive(params, f"stft.versions.{version}.window_ms")
    overlap_ms = get(params, f"stft.versions.{version}.overlap_ms")
    if not isinstance(overlap_ms, (int, float)) or overlap_ms < 0 or overlap_ms >= window_ms:
        raise InputError(
            f"params: 'stft.versions.{version}.overlap_ms' must be >= 0 and < window_ms ({window_ms:g}), "
            f"got {spec['overlap_ms']!r}"
        )
    win_length = round(window_ms * sr / 1000)
    hop_length = round((window_ms - overlap_ms) * sr / 1000)
    return {
        "win_length": win_length,
        "hop_length": hop_length,
        "n_fft": 1 << (win_length - 1).bit_length(),  # zero-padded to the next power of two
        "n_mels": positive(params, "stft.n_mels", int),
        "sample_rate": sr,
    }


def training(params):
    """The train and cv sections, checked, as keyword arguments of training.Config (all but its model)."""
    precision = get(params, "train.precision")
    if precision not in PRECISIONS:
        raise InputError(f"params: 'train.precision' must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return {
        "epochs": positive(params, "train.epochs", int),
        "batch_size": positive(params, "train.batch_size", int),
        "lr": positive(params, "train.lr"),
        "lr_decay": positive(params, "train.lr_decay"),
        "focal_gamma": non_negative(params, "train.focal_gamma"),
        "weighted": True,
        "precision": precision,
        **folds(params),
    }


def folds(params):
    """cv.* and train.seed, as keyword arguments: the folds every run of a corpus is scored on, the baselines' too
    (folds.split checks the protocol and the fold file)."""
    fold_file = get(params, "cv.fold_file")
    return {"folds": int(get(params, "cv.folds")), "repeats": positive(params, "cv.repeats", int),
            "protocol": get(params, "cv.protocol"), "seed": int(get(params, "train.seed")),
            "fold_file": fold_file, "fold_file_md5": file_md5(fold_file)}


def file_md5(path):
    """MD5 of cv.fold_file, None without one: training.Config holds it, so an edited fold file is another run (its
    config.json and checkpoint digest differ); DVC, which sees the param's path only, re-trains on an edited file
    through the corpus stage's data/corpus/fold_file.tsv (fingerprint.write_fold_file, docs/protocol.md)."""
    if path is None:
        return None
    if not isinstance(path, str) or not Path(path).is_file():
        raise InputError(f"{path}: fold file not found (cv.fold_file, relative to the repository)")
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def non_negative(params, key):
    value = get(params, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InputError(f"params: '{key}' must be a number >= 0, got {value!r}")
    return float(value)


TARGET_KEYS = ("corpus", "root", "size", "iemocap_set")


def cross_corpus_target(p, name):
    """cross_corpus.targets.<name>, checked: corpus, root (a real corpus's folder), size (the synthetic corpora's
    share of the real class counts, default 1), iemocap_set (default improvised)."""
    key = f"cross_corpus.targets.{name}"
    spec = get(p, key)
    if not isinstance(spec, dict) or "corpus" not in spec:
        raise InputError(f"params: '{key}' must be a mapping with a corpus (keys: {', '.join(TARGET_KEYS)})")
    unknown = sorted(set(spec) - set(TARGET_KEYS))
    if unknown:
        raise InputError(f"params: '{key}' has unknown keys {', '.join(unknown)} (known: {', '.join(TARGET_KEYS)})")
    corpus = spec["corpus"]  # checked against the loaders by corpora.target
    if not corpus.startswith("synthetic-") and not spec.get("root"):
        raise InputError(f"params: '{key}.root' must name the {corpus} folder")
    return {"corpus": corpus, "root": spec.get("root"),
            "size": positive(p, f"{key}.size") if "size" in spec else 1.0,
            "iemocap_set": spec.get("iemocap_set", "improvised")}
