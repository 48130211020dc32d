"""Cross-validation folds over a corpus manifest: the paper's random stratified folds, or speaker-independent ones."""

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from ..infra.errors import InputError

PROTOCOLS = ("stratified", "speaker")


def groups(manifest):
    """Who must never straddle train and test: the session when the corpus has them (IEMOCAP, where two
    speakers share one), otherwise the speaker (EMODB)."""
    sessions = manifest["session"].astype("string").fillna("")
    return sessions if sessions.ne("").all() else manifest["speaker"].astype(str)


def split(manifest, folds, protocol, seed):
    """[(train_idx, test_idx)] of positional row indices, one pair per fold, the same for the same seed.

    "stratified" is the paper's protocol (speakers appear on both sides); "speaker" holds out whole
    sessions or speakers while keeping class proportions as close as the groups allow.
    """
    y = manifest["label_index"].to_numpy()
    if folds < 2:
        raise InputError(f"params: 'cv.folds' must be >= 2, got {folds!r}")
    if protocol == "stratified":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if folds > smallest:
            raise InputError(f"params: 'cv.folds' ({folds}) exceeds the smallest class's count ({smallest})")
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y))
    if protocol == "speaker":
        g = groups(manifest)
        n = g.nunique()
        if folds > n:
            fewer = f"cv.folds to at most {n} ({n}: leave one out) or " if n > 1 else ""
            raise InputError(f"params: 'cv.folds' ({folds}) exceeds the {n} speaker group{'s' * (n > 1)} that "
                             f"cv.protocol speaker holds out whole: set {fewer}cv.protocol to stratified")
        return list(StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(y, y, g))
    raise InputError(f"params: 'cv.protocol' must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
