"""Cross-validation folds over a corpus manifest, one protocol per cv.protocol:

- stratified (the paper's): random folds keeping class proportions; speakers and texts appear on both sides.
- speaker: whole speakers (IEMOCAP: whole sessions, where two speakers share one) held out, class proportions
  kept as far as the groups allow.
- text: whole texts held out (the manifest's `text` column: what each clip says), the same way.
- speaker_text: neither a speaker nor a text of a test fold in its training side. Every corpus we load is crossed
  (each speaker says every text), so holding out speakers and then dropping the training clips that share a test
  text would leave no training clip. Instead speaker groups and text groups are drawn separately (a x b, cv.folds =
  a * b, a and b >= 2 and as close as the corpus allows) and each test fold is one block: the clips of speaker group
  i that say a text of group j. Its training side is the clips of every other speaker group saying a text of every
  other text group; the clips of group i saying other texts, or of other speakers saying group j's texts, sit the
  fold out. Every clip is still tested exactly once, but each fold trains on only about (1 - 1/a)(1 - 1/b) of the
  corpus (a quarter with 2 x 2): the price of a split that shares neither.
- file: each clip's fold read from the user's CSV cv.fold_file (columns id, fold); cv.folds must equal its number
  of folds, and every repeat (cv.repeats) uses the same folds (only the initialisation and shuffle seeds, which
  follow the fold number, differ).

A run that calibrates its probabilities (the `train_calibrated` stage) also carves a validation part out of each
training fold (validation()), split as its protocol splits, on which the fold's temperature is fitted and nothing else.

Splitters are scikit-learn's (StratifiedKFold, StratifiedGroupKFold, PredefinedSplit); a protocol the corpus
cannot give enough folds for is refused in one line that says what would work.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import PredefinedSplit, StratifiedGroupKFold, StratifiedKFold

from ..infra.errors import InputError

PROTOCOLS = ("stratified", "speaker", "text", "speaker_text", "file")


def groups(manifest):
    """Who must never straddle train and test: the session when the corpus has them (IEMOCAP, where two
    speakers share one), otherwise the speaker (EMODB)."""
    sessions = manifest["session"].astype("string").fillna("")
    return sessions if sessions.ne("").all() else manifest["speaker"].astype(str)


def texts(manifest):
    """Each clip's text; InputError (one line) where the manifest has none for some clips."""
    text = manifest["text"].astype("string").fillna("") if "text" in manifest else pd.Series("", manifest.index)
    empty = text.eq("")
    if empty.any():
        named = ", ".join(manifest["id"].astype(str)[empty].head(3))
        raise InputError(f"params: 'cv.protocol' text and speaker_text need each clip's text, and {int(empty.sum())} of "
                         f"{len(text)} clips have none (e.g. {named}): the corpus's names or table do not say what "
                         "is spoken (a csv table: add a text column); set cv.protocol to speaker or stratified")
    return text.astype(str)


def split(manifest, folds, protocol, seed, fold_file=None):
    """[(train_idx, test_idx)] of positional row indices, one pair per fold, the same for the same seed (the file
    protocol ignores the seed: its folds are the file's)."""
    y = manifest["label_index"].to_numpy()
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise InputError(f"params: 'cv.folds' must be an integer >= 2, got {folds!r}")
    if (protocol == "file") != (fold_file is not None) and protocol in PROTOCOLS:
        raise InputError(f"params: 'cv.fold_file' names the CSV of each clip's fold (columns id, fold) for cv.protocol "
                         f"file and must be null otherwise; got cv.protocol {protocol} and cv.fold_file {fold_file!r}")
    if protocol == "stratified":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if folds > smallest:
            raise InputError(f"params: 'cv.folds' ({folds}) exceeds the smallest class's count ({smallest})")
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y))
    if protocol in ("speaker", "text"):
        g = groups(manifest) if protocol == "speaker" else texts(manifest)
        n = g.nunique()
        if folds > n:
            what = "speaker group" if protocol == "speaker" else "text"
            other = "text or stratified" if protocol == "speaker" else "speaker or stratified"
            fewer = f"cv.folds to at most {n} ({n}: leave one out) or " if n > 1 else ""
            raise InputError(f"params: 'cv.folds' ({folds}) exceeds the {n} {what}{'s' * (n > 1)} that "
                             f"cv.protocol {protocol} holds out whole: set {fewer}cv.protocol to {other}")
        return list(StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(y, y, g))
    if protocol == "speaker_text":
        return speaker_text(manifest, y, folds, seed)
    if protocol == "file":
        return from_file(manifest, folds, fold_file)
    raise InputError(f"params: 'cv.protocol' must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")


INNER = {"file": "stratified", "speaker_text": "speaker"}  # a fold file names outer folds only; speaker x text
# blocks inside a training fold would leave a quarter of it to fit on


def validation(manifest, train_rows, n, protocol, seed):
    """(fit_rows, held_rows) of one training fold: its first of n folds held out, split as `protocol` splits the
    corpus (INNER where that cannot nest), so that the held-out clips stand to the fitted ones as the test fold stands
    to the training fold: with cv.protocol speaker, no held-out speaker is fitted on. Inside a training fold speakers,
    not sessions, are held out: IEMOCAP's training folds hold 4 sessions, too few for 5 parts, but 8 speakers."""
    protocol = INNER.get(protocol, protocol)
    part = manifest.iloc[train_rows].reset_index(drop=True).assign(session="")
    if protocol in ("speaker", "text"):
        column, what = ("speaker", "speakers") if protocol == "speaker" else ("text", "texts")
        have = texts(part).nunique() if protocol == "text" else part[column].nunique()
        if n > have:
            raise InputError(f"params: 'calibration.validation_folds' ({n}) exceeds the {have} {what} of a training "
                             f"fold, which the held-out part takes whole under cv.protocol {protocol}: set it to at "
                             f"most {have}")
    try:
        fit, held = split(part, n, protocol, seed)[0]
    except InputError as e:
        raise InputError(f"params: 'calibration.validation_folds' ({n}) does not fit a training fold of {len(part)} "
                         f"clips ({e})") from None
    return train_rows[fit], train_rows[held]


