"""What the pipeline would train, without training it: dvc.yaml's stages as DVC resolves them under a params file, and
the Run of each training stage. For the docs test, the wiring test and the paper grids' FLOP plan; no stage imports
it, so DVC and the corpus loaders stay out of the training stages' deps.
"""

import logging
import shlex
import shutil
import tempfile
from pathlib import Path

from ..data import corpora
from ..infra import params
from . import experiments


def resolved(dvc_yaml, params_file):
    """(name, command, output paths) of every stage dvc.yaml defines under a params file, as DVC resolves its foreach
    and matrix items (train_cnn_sweep@v8-1, ...), without running anything."""
    from dvc.repo import Repo

    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(dvc_yaml, folder)
        shutil.copy(params_file, Path(folder) / "params.yaml")
        logging.getLogger("dvc").setLevel(logging.WARNING)
        Repo.init(folder, no_scm=True)
        return [(s.name, s.cmd, [str(out.def_path) for out in s.outs]) for s in Repo(folder).index.stages]


def params_without_data(params_file):
    """The params, with the corpus's classes taken from its loader (data.classes), as no manifest is at hand."""
    p = params.load(params_file)
    if not p["data"].get("classes"):
        p["data"]["classes"] = list(corpora.classes(params.get(p, "data.corpus")))
    return p


def planned(dvc_yaml, params_file):
    """(stage name, Run) of every training stage that dvc.yaml defines under a params file: what `dvc repro` would
    train, without training it."""
    p = params_without_data(params_file)
    commands = [(name, shlex.split(cmd)) for name, cmd, _ in resolved(dvc_yaml, params_file)]
    return [(name, experiments.define(p, *experiments.command(argv[2:])[:2]))
            for name, argv in commands if argv[1:2] == ["stages/train.py"]]
