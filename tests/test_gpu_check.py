"""benchmarks/gpu_check.py before any GPU: its dry run on the CPU, without DVC or an audio library importable (as on
a bare CUDA image), its projection of grid hours, and the precomputed plan it reads (benchmarks/paper_plan.json)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
# the packages a bare CUDA image lacks (docs/gpu-check.md): the check, and the tests it runs, must not import them
MISSING = ("soundfile", "librosa", "soxr", "audioread", "pooch", "dvc", "dvclive", "opensmile")
BLOCKER = f"""
import sys


class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {MISSING!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: a bare CUDA image has none)")


sys.meta_path.insert(0, Missing())
"""


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """The environment of a process in which the missing packages cannot be imported (a sitecustomize on its path)."""
    folder = tmp_path_factory.mktemp("bare")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "src")]), "TQDM_DISABLE": "1",
            "CUDA_VISIBLE_DEVICES": ""}


def test_the_blocker_blocks(bare):
    for name in MISSING:
        result = subprocess.run([sys.executable, "-c", f"import {name}"], env=bare, capture_output=True, text=True)
        assert result.returncode != 0 and "blocked: a bare CUDA image has none" in result.stderr, name


@pytest.fixture(scope="module")
def dry_run(bare, tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--out", str(out)], env=bare,
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, json.loads((out / "gpu_check.json").read_text())


def test_the_dry_run_writes_every_section_and_says_what_it_skipped(dry_run):
    import gpu_check

    out, results = dry_run
    sections = results["sections"]
    assert results["dry_run"] is True and results["device"] == "cpu"
    assert list(sections) == list(results["seconds"]) == ["environment", "cuda_tests", "steps", "folds", "paper_scale"]
    assert sections["environment"]["torch"] and sections["environment"]["cuda"] is None
    # the CUDA tests were collected (conftest and the training path import without the audio libraries), and skipped
    assert sections["cuda_tests"]["tests"] and {t["outcome"] for t in sections["cuda_tests"]["tests"].values()} == {
        "skipped"}
    dry = gpu_check.DRY
    assert [(r["scale"], r["frames"], r["precision"]) for r in sections["steps"]["cnn"]] == [
        (n, frames, p) for frames, _ in dry["step_inputs"] for n in dry["step_scales"] for p in dry["precisions"]]
    assert all(r["clips_per_s"] > 0 for r in sections["steps"]["cnn"] + sections["steps"]["dslstm"])
    assert [r["config"] for r in sections["steps"]["dslstm"]] == ["paper-emodb.yaml", "paper-iemocap.yaml"]
    folds = sections["folds"]
    assert folds["equivalence"]["1"]["equal"] is True  # the fold-batched model computes the separate models' steps
    assert list(folds["rates"]["1"]) == ["one after another", "taking turns (streams on CUDA)", "fold-batched (vmap)"]
    cases = sections["paper_scale"]["cases"]
    assert [(c["config"], c["versions"]) for c in cases] == [(c[0], c[4]) for c in dry["paper"]]
    assert all(0 < c["epoch_s"] < c["run_s"] for c in cases)
    assert set(sections["paper_scale"]["projection"]) == {"paper-emodb.yaml", "paper-iemocap.yaml"}
    assert {s["what"] for s in results["skipped"]} == {"cuda tests", "torch.compile and CUDA graphs"}
    table = (out / "gpu_check.md").read_text()
    for title in ("environment", "CUDA tests", "training steps", "5 folds' training steps", "fold-batched model",
                  "cross_validate", "the paper grids' training runs", "skipped"):
        assert f"**{title}" in table, title
    assert (out / "cuda_tests.xml").exists()


def test_grid_hours_are_projected_from_the_measured_rates():
    """Against a hand computation: a CNN run at its versions' interpolated rate scaled by its channel scale's step
    rate, the DS-LSTM at the one-version rate scaled by its own step rate."""
    from gpu_check import project

    plan = {"runs": [{"architecture": "cnn", "channel_scale": 4, "versions": 1, "flops": 8e15},
                     {"architecture": "cnn", "channel_scale": 2, "versions": 4, "flops": 3e15},
                     {"architecture": "dslstm", "channel_scale": None, "versions": 1, "flops": 1e15}]}
    cases = [{"frames": 301, "versions": 8, "tflops": 9.0}, {"frames": 301, "versions": 1, "tflops": 2.0}]
    steps = {"cnn": [{"scale": n, "frames": 301, "precision": "bfloat16", "tflops": rate} for n, rate in
                     ((1, 0.5), (2, 1.0), (4, 2.0))] + [{"scale": 2, "frames": 601, "precision": "bfloat16",
                                                        "tflops": 99.0}],
             "dslstm": [{"config": "c", "tflops": 0.5}, {"config": "other", "tflops": 7.0}]}
    hours = project("c", plan, cases, steps, 4)
    seconds = 8e15 / 2e12 + 3e15 / (5e12 * 1.0 / 2.0) + 1e15 / (2e12 * 0.5 / 2.0)
    assert hours["measured"] == pytest.approx(seconds / 3600)
    assert hours["pflop"] == pytest.approx(12) and hours["stated"] == pytest.approx(12e15 / 30e12 / 3600)
    assert project("c", plan, [], steps, 4) is None


@pytest.mark.pipeline
def test_the_committed_plan_is_what_dvc_and_the_configs_give_now():
    """benchmarks/paper_plan.json, carried to machines without DVC, against plan.planned and torch's flop
    counter now: a changed config, stage or model fails here until `python benchmarks/paper_plan.py` rewrites it."""
    import paper_plan

    assert paper_plan.PLAN.read_text() == paper_plan.dumps(paper_plan.compute())