def grids(folds, n_speakers, n_texts):
    """(a, b) with a * b == folds, 2 <= a <= n_speakers, 2 <= b <= n_texts, the most even first."""
    pairs = [(a, folds // a) for a in range(2, folds // 2 + 1) if folds % a == 0]
    fit = [(a, b) for a, b in pairs if a <= n_speakers and b <= n_texts]
    return sorted(fit, key=lambda ab: (abs(ab[0] - ab[1]), -ab[0]))


def speaker_text(manifest, y, folds, seed):
    """The speaker x text blocks of the module's docstring: StratifiedGroupKFold draws a speaker groups and b text
    groups; fold i * b + j tests block (i, j) and trains on the blocks of neither i nor j."""
    speakers, text = groups(manifest), texts(manifest)
    n_speakers, n_texts = speakers.nunique(), text.nunique()
    fit = grids(folds, n_speakers, n_texts)
    if not fit:
        works = sorted({a * b for a in range(2, n_speakers + 1) for b in range(2, n_texts + 1) if a * b <= 25})
        hint = (f"set cv.folds to one of {', '.join(map(str, works[:6]))}" if works else
                "the corpus has too few speaker groups or texts for any; set cv.protocol to speaker or text")
        raise InputError(f"params: 'cv.folds' ({folds}) is not a product a x b of speaker groups (2..{n_speakers}) "
                         f"and text groups (2..{n_texts}) that cv.protocol speaker_text crosses: {hint}")
    a, b = fit[0]
    by_speaker = block(StratifiedGroupKFold(a, shuffle=True, random_state=seed).split(y, y, speakers), len(y))
    by_text = block(StratifiedGroupKFold(b, shuffle=True, random_state=seed).split(y, y, text), len(y))
    splits = []
    for fold, (_, test) in enumerate(PredefinedSplit(by_speaker * b + by_text).split(), start=1):
        i, j = by_speaker[test[0]], by_text[test[0]]
        train = np.flatnonzero((by_speaker != i) & (by_text != j))
        if not len(train):
            raise InputError(f"params: cv.protocol speaker_text leaves fold {fold} no training clip (speaker group "
                             f"{i + 1} of {a} x text group {j + 1} of {b}): set cv.protocol to speaker or text")
        splits.append((train, test))
    if len(splits) != folds:
        raise InputError(f"params: cv.protocol speaker_text: {folds - len(splits)} of the {a} x {b} speaker x text "
                         "blocks hold no clip (some speakers never say some texts): set cv.protocol to speaker or text")
    return splits


def block(split, n):
    """Each row's test-fold number, from a splitter's (train, test) pairs."""
    fold = np.empty(n, dtype=int)
    for k, (_, test) in enumerate(split):
        fold[test] = k
    return fold


def read_fold_file(path):
    """{id: fold} from a CSV with columns id and fold; one line per problem, naming the file and line."""
    if not path:
        raise InputError("params: 'cv.fold_file' must name a CSV (columns id, fold) when cv.protocol is file")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: fold file not found (cv.fold_file)")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a readable CSV ({str(e).strip()})") from None
    table.columns = table.columns.str.strip()
    if not {"id", "fold"} <= set(table.columns):
        raise InputError(f"{path}: expected the columns id and fold, got {', '.join(table.columns) or 'none'}")
    first, assigned = {}, {}
    for line, (clip, fold) in enumerate(zip(table["id"].str.strip(), table["fold"].str.strip()), start=2):
        if not clip:
            raise InputError(f"{path}, line {line}: empty id")
        if clip in first:
            raise InputError(f"{path}, line {line}: id {clip} is listed twice (also on line {first[clip]})")
        first[clip] = line
        try:
            assigned[clip] = int(fold)
        except ValueError:
            raise InputError(f"{path}, line {line}: fold must be an integer, got {fold!r}") from None
    return assigned


def from_file(manifest, folds, path):
    """PredefinedSplit of the fold file's folds, checked against the manifest and cv.folds."""
    assigned = read_fold_file(path)
    ids = manifest["id"].astype(str)
    missing = [i for i in ids if i not in assigned]
    if missing:
        raise InputError(f"{path}: {len(missing)} of the manifest's {len(ids)} clips have no fold (e.g. "
                         f"{', '.join(missing[:3])}): list every clip of data/segments/manifest.csv")
    unknown = sorted(set(assigned) - set(ids))
    if unknown:
        raise InputError(f"{path}: {len(unknown)} ids are not in the manifest (e.g. {', '.join(unknown[:3])}): "
                         "ids are data/segments/manifest.csv's id column")
    fold = ids.map(assigned).to_numpy()
    numbers = np.unique(fold)
    if len(numbers) < 2:
        raise InputError(f"{path}: every clip is in fold {numbers[0]}: cross-validation needs >= 2 folds")
    if len(numbers) != folds:
        raise InputError(f"params: 'cv.folds' ({folds}) must equal the {len(numbers)} folds of {path} "
                         f"({', '.join(map(str, numbers))})")
    return list(PredefinedSplit(fold).split())
