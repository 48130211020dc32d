"""Which class of one corpus is which of another's: one canonical name for every corpus's spelling of an emotion.

Corpora name the same emotion differently (EMODB's anger is IEMOCAP's angry, CREMA-D's ANG, SAVEE's a; TESS's ps
is a pleasant surprise), so a model trained on one corpus is scored on another over the classes whose canonical
names they share. Words and three-letter codes mean one emotion in every corpus; one- and two-letter codes do not
(EMODB's A is Angst, fear; SAVEE's a is anger), so those count only for the corpus that uses them. A name the table
does not know is its own canonical name: it matches only the same name elsewhere and is counted among the classes
left out, rather than silently joining another class. restrict scores a model's probabilities over the shared
classes only.
"""

import re
from dataclasses import dataclass

import numpy as np

from ..infra.errors import InputError

SPELLINGS = {
    "anger": ("anger", "angry", "ang", "wut", "ärger"),
    "happiness": ("happiness", "happy", "hap", "joy", "happy joy", "freude"),
    "sadness": ("sadness", "sad", "trauer"),
    "fear": ("fear", "fearful", "fea", "afraid", "angst"),
    "neutral": ("neutral", "neu"),
    "disgust": ("disgust", "disgusted", "dis", "ekel"),
    "surprise": ("surprise", "surprised", "sur", "ps", "pleasant surprise", "pleasant surprised"),
    "boredom": ("boredom", "bored", "langeweile"),
    "calm": ("calm",),
}
WORDS = {spelling: name for name, spellings in SPELLINGS.items() for spelling in spellings}
# codes that mean one thing in one corpus only: EMODB's letters (German initials), SAVEE's file-name codes
CODES = {
    "emodb": {"w": "anger", "l": "boredom", "e": "disgust", "a": "fear", "f": "happiness", "t": "sadness",
              "n": "neutral"},
    "savee": {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral", "sa": "sadness",
              "su": "surprise"},
}


def canonical(name, corpus=""):
    """The canonical name of a class, case, `_` and `-` aside; `corpus` (e.g. savee, synthetic-emodb) for its codes."""
    key = re.sub(r"[\s_/-]+", " ", str(name).strip().lower())
    return CODES.get(corpus.removeprefix("synthetic-"), {}).get(key) or WORDS.get(key, key)


@dataclass(frozen=True)
class Shared:
    """The classes two corpora share, in the first (the model's) corpus's order, and each one's classes left out."""

    classes: tuple  # canonical names
    source: tuple  # the first corpus's names of them, same order
    target: tuple  # the second corpus's names of them, same order
    source_only: tuple  # the first corpus's classes without a counterpart
    target_only: tuple


def names(classes, corpus):
    """{canonical name: the corpus's name}; two classes of one corpus that are one emotion cannot be scored apart."""
    out = {}
    for name in classes:
        key = canonical(name, corpus)
        if key in out:
            raise InputError(f"{corpus or 'corpus'}: classes {out[key]!r} and {name!r} are both {key}")
        out[key] = name
    return out


def shared(source, target, source_corpus="", target_corpus=""):
    """The classes of `source` that `target` also has (by canonical name), and what each leaves out."""
    a, b = names(source, source_corpus), names(target, target_corpus)
    common = [key for key in a if key in b]
    return Shared(tuple(common), tuple(a[k] for k in common), tuple(b[k] for k in common),
                  tuple(a[k] for k in a if k not in b), tuple(b[k] for k in b if k not in a))


def restrict(probabilities, model_classes, labels, columns, counterparts):
    """Clips scored over the classes two corpora share: those whose label is among `counterparts`, their true index
    in it, and the argmax of their probabilities over the model's classes `columns` (the counterparts' order),
    renormalised; also the mask of those clips and the renormalised probabilities. Renormalising keeps the model's
    ranking of the shared classes; it makes their probabilities a distribution over the only classes a clip can be."""
    labels = np.asarray(labels)
    kept = np.isin(labels, counterparts)
    probs = np.asarray(probabilities)[kept][:, [list(model_classes).index(c) for c in columns]]
    probs = probs / probs.sum(axis=1, keepdims=True)
    true = np.array([list(counterparts).index(label) for label in labels[kept]], dtype=int)
    return kept, true, probs.argmax(axis=1), probs
