"""`python -m ecaser slurm-grid`: the grid as three Slurm submissions around a DVC remote; only the glue.

1. the shared inputs (segments, STFT features, DS-LSTM features), made in a scratch checkout and pushed to the
   remote with their run-cache;
2. a job array, a task per training stage that `dvc status` finds out of date here, each in a scratch checkout
   of its own (DVC locks a repository, so one dvc process per checkout): `dvc repro --pull STAGE` restores its
   inputs from the remote, and the stage itself when the remote's run-cache has it, then `dvc push --run-cache`;
3. the report, in this checkout: `dvc repro --pull` restores every stage from the remote and makes it.

Each is slurm/job.sh, on the commit checked out here. Slurm orders them (`--dependency=afterok`) and cancels what
follows a failed job (`--kill-on-invalid-dep=yes`), so a failed first job (an unreachable remote, a bad param)
stops the grid with its one error line, not a failure per task. DVC caches and moves the data.
"""

import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

from ..infra.errors import InputError

INPUTS = re.compile(r"segment|stft@.+|dslstm_features|egemaps|ssl_embed@.+")
TRAINING = re.compile(r"train_.+|augment_(cnn|eca)@.+|probe_ssl@.+")
OUTPUTS = {"dvc.lock", "metrics/summary.json"}  # what the report job changes here, committed by hand after it


def run(command, root, env=None):
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
        raise InputError(f"{' '.join(command[:2])}: {lines[-1]}")
    return result.stdout


def stages(root):
    """(shared inputs, out-of-date training stages), both in dvc.yaml's order."""
    names = run(["dvc", "stage", "list", "--name-only"], root).split()
    stale = json.loads(run(["dvc", "status", "--json"], root))
    return ([s for s in names if INPUTS.fullmatch(s)],
            [s for s in names if TRAINING.fullmatch(s) and s in stale])


def submit(root=".", jobs=2, sbatch=(), train_sbatch=(), wait=False):
    """Submit the grid of the checkout `root`; the job ids, or None when nothing is out of date."""
    root = Path(root).resolve()
    changed = {line[3:] for line in run(["git", "status", "--porcelain", "--untracked-files=no"], root).splitlines()}
    if changed - OUTPUTS:
        raise InputError(f"uncommitted changes in {', '.join(sorted(changed - OUTPUTS))}: commit them first "
                         "(every job checks out the commit)")
    remote = subprocess.run(["dvc", "remote", "default"], cwd=root, capture_output=True, text=True).stdout.strip()
    if not remote:
        raise InputError("no default DVC remote: the jobs share their runs through one (dvc remote add -d NAME URL)")
    inputs, training = stages(root)
    if not training:
        print("nothing to train: every training stage is up to date in this checkout (`dvc repro` makes the rest)")
        return None
    logs = root / "logs" / "slurm" / time.strftime("%Y%m%d-%H%M%S")
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ECASER_REPO=str(root), ECASER_COMMIT=run(["git", "rev-parse", "HEAD"], root).strip())
    script = str(root / "slurm" / "job.sh")

    def job(name, *options, args=()):
        """Submit one job; its id. With --wait among the options, sbatch returns when the job has ended."""
        command = ["sbatch", "--parsable", "--kill-on-invalid-dep=yes", f"--job-name=ecaser-{name}", *sbatch,
                   *options, f"--output={logs}/{name}-%A{'_%a' if name == 'train' else ''}.out", script, name, *args]
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        if not result.stdout.strip():  # --parsable prints "id" or "id;cluster" once the job is submitted
            raise InputError(f"sbatch: {(result.stderr.strip().splitlines() or ['no job id'])[-1]}")
        return result.stdout.split(";")[0].strip()

    first = job("inputs", args=inputs)
    array = job("train", *train_sbatch, f"--dependency=afterok:{first}", f"--array=1-{len(training)}%{jobs}",
                args=training)
    print(f"submitted: inputs {first}; {len(training)} training stages as array {array}, {jobs} at a time; "
          f"then the report; logs in {logs}", flush=True)
    report = job("report", f"--dependency=afterok:{array}", *(["--wait"] if wait else []))
    print(f"report {report}")
    if wait:  # sbatch --wait says 0 for a job cancelled before it started: Slurm's record says how it ended
        state = re.search(r"JobState=(\w+)", run(["scontrol", "-o", "show", "job", report], root))[1]
        if state != "COMPLETED":
            errors = [f"{log.name}: {line}" for log in sorted(logs.glob("*.out"))
                      for line in log.read_text().splitlines() if line.startswith(("error:", "ERROR:"))]
            raise InputError(f"the grid stopped: {'; '.join(errors) or f'the report job {report} is {state}'} "
                             f"(logs in {logs})")
        print("done: the report is made here; commit dvc.lock and metrics/summary.json")
    return {"inputs": first, "train": array, "report": report}


def main(args):
    submit(args.root, args.jobs, shlex.split(args.sbatch), shlex.split(args.train_sbatch), args.wait)


def add_parser(commands):
    g = commands.add_parser("slurm-grid", help="the grid as Slurm jobs sharing this checkout's default DVC remote")
    g.add_argument("--root", default=".", help="the checkout whose committed grid is run (default: %(default)s)")
    g.add_argument("--jobs", type=int, default=2, help="training stages at once, the array's %%N (default: 2)")
    g.add_argument("--sbatch", default=os.environ.get("ECASER_SBATCH", ""),
                   help="sbatch options of every job, e.g. '--partition=lab --time=1:00:00' (default: $ECASER_SBATCH)")
    g.add_argument("--train-sbatch", default=os.environ.get("ECASER_TRAIN_SBATCH", ""),
                   help="sbatch options of the training tasks only, e.g. '--gpus-per-task=1' "
                        "(default: $ECASER_TRAIN_SBATCH)")
    g.add_argument("--wait", action="store_true", help="return when the report is made, or fail with the jobs' errors")
    g.set_defaults(run=main)
