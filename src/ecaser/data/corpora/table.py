"""Any corpus, from a CSV table (`data.corpus: csv`): one row per file, as nkululeko and EmoBox users keep them.

Columns: `file` (relative to data.root), `emotion`, `speaker`, and optionally `gender` (f/m, female/male, or
empty), `session` and `text` (what is spoken, any name shared by the clips that say the same words; empty when
absent: then cv.protocol text and speaker_text have nothing to hold out). Label indices must not move when a row
is added, so the class order is stated in data.classes, or else it is the labels sorted. A table is user-made, so everything that would silently change
what is trained on is an error naming its line: a missing file, an empty label or speaker, a file listed twice,
a label outside data.classes, a stated class with no rows.
"""

from pathlib import Path

import pandas as pd

from ...infra.errors import InputError
from .wavinfo import duration

REQUIRED = ("file", "emotion", "speaker")
GENDERS = {"f": "f", "female": "f", "m": "m", "male": "m", "": ""}


def path(root, csv):
    """The table's path: data.csv, relative to data.root unless absolute."""
    if not csv:
        raise InputError("params: 'data.csv' must name the corpus's table when data.corpus is csv")
    return Path(root) / csv


def read(root, csv):
    table_path = path(root, csv)
    if not table_path.is_file():
        raise InputError(f"{table_path}: corpus table not found (data.csv, relative to data.root)")
    try:
        table = pd.read_csv(table_path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"{table_path}: not a readable CSV ({str(e).strip()})") from None
    table.columns = table.columns.str.strip()
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise InputError(f"{table_path}: no column {', '.join(missing)} (needs file, emotion, speaker; "
                         "optional gender, session, text)")
    if table.empty:
        raise InputError(f"{table_path}: no rows")
    return table_path, table.apply(lambda column: column.str.strip())


def classes(stated, labels=None):
    """The class order: data.classes as stated, else the labels sorted; `labels` only where nothing is stated."""
    if stated:
        return list(stated)
    if labels is None:
        raise InputError("params: 'data.classes' is null, so the csv corpus's classes are its labels, sorted; "
                         "they are known once its manifest is (`dvc repro segment`), or state them in data.classes")
    return sorted(set(labels))


def files(root, csv):
    """The table and every file it names that is there (manifest names those that are not): what the fingerprint
    covers."""
    table_path, table = read(root, csv)
    return [table_path, *sorted({p for f in table["file"] if f and (p := Path(root) / f).is_file()})]


def manifest(root, csv, stated=None):
    table_path, table = read(root, csv)
    order = classes(stated, table["emotion"][table["emotion"] != ""])
    first = {}
    rows = []
    for line, entry in enumerate(table.to_dict("records"), start=2):
        where = f"{table_path}, line {line}"
        for column in REQUIRED:
            if not entry[column]:
                raise InputError(f"{where}: empty {column}")
        source = Path(entry["file"]).as_posix()
        if source in first:
            raise InputError(f"{where}: {source} is listed twice (also on line {first[source]})")
        first[source] = line
        if entry["emotion"] not in order:
            raise InputError(f"{where}: emotion {entry['emotion']!r} is not one of data.classes ({', '.join(order)})")
        gender = entry.get("gender", "")
        if gender.lower() not in GENDERS:
            raise InputError(f"{where}: gender must be f, m, female, male or empty, got {gender!r}")
        wav = Path(root) / source
        if not wav.is_file():
            raise InputError(f"{where}: {wav} not found")
        rows.append({"id": source, "speaker": entry["speaker"], "gender": GENDERS[gender.lower()],
                     "session": entry.get("session", ""), "text": entry.get("text", ""), "label": entry["emotion"], "source": source,
                     "duration_s": duration(wav)})
    unused = [c for c in order if c not in {r["label"] for r in rows}]
    if unused:
        raise InputError(f"{table_path}: no rows of {', '.join(unused)}, which data.classes names")
    return pd.DataFrame(rows)
