"""Finding a corpus's files in copies whose folders differ: archive debris left out, one copy of each file.

Zips made on macOS carry `__MACOSX/` and `._*` entries: resource forks, not audio, whose names would parse as
corpus files. Corpora whose file names alone say everything (RAVDESS, TESS) are often shared with the whole
tree twice (Kaggle's RAVDESS and TESS copies hold every file at the top and again in a subfolder); counting both
would double every class, and keeping one silently would hide that the root is not what the user meant, so a
name found twice is an error that names both paths.
"""

from pathlib import Path

from ...infra.errors import InputError


def debris(path, root):
    """Whether a path is macOS archive debris or hidden rather than a corpus file."""
    parts = path.relative_to(root).parts
    return "__MACOSX" in parts or any(part.startswith(".") for part in parts)


def find(root, patterns):
    """Files under root matching any glob pattern, debris left out, sorted by their path under root."""
    found = {p for pattern in patterns for p in root.glob(pattern) if p.is_file() and not debris(p, root)}
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def one_copy(paths, root, corpus):
    """The paths unchanged; an error when two of them have the same file name (two copies of the corpus)."""
    seen = {}
    for path in paths:
        first = seen.setdefault(path.name, path)
        if first != path:
            raise InputError(f"{root}: {path.name} is there twice, as {first.relative_to(root)} and "
                             f"{path.relative_to(root)}: the folder holds two copies of {corpus}; set data.root "
                             f"to one of them{example(first, path)}")
    return paths


def example(a, b):
    """", e.g. <folder>": the folder where the deeper of two copies of a file starts; "" if they are as deep."""
    if len(a.parts) == len(b.parts):
        return ""
    deep, shallow = (a, b) if len(a.parts) > len(b.parts) else (b, a)
    common = next(i for i, (x, y) in enumerate(zip(deep.parts, shallow.parts)) if x != y)
    return f", e.g. {Path(*deep.parts[: common + 1])}"
