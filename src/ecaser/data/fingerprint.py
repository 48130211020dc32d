"""The corpus fingerprint, the pipeline's first output: one line per file the loader reads (path, size, digest).

DVC tracks params and files inside the repository, not a corpus folder named by data.root, so without this an
edited, added or removed WAV would leave `segment` up to date. The `corpus` stage re-lists the folder at every
`dvc repro` and rewrites this file; `segment` depends on it, so it re-runs exactly when a line changes.

data.fingerprint chooses the digest: `content` (MD5 of the bytes: the same corpus gives the same file on any
machine, so another machine's run-cache applies) or `stat` (size and modification time: no reading, but a copy
with new times counts as changed).

The fold file of cv.protocol file (cv.fold_file) is outside DVC's view the same way: a param names its path, not its
content, and a dep cannot be a param that may be null. The `corpus` stage therefore also writes FOLDS, the file's
path and MD5 (or that there is none), and every training stage depends on it, so an edited fold file re-trains.
"""

import hashlib
from pathlib import Path

from ..infra import atomic, params
from ..infra.errors import InputError
from . import corpora

METHODS = ("content", "stat")
OUT = Path("data/corpus/fingerprint.tsv")
FOLDS = Path("data/corpus/fold_file.tsv")


def digest(path, method):
    if method == "stat":
        return str(path.stat().st_mtime_ns)
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def lines(corpus, root, method, csv=None):
    """The fingerprint's lines; a synthetic corpus reads no file (its clips are rendered from code and params)."""
    if method not in METHODS:
        raise InputError(f"params: 'data.fingerprint' must be one of {', '.join(METHODS)}, got {method!r}")
    header = f"# {corpus}, {method}: path, bytes, {'md5' if method == 'content' else 'mtime_ns'}"
    if corpus.startswith("synthetic-"):
        return [header]
    root = Path(root)
    return [header, *(f"{name(p, root)}\t{p.stat().st_size}\t{digest(p, method)}"
                      for p in corpora.files(corpus, root, csv))]


def name(path, root):
    """The path under the root; a file outside it (a csv corpus's table given by an absolute path) as it is."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def write(corpus, root, method, out=OUT, csv=None):
    text = "\n".join(lines(corpus, root, method, csv)) + "\n"
    atomic.write_bytes(out, text.encode())
    return text.count("\n") - 1


def write_fold_file(path, out=FOLDS):
    """FOLDS: cv.fold_file's path and MD5, or a line saying there is none; its MD5 as params.file_md5 gives it."""
    md5 = params.file_md5(path)
    text = "# cv.fold_file: null\n" if path is None else f"# cv.fold_file: path, md5\n{path}\t{md5}\n"
    atomic.write_bytes(out, text.encode())
    return md5
