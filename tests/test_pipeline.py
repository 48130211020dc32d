"""The DVC pipeline end to end, in a temporary copy of the repository on a tiny synthetic corpus."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def dvc(repo, *args, check=True):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def set_params(repo, **changes):
    path = repo / "params.yaml"
    p = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        node = p
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    path.write_text(yaml.safe_dump(p, sort_keys=False))


@pytest.fixture
def repo(tmp_path):
    for name in ("dvc.yaml", "params.yaml", ".gitignore"):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("stages", "src"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    dvc(tmp_path, "init", "-q")
    dvc(tmp_path, "config", "core.analytics", "false")
    set_params(tmp_path, **{"data.synthetic_size": 0.05, "train.epochs": 1, "cv.folds": 2, "model.channel_scale": 1})
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"], cwd=tmp_path,
                   check=True)
    return tmp_path


def test_segment_and_stft_stages_run_cache_and_rerun_selectively(repo):
    dvc(repo, "repro", "stft@v1", "stft@v8")
    manifest = (repo / "data/segments/manifest.csv").read_text().splitlines()
    n = len(manifest) - 1
    audio = np.load(repo / "data/segments/audio.npy", mmap_mode="r")
    assert audio.shape == (n, 48000) and audio.dtype == np.float32
    v1 = np.load(repo / "data/features/v1.npy", mmap_mode="r")
    v8 = np.load(repo / "data/features/v8.npy", mmap_mode="r")
    assert v1.shape == v8.shape == (n, 64, 301) and v1.dtype == np.float16
    assert np.isfinite(v1).all() and not np.array_equal(v1, v8)

    again = dvc(repo, "repro", "stft@v1", "stft@v8")
    assert "Running stage" not in again.stdout

    set_params(repo, **{"stft.versions.v8.window_ms": 45, "stft.versions.v8.overlap_ms": 35})
    changed = dvc(repo, "repro", "stft@v1", "stft@v8")
    assert "Running stage 'stft@v8'" in changed.stdout
    assert "Running stage 'stft@v1'" not in changed.stdout and "Running stage 'segment'" not in changed.stdout


def test_invalid_overlap_is_refused_with_one_line_and_no_output(repo):
    set_params(repo, **{"stft.versions.v2.overlap_ms": 20})
    result = dvc(repo, "repro", "stft@v2", check=False)
    assert result.returncode != 0
    assert "error: params: 'stft.versions.v2.overlap_ms' must be >= 0 and < window_ms (20)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (repo / "data/features/v2.npy").exists()


def test_missing_corpus_folder_leaves_no_segments(repo, tmp_path):
    set_params(repo, **{"data.corpus": "emodb", "data.root": str(tmp_path / "nowhere")})
    result = dvc(repo, "repro", "segment", check=False)
    assert result.returncode != 0
    assert f"error: {tmp_path / 'nowhere'}: emodb corpus folder not found" in result.stderr
    assert not [p for p in (repo / "data").rglob("*") if p.is_file()]


def test_eca_kernel_change_touches_only_the_proposed_model(repo):
    dvc(repo, "repro", "train_eca", "train_cnn_sweep@v8-1")
    metrics = json.loads((repo / "metrics/eca/proposed.json").read_text())
    assert set(metrics) >= {"UA", "WA", "ACC", "folds", "best_test_epoch", "model"}
    assert set(metrics["folds"]) == {"1", "2"} and 0 <= metrics["UA"]["mean"] <= 100
    predictions = (repo / "results/eca/proposed/predictions.csv").read_text().splitlines()
    assert len(predictions) - 1 == len((repo / "data/segments/manifest.csv").read_text().splitlines()) - 1
    assert (repo / "results/eca/proposed/eca_weights.json").exists()

    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "run"], cwd=repo, check=True)

    set_params(repo, **{"eca.kernel": 3})
    status = json.loads(dvc(repo, "status", "--json", "train_eca", "train_cnn_sweep@v8-1").stdout)
    assert list(status) == ["train_eca"]
    dvc(repo, "repro", "train_eca")
    diff = json.loads(dvc(repo, "metrics", "diff", "--json", "--all").stdout)
    ua = diff["metrics/eca/proposed.json"]["UA.mean"]
    assert ua["old"] == metrics["UA"]["mean"] and isinstance(ua["new"], float)


def test_even_eca_kernel_is_refused_before_training(repo):
    dvc(repo, "repro", "stft@v8")
    set_params(repo, **{"eca.kernel": 4})
    result = dvc(repo, "repro", "train_eca", check=False)
    assert result.returncode != 0
    assert "error: params: 'eca.kernel' must be an odd integer >= 1, got 4" in result.stderr
    assert not (repo / "metrics/eca/proposed.json").exists() and not (repo / "results/eca").exists()


def test_baselines_train_in_the_pipeline_and_ignore_the_eca_kernel(repo):
    dvc(repo, "repro", "train_dslstm", "train_attention@area")
    n = len((repo / "data/segments/manifest.csv").read_text().splitlines()) - 1
    mfcc = np.load(repo / "data/dslstm/mfcc.npy", mmap_mode="r")
    assert mfcc.shape[:2] == (n, 39) and mfcc.dtype == np.float16 and np.isfinite(mfcc).all()
    for run in ("dslstm/published", "attention/area"):
        metrics = json.loads((repo / f"metrics/{run}.json").read_text())
        assert set(metrics["folds"]) == {"1", "2"} and 0 <= metrics["UA"]["mean"] <= 100
        assert metrics["model"]["parameters"] > 0
    config = json.loads((repo / "results/attention/area/config.json").read_text())
    assert (config["attention"], config["attention_blocks"], config["eca_kernel"]) == ("area", [6], None)
    assert json.loads((repo / "results/dslstm/published/config.json").read_text())["loss"] == "cross_entropy"

    set_params(repo, **{"eca.kernel": 3})
    assert json.loads(dvc(repo, "status", "--json", "train_dslstm", "train_attention@area").stdout) == {}
