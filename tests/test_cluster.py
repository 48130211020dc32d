"""`python -m ecaser slurm-grid` on a real Slurm and a real S3 server, both on 127.0.0.1.

tests/cluster/up.sh starts munged, slurmctld and slurmd (a one-node cluster) and moto's S3 server under a
temporary folder; down.sh stops them. The grid is the demo's cut to one run per stage family (10 training
stages) at test size, in clones of one committed repository sharing one S3 remote. Marked `cluster`; skipped,
with one line, where Slurm, munge, moto's server or dvc-s3 is missing, or without root (slurmd runs as root here).
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from test_pipeline import FAST, dvc, git, set_params

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GRID = {"sweep.versions": ["v8"], "eca_original.versions": ["v8"], "attention.types": ["se"],
        "augment.orders": ["descending"]}
CANCELLED = "augment_eca@descending-2"  # the task cancelled mid-run: the last one, and the longest
AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
TRAINING = re.compile(r"^Running stage '((train_|augment_(cnn|eca)@)[^']*)'", re.M)


def missing():
    names = [name for name in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch") if not shutil.which(name)]
    if not (BIN / "moto_server").exists():
        names.append("moto_server")
    try:
        import dvc_s3  # noqa: F401
    except ImportError:
        names.append("dvc-s3")
    return names


pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(bool(missing()), reason=f"Slurm grid: {', '.join(missing())} not installed "
                       "(apt-get install slurm-wlm munge; make cluster-env)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="Slurm grid: slurmd needs root"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The cluster's folder, its clients' environment and the S3 endpoint; the daemons stop after the module."""
    root = tmp_path_factory.mktemp("cluster")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", TQDM_DISABLE="1", **AWS)
    up = subprocess.run([REPO / "tests/cluster/up.sh", root], env=env, capture_output=True, text=True)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        env.update(re.findall(r"^export (\w+)=(.*)$", up.stdout, re.M))
        c = SimpleNamespace(root=root, env=env, endpoint=env["ECASER_S3_ENDPOINT"])
        s3(c).create_bucket(Bucket="ecaser")
        yield c
    finally:
        subprocess.run([REPO / "tests/cluster/down.sh", root])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The committed repository every clone below checks out: the grid at test size."""
    root = tmp_path_factory.mktemp("template")
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore", "results/ssl_probe/README.md",
                 "metrics/ssl_probe/README.md"):  # the probes' folders stand, empty, while ssl.models is empty
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    for name in ("stages", "src", "slurm"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    dvc(root, "config", "core.analytics", "false")
    set_params(root, **FAST, **GRID)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "grid")
    return root


def checkout(template, path, endpoint=None):
    """A clone whose default DVC remote is the S3 bucket; an `endpoint` nothing answers at makes it unreachable."""
    git(template.parent, "clone", "-q", str(template), str(path))
    if endpoint:
        dvc(path, "remote", "add", "--local", "-d", "lab", "s3://ecaser/grid")
        dvc(path, "remote", "modify", "--local", "lab", "endpointurl", endpoint)
    return path


def s3(cluster):
    import boto3

    return boto3.client("s3", endpoint_url=cluster.endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                        region_name="us-east-1")


def grid(repo, cluster, *args):
    return subprocess.run([sys.executable, "-m", "ecaser", "slurm-grid", *args], cwd=repo, env=cluster.env,
                          capture_output=True, text=True)


def slurm(cluster, *args):
    return subprocess.run(args, env=cluster.env, capture_output=True, text=True, check=True).stdout


def drained(cluster, timeout=300):
    """Wait until Slurm's queue is empty."""
    deadline = time.monotonic() + timeout
    while slurm(cluster, "squeue", "-h").strip():
        assert time.monotonic() < deadline, slurm(cluster, "squeue")
        time.sleep(1)


def jobs(cluster, job):
    """Slurm's record of a job, or of each task of an array: {field: value}."""
    lines = slurm(cluster, "scontrol", "-o", "show", "job", job).splitlines()
    return [dict(field.split("=", 1) for field in line.split() if "=" in field) for line in lines]


def most_at_once(tasks):
    """The most tasks that ran at one time, from their start and end times (whole seconds, so half-open)."""
    spans = [(datetime.fromisoformat(t["StartTime"]), datetime.fromisoformat(t["EndTime"])) for t in tasks
             if t["StartTime"] != "Unknown"]
    return max(sum(start <= s < end for start, end in spans) for s, _ in spans)


def logs(repo):
    """The latest submission's log files: {name: text}."""
    latest = max((repo / "logs/slurm").iterdir())
    return {log.name: log.read_text() for log in latest.glob("*.out")}


