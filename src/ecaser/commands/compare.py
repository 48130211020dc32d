"""`python -m ecaser compare RUN_A RUN_B`: whether one run beats another, and by how much, with stats.py's tests.

A run is its results folder (results/eca/proposed) or its stage's name in dvc.yaml (train_eca,
train_cnn_sweep@v8-1) in the workspace; or either of them in a DVC experiment or any Git revision, as REV:RUN
(emodb-k7:train_eca, HEAD~1:results/eca/proposed). Those are read from DVC's cache through its API, as that
experiment or commit left them, so two experiments compare without checking either out. Both runs must have
been scored on the same corpus, clips and folds: paired tests need it.
"""

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..data import dataset
from ..evaluation import metrics, stats
from ..infra.errors import InputError

MANIFEST = "data/segments/manifest.csv"


@dataclass
class Run:
    """What a comparison needs of one run, wherever it was read from."""

    name: str  # as given: a folder, a stage, REV:folder or REV:stage
    folder: str  # its results folder
    predictions: pd.DataFrame
    classes: list
    manifest: pd.DataFrame  # the clips of the pipeline it belongs to, with their speakers
    corpus: str | None  # data.corpus of the params.yaml it was made under; None without one
    audit: dict | None = None  # scores.json's leakage audit (each fold's training clips among it); None if absent


def load(run, root="."):
    """The Run named by `run`: in the workspace, or in the DVC experiment or Git revision before its ':'."""
    rev, colon, name = run.partition(":")
    if colon and not (Path(root) / run).exists():
        return at_revision(run, rev, name, root)
    root = Path(root)
    if (root / run / "predictions.csv").is_file():
        folder = run
    else:
        from dvc.repo import Repo  # only a stage name needs DVC's resolution of dvc.yaml

        try:
            repo = Repo(str(root))
            folder = stage_folder(repo.index.stages, run)
        except Exception as e:  # not a DVC repository, or a dvc.yaml DVC cannot read
            raise InputError(f"{run}: not a results folder, and {root} has no readable dvc.yaml ({e})") from None
        if folder is None:
            hint = f"; name one of its runs, e.g. {run}:train_eca" if revision(repo, run) else ""
            raise InputError(f"{run}: neither a results folder with predictions.csv nor a stage of dvc.yaml{hint}")
        if not (root / folder / "predictions.csv").is_file():
            raise InputError(f"{run}: no predictions.csv in its results folder; run `dvc repro {run}` first")

    def text(path):
        if not (root / path).is_file():
            raise InputError(f"{root / path}: not found (run `dvc repro` first)")
        return (root / path).read_text()

    return read(run, folder, text, (root / "params.yaml").is_file())


def at_revision(run, rev, name, root):
    """A run as the experiment or commit `rev` left it, its files read from DVC's cache."""
    from dvc.repo import Repo

    try:
        commit = revision(Repo(str(root)), rev)
    except Exception as e:  # not a DVC repository
        raise InputError(f"{run}: {root} is not a DVC repository ({e})") from None
    if commit is None:
        raise InputError(f"{run}: {rev} is neither a DVC experiment (`dvc exp list`) nor a Git revision")
    repo = Repo(str(root), rev=commit)
    fs = repo.dvcfs
    folder = name if fs.isfile(f"{name}/predictions.csv") else stage_folder(repo.index.stages, name)
    if folder is None:
        raise InputError(f"{run}: neither a results folder with predictions.csv nor a stage of dvc.yaml at {rev}")

    def text(path):
        try:
            return fs.read_text(path)
        except Exception:  # not committed by that revision, or its object not in this machine's cache
            raise InputError(f"{run}: {rev} has no {path} in DVC's cache (did its experiment run that stage? "
                             "`dvc exp pull` or `dvc pull` brings what another machine ran)") from None

    return read(run, folder, text, fs.isfile("params.yaml"))


def revision(repo, rev):
    """The commit of a DVC experiment's name or a Git revision; None if it is neither."""
    from dvc.scm import resolve_rev  # DVC's: it knows experiment names as well as Git's revisions

    try:
        return resolve_rev(repo.scm, rev)
    except Exception:  # no such revision, or no Git to resolve it in
        return None


def stage_folder(stages, name):
    """The results folder a stage writes (None if no stage has that name)."""
    stage = next((s for s in stages if s.name == name), None)
    outs = [str(out.def_path) for out in stage.outs if str(out.def_path).startswith("results/")] if stage else []
    return outs[0] if outs else None


def read(run, folder, text, has_params):
    """A Run from its files, whatever `text` (path -> contents) reads them from."""
    corpus = yaml.safe_load(text("params.yaml"))["data"]["corpus"] if has_params else None
    try:
        audit = json.loads(text(f"{folder}/scores.json")).get("audit")
    except InputError:  # a run from before scores.json: its folds trained on the rest of the corpus
        audit = None
    return Run(run, str(folder), pd.read_csv(io.StringIO(text(f"{folder}/predictions.csv"))),
               list(json.loads(text(f"{folder}/config.json"))["model"]["classes"]),
               dataset.load_manifest(io.StringIO(text(MANIFEST))), corpus, audit)


