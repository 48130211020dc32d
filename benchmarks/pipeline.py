"""The pipeline's own cost: a cold `dvc repro` of the demo, a no-op one, and where one training stage's time goes.

Runs in a temporary copy of the repository (as tests/test_pipeline.py does), so the workspace's outputs and
cache are untouched. A training stage is a fresh process: it pays for the interpreter and its imports (torch,
scikit-learn, dvclive, ...) before it trains, and DVC pays for checking and recording the stage. Those are timed
on their own (the imports in fresh processes, DVC as the same stage's up-to-date check), and the stage's useful
work is what is left of a forced re-run. Takes as long as a cold demo run (about 10 minutes on 2 cores).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from table import show

REPO = Path(__file__).resolve().parents[1]
STAGE = "train_eca"  # the proposed model: a typical training stage
RUNS = 3  # fresh processes per import timing


def timed(cwd, *cmd):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - start, result.stdout


def dvc(cwd, *args):
    return timed(cwd, sys.executable, "-m", "dvc", *args)[0]


def copy(dest):
    """The repository's pipeline and code in dest, as a fresh git + DVC repository with one commit."""
    for name in ("dvc.yaml", "params.yaml", ".gitignore"):
        shutil.copy(REPO / name, dest / name)
    for name in ("stages", "src"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    timed(dest, "git", "init", "-q")
    dvc(dest, "init", "-q")
    dvc(dest, "config", "core.analytics", "false")
    timed(dest, "git", "add", "-A")
    timed(dest, "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "copy")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        copy(repo)
        stages = len(timed(repo, sys.executable, "-m", "dvc", "stage", "list")[1].splitlines())
        cold = dvc(repo, "repro")
        noop = dvc(repo, "repro")
        forced = dvc(repo, "repro", "--force", "--single-item", STAGE)
        check = dvc(repo, "repro", "--single-item", STAGE)
        imports = statistics.median(timed(repo, sys.executable, "-c", "import ecaser.training.record")[0]
                                    for _ in range(RUNS))
    work = forced - check - imports
    show("Pipeline (seconds; params.yaml's demo in a temporary copy)", ["what", "s", "share of the stage"], [
        [f"cold `dvc repro`, {stages} stages", f"{cold:.0f}", ""],
        ["no-op `dvc repro`", f"{noop:.1f}", ""],
        [f"one training stage, `dvc repro --force --single-item {STAGE}`", f"{forced:.1f}", "100%"],
        ["  DVC's own work (the same stage, up to date)", f"{check:.1f}", f"{check / forced:.0%}"],
        ["  process start-up and imports (`import ecaser.training.record`)", f"{imports:.1f}", f"{imports / forced:.0%}"],
        ["  training, scoring and writing results (the rest)", f"{work:.1f}", f"{work / forced:.0%}"],
    ])


if __name__ == "__main__":
    main()