def trained(texts):
    """The training stages the logs show DVC running (not restoring)."""
    return {m[0] for text in texts.values() for m in TRAINING.findall(text)}


def remote_runs(cluster):
    """The remote checked whole: every object holds what its name (an MD5) says, and every directory listing's
    files and every run-cache entry's outputs are there. Returns the run-cache entries."""
    client = s3(cluster)
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket="ecaser")
            for o in page.get("Contents", [])]
    read = lambda key: client.get_object(Bucket="ecaser", Key=key)["Body"].read()  # noqa: E731
    objects = {}
    for key in keys:
        if key.startswith("grid/files/md5/"):
            name = "".join(key.split("/")[-2:])
            objects[name] = read(key)
            assert hashlib.md5(objects[name]).hexdigest() == name.removesuffix(".dir"), key
    for name, data in objects.items():
        if name.endswith(".dir"):
            assert all(entry["md5"] in objects for entry in json.loads(data)), name
    runs = [yaml.safe_load(read(key)) for key in keys if key.startswith("grid/runs/")]
    for run in runs:
        for out in run.get("outs", []):
            assert out["md5"] in objects, (run["cmd"], out["path"])
    assert objects and runs
    return runs


def test_an_unreachable_remote_stops_the_grid_at_its_first_job_in_one_line(cluster, template, tmp_path):
    repo = checkout(template, tmp_path / "repo", endpoint="http://127.0.0.1:9")  # the discard port: refused
    result = grid(repo, cluster, "--wait")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert re.fullmatch(r"error: the grid stopped: inputs-\d+\.out: ERROR: unexpected error - Could not connect to the "
                        r"endpoint URL: \"http://127.0.0.1:9/ecaser/grid/runs\" \(logs in .+\)", line), line
    first, array = re.search(r"submitted: inputs (\d+); 10 training stages as array (\d+)", result.stdout).groups()
    assert [j["JobState"] for j in jobs(cluster, first)] == ["FAILED"]
    assert {j["JobState"] for j in jobs(cluster, array)} == {"CANCELLED"}  # no task started
    assert set(logs(repo)) == {f"inputs-{first}.out"}


def test_the_grid_runs_two_tasks_at_a_time_and_a_cancelled_task_is_resubmitted_whole(cluster, template, tmp_path):
    repo = checkout(template, tmp_path / "repo", endpoint=cluster.endpoint)
    result = grid(repo, cluster)
    assert result.returncode == 0, result.stderr
    first, array, report = re.search(r"inputs (\d+); 10 training stages as array (\d+), 2 at a time; .*\nreport (\d+)",
                                     result.stdout).groups()
    deadline = time.monotonic() + 300
    while not (running := [name for name, text in logs(repo).items() if f"Running stage '{CANCELLED}'" in text]):
        assert time.monotonic() < deadline, logs(repo)  # wait for the last task to start training, then cancel it
        time.sleep(0.5)
    task = running[0].removeprefix("train-").removesuffix(".out")
    slurm(cluster, "scancel", task)
    drained(cluster)
    log = logs(repo)[running[0]]

    tasks = jobs(cluster, array)
    assert len(tasks) == 10 and most_at_once(tasks) == 2  # the %2, not the node's 8 CPUs, set it
    assert [j["JobState"] for j in jobs(cluster, report)] == ["CANCELLED"]
    assert not Path(re.search(r"^commit \w+ in (\S+):", log, re.M)[1]).exists()  # its scratch checkout is gone
    runs = remote_runs(cluster)
    assert not [r for r in runs if f"results/{CANCELLED.replace('@', '/')}" in [o["path"] for o in r["outs"]]]
    assert not (repo / "metrics/summary.json").exists()

    result = grid(repo, cluster, "--wait")  # the same commit again: the nine runs restored, the cancelled one trained
    assert result.returncode == 0, result.stderr
    assert trained(logs(repo)) == {CANCELLED}
    remote_runs(cluster)

    local = checkout(template, tmp_path / "local")  # the same grid by plain `dvc repro`, without Slurm or a remote
    dvc(local, "repro")
    for path in sorted((local / "metrics").rglob("*.json")):
        assert path.read_bytes() == (repo / path.relative_to(local)).read_bytes(), path

    again = checkout(template, tmp_path / "again", endpoint=cluster.endpoint)  # another checkout of the commit
    result = grid(again, cluster, "--wait")
    assert result.returncode == 0, result.stderr
    assert len(logs(again)) == 12 and trained(logs(again)) == set()
    assert (again / "metrics/summary.json").read_bytes() == (repo / "metrics/summary.json").read_bytes()
    assert grid(repo, cluster).stdout.startswith("nothing to train")