def fold_scores(predictions):
    """{UA, WA, ACC: per-fold scores in fold order}."""
    folds = [metrics.scores(f["true"], f["pred"]) for _, f in predictions.groupby("fold", sort=True)]
    return {key: np.array([f[key] for f in folds]) for key in metrics.KEYS}


def first_repeat(predictions):
    """Rows of the split's first repeat: clip-level tests count each clip once (each repeat scores every clip)."""
    return (predictions["repeat"] == 1).to_numpy()


def sizes(predictions, *audits):
    """(training clips, test clips) of a fold, on average, for the corrected t-test. The training clips are the
    runs' leakage audits' where they record them (speaker_text trains each fold on about a quarter of the corpus,
    not on the rest of it), the fewer of two runs' (the larger, safer correction); without an audit, the rest of
    the repeat's clips, which every other protocol trains on."""
    n_test = len(predictions) / predictions["fold"].nunique()
    recorded = [float(np.mean([f["train_clips"] for f in audit["folds"]])) for audit in audits if audit]
    return (min(recorded) if recorded else len(predictions) / predictions["repeat"].nunique() - n_test), n_test


def compare(a, b):
    """The paired comparison of Run a against Run b, as plain numbers (the --json output)."""
    if a.corpus and b.corpus and a.corpus != b.corpus:
        raise InputError(f"{a.name} was scored on {a.corpus}, {b.name} on {b.corpus}: a paired comparison needs "
                         "the same clips")
    if a.classes != b.classes:
        raise InputError(f"{a.name} and {b.name}: different classes ({a.classes} and {b.classes})")
    pred_a, pred_b = stats.paired(a.predictions, b.predictions)
    manifest = a.manifest.set_index("id")
    missing = set(pred_a["id"]) - set(manifest.index)
    if missing:
        raise InputError(f"{a.name}: {len(missing)} of its clips are not in its pipeline's {MANIFEST}")
    folds_a, folds_b = fold_scores(pred_a), fold_scores(pred_b)
    n_train, n_test = sizes(pred_a, a.audit, b.audit)
    tests = {key: stats.corrected_ttest(folds_a[key], folds_b[key], n_train, n_test)
             for key in metrics.KEYS}
    first = first_repeat(pred_a)
    one_a, one_b = pred_a[first], pred_b[first]
    true = one_a["true"].to_numpy()
    mcnemar = stats.mcnemar(true, one_a["pred"], one_b["pred"])
    bootstrap = stats.cluster_bootstrap(true, one_a["pred"], one_b["pred"], manifest.loc[one_a["id"], "speaker"])
    return {
        "a": a.name, "b": b.name, "folders": {"a": a.folder, "b": b.folder}, "clips": int(first.sum()), "folds": int(pred_a["fold"].nunique()),
        "scores": {key: {"a": metrics.interval(folds_a[key]), "b": metrics.interval(folds_b[key]),
                         "difference": tests[key]} for key in metrics.KEYS},
        "mcnemar": {"only_a_right": int(mcnemar["table"][0, 1]), "only_b_right": int(mcnemar["table"][1, 0]),
                    "p": mcnemar["p"]},
        "speaker_bootstrap_UA": bootstrap,
        "recall": {name: {"a": float(ra), "b": float(rb)} for name, ra, rb in
               zip(a.classes, *(metrics.recall(p["true"], p["pred"], len(a.classes)) for p in (pred_a, pred_b)))},
    }


def text(result):
    """The comparison for people: one line per score, the clip-level tests, and each class's recall."""
    def named(side):
        run, folder = result[side], result["folders"][side]
        return run if run == folder else f"{run} ({folder})"

    lines = [f"A: {named('a')}", f"B: {named('b')}",
             f"{result['clips']} clips, {result['folds']} folds (all repeats), paired; intervals are 95 %", "",
             f"{'':5}{'A':>8}{'B':>8}{'A - B':>9}  {'interval':<18}p (corrected resampled t)"]
    for key, s in result["scores"].items():
        d = s["difference"]
        span = f"[{d['low']:+.2f}, {d['high']:+.2f}]"
        lines.append(f"{key:<5}{s['a']['mean']:8.2f}{s['b']['mean']:8.2f}{d['diff']:+9.2f}  {span:<18}{d['p']:.3g}")
    m, b = result["mcnemar"], result["speaker_bootstrap_UA"]
    lines += ["", f"clips only A gets right: {m['only_a_right']}, only B: {m['only_b_right']}; exact McNemar p = "
                  f"{m['p']:.3g}",
              f"UA difference, speakers resampled: {b['diff']:+.2f} [{b['low']:+.2f}, {b['high']:+.2f}], "
              f"p = {b['p']:.3g}",
              "", f"{'recall (%)':<14}{'A':>8}{'B':>8}"]
    lines += [f"{name:<14}{r['a']:8.1f}{r['b']:8.1f}" for name, r in result["recall"].items()]
    return "\n".join(lines)
