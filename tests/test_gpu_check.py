"""benchmarks/gpu_check.py before any GPU: its dry run on the CPU through the command docs/gpu-check.md gives for a
bare CUDA image, without DVC or an audio library importable (as there); a section's exception recorded with the
later sections still run; its bookkeeping (epochs, mechanisms, budget, projection of grid hours) and the
precomputed plan it reads (benchmarks/paper_plan.json)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
DOC = ROOT / "docs" / "gpu-check.md"
# the command for a bare CUDA image (python3 is the image's interpreter; $OUT is what comes back, 8 files at most)
COMMAND = 'PYTHONUNBUFFERED=1 PYTHONPATH=src python3 benchmarks/gpu_check.py --out "$OUT" 2>&1 | tee "$OUT/log.txt"'
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


def documented():
    """The pre-flight line and the command of docs/gpu-check.md's block for a bare CUDA image."""
    lines = DOC.read_text().splitlines()
    at = [i for i, line in enumerate(lines) if line.strip() == COMMAND]
    assert len(at) == 1, f"docs/gpu-check.md gives the command once, on a line of its own: {COMMAND}"
    preflight = lines[at[0] - 1].strip()
    assert preflight.startswith("python3 -c ") and preflight.endswith(" &&"), preflight
    return preflight, COMMAND


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
    """docs/gpu-check.md's pre-flight and command as given, run by bash in the repository: `python3` is this
    interpreter with the blocker on its path (the command sets PYTHONPATH=src, so the blocker comes in through a
    python3 of its own on PATH)."""
    out, folder = tmp_path_factory.mktemp("gpu-check"), tmp_path_factory.mktemp("bin")
    blocker = bare["PYTHONPATH"].split(os.pathsep)[0]
    python3 = folder / "python3"
    python3.write_text(f'#!/bin/sh\nexport PYTHONPATH="{blocker}${{PYTHONPATH:+:$PYTHONPATH}}"\n'
                       f'exec "{sys.executable}" "$@"\n')
    python3.chmod(0o755)
    preflight, command = documented()
    env = {**bare, "PATH": os.pathsep.join([str(folder), os.environ["PATH"]]), "OUT": str(out)}
    env.pop("PYTHONPATH")
    result = subprocess.run(["bash", "-c", f"set -o pipefail\n{preflight}\n{command}"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return out, json.loads((out / "gpu_check.json").read_text()), result


def test_the_dry_run_writes_every_section_and_says_what_it_skipped(dry_run):
    import gpu_check

    out, results, result = dry_run
    sections, status = results["sections"], results["status"]
    assert results["dry_run"] is True and results["device"] == "cpu"
    assert "packages: ok" in result.stdout  # the pre-flight
    assert re.fullmatch(r"\d+ skipped", status["cuda_tests"]["message"])
    ok = {name: {"status": "ok"} for name in gpu_check.SECTIONS if name not in ("cuda_tests", "compile")}
    assert status == {**ok, "cuda_tests": {"status": "ok", "message": status["cuda_tests"]["message"]},
                      "compile": {"status": "skipped", "message": "dry run: a cold compile costs minutes on a CPU"}}
    assert list(results["seconds"]) == list(gpu_check.SECTIONS)
    assert list(sections) == ["environment", "cuda_tests", "paper_scale", "steps", "projection", "folds"]
    assert sections["environment"]["torch"] and sections["environment"]["cuda"] is None
    assert sections["environment"]["settings"] == {"ECASER_DEVICE": "cpu", "ECASER_RESIDENT": "0",
                                                   "ECASER_PARALLEL_FOLDS": "1"}
    # the CUDA tests were collected one by one (conftest and the training path import without the audio
    # libraries), and each skipped; the CPU tests of test_cuda.py are not among them
    tests = sections["cuda_tests"]["tests"]
    assert {t["outcome"] for t in tests.values()} == {"skipped"}
    assert "test_a_training_step_makes_the_host_wait_for_the_device_nowhere_with_resident_features[True]" in tests
    assert not [name for name in tests if name.endswith("on_the_cpu")]
    dry = gpu_check.DRY
    assert [(r["scale"], r["frames"], r["precision"]) for r in sections["steps"]["cnn"]] == [
        (n, frames, p) for frames, _ in dry["step_inputs"] for n in dry["step_scales"] for p in dry["precisions"]]
    assert all(r["clips_per_s"] > 0 for r in sections["steps"]["cnn"] + sections["steps"]["dslstm"])
    assert [r["config"] for r in sections["steps"]["dslstm"]] == ["paper-emodb.yaml", "paper-iemocap.yaml"]
    folds = sections["folds"]
    equivalence = folds["equivalence"]["1"]
    assert equivalence["equal"] is True  # the fold-batched model computes the separate models' steps
    # vmap's fallback warnings are on where the fold-batched step runs: this torch has ops without a batching rule
    assert equivalence["fallbacks_observable"] is True and equivalence["vmap_fallbacks"]
    assert list(folds["rates"]["1"]) == ["one after another", "taking turns (streams on CUDA)", "fold-batched (vmap)"]
    runs = sections["paper_scale"]["runs"]
    assert [(r["config"], r["versions"], r["resident"], r["parallel_folds"]) for r in runs] == [
        (config, versions, resident, width) for config, _, _, _, versions, ways in dry["paper"]
        for resident, width in ways]
    assert all(0 < r["epoch_s"] < r["run_s"] and isinstance(r["resident_as_run"], bool) for r in runs)
    mechanisms = sections["paper_scale"]["mechanisms"]
    assert sorted(m["mechanism"] for m in mechanisms) == sorted(
        ["ECASER_RESIDENT=1"] * 3 + ["ECASER_PARALLEL_FOLDS=5"] * 2)
    assert set(sections["projection"]) == {"paper-emodb.yaml", "paper-iemocap.yaml"}
    assert sections["projection"]["paper-emodb.yaml"]["hours"]["ECASER_RESIDENT=0"]["versions_measured"] == [1, 2]
    assert [s["what"] for s in results["skipped"]] == ["cuda tests"] and results["errors"] == []
    table = (out / "gpu_check.md").read_text()
    for title in ("sections", "environment", "CUDA tests", "cross_validate", "mechanisms", "training steps",
                  "the paper grids' training runs", "2 folds' training steps", "fold-batched model", "skipped"):
        assert f"**{title}" in table, title
    assert "| compile | skipped | dry run: a cold compile costs minutes on a CPU |" in table
    # what comes back from a device: these files and no more than 8
    assert sorted(p.name for p in out.iterdir()) == ["cuda_tests.xml", "gpu_check.json", "gpu_check.md", "log.txt"]
    assert "wrote " in (out / "log.txt").read_text()


def test_the_dry_run_measures_each_mechanism_off_and_on(dry_run):
    """Every paper-scale run took the way its settings asked, so each mechanism has a speed-up against the bar."""
    sections = dry_run[1]["sections"]
    assert all(r["resident_as_run"] == bool(r["resident"]) for r in sections["paper_scale"]["runs"])
    assert all(m["speedup"] > 0 and isinstance(m["passes"], bool) for m in sections["paper_scale"]["mechanisms"])
    assert all(h is not None for c in sections["projection"].values() for h in c["hours"].values())


def test_the_preflight_names_each_missing_package(tmp_path):
    """docs/gpu-check.md's pre-flight line: silent but for one line when all is there; else it names what is
    missing by its pip name, and fails."""
    preflight = documented()[0].removesuffix(" &&")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    done = subprocess.run(["bash", "-c", preflight], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "packages: ok", done.stdout + done.stderr
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['scipy'] = sys.modules['yaml'] = None\n")
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run(["bash", "-c", preflight], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.stdout.strip().splitlines() == [
        "missing: scipy pyyaml (python3 -m pip install scipy pyyaml)"], done.stdout + done.stderr


@pytest.fixture
def own_settings(monkeypatch):
    """main() in this process: its settings undone afterwards."""
    for name in ("ECASER_DEVICE", "ECASER_RESIDENT", "ECASER_PARALLEL_FOLDS", "TQDM_DISABLE"):
        monkeypatch.setenv(name, "1")


def test_an_exception_in_a_section_is_recorded_and_the_later_sections_still_run(tmp_path, monkeypatch, own_settings):
    import gpu_check

    def broken(check):
        raise RuntimeError("forced failure\nand a second line")

    monkeypatch.setitem(gpu_check.SECTIONS, "steps", broken)
    sections = "environment,steps,projection,folds"
    assert gpu_check.main(["--dry-run", "--out", str(tmp_path), "--sections", sections]) == 1
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    not_chosen = {"status": "skipped", "message": "not chosen (--sections)"}
    assert results["status"] == {"environment": {"status": "ok"}, "cuda_tests": not_chosen, "paper_scale": not_chosen,
                                 "steps": {"status": "error", "message": "RuntimeError: forced failure"},
                                 "projection": {"status": "ok"}, "folds": {"status": "ok"}, "compile": not_chosen}
    assert results["sections"]["folds"]["equivalence"]["1"]["equal"] is True  # the later sections measured
    assert {s["what"] for s in results["skipped"]} == {"projection paper-emodb.yaml", "projection paper-iemocap.yaml"}
    page = (tmp_path / "gpu_check.md").read_text()
    assert "| steps | error | RuntimeError: forced failure |" in page and "**fold-batched model" in page


def test_a_compiled_way_failing_in_its_timed_steps_is_recorded_and_the_next_way_runs(tmp_path, monkeypatch):
    """compile's timing loop inside its try: a compiled step that works once and then raises."""
    import gpu_check

    class Flaky(torch.nn.Module):
        def __init__(self, net, mode):
            super().__init__()
            self.net, self.mode, self.calls = net, mode, 0

        def forward(self, *x):
            self.calls += 1
            if self.mode == "default" and self.calls > 1:
                raise RuntimeError("a compiled kernel failed")
            return self.net(*x)

    monkeypatch.setattr(torch, "compile", lambda net, mode: Flaky(net, mode))
    check = gpu_check.Check(tmp_path, gpu_check.DRY, True, torch.device("cpu"), 600)
    rates = gpu_check.compiled_runs(check, 1, 40, 3, "float32")
    assert [way.split(" (first call")[0] for way in rates] == ["eager", "torch.compile, CUDA graphs"]
    assert all(rate > 0 for rate in rates.values())
    assert check.results["errors"] == [{"what": "torch.compile n=1", "error": "RuntimeError: a compiled kernel failed"}]


def test_paper_runs_past_the_budget_are_skipped_with_why(tmp_path, own_settings):
    import gpu_check

    assert gpu_check.main(["--dry-run", "--out", str(tmp_path), "--sections", "paper_scale", "--budget", "5"]) == 0
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert results["status"]["paper_scale"] == {"status": "ok"} and results["sections"]["paper_scale"]["runs"] == []
    whys = [s["why"] for s in results["skipped"]]
    assert len(whys) == sum(len(case[-1]) for case in gpu_check.DRY["paper"])
    assert all(re.fullmatch(r"\d+ s of the 5 s budget left, 30 s of it kept for later sections", why) for why in whys)


@pytest.mark.parametrize("argv, message", [
    (["--sections", "steps,stpes"], "gpu_check: --sections 'steps,stpes': unknown 'stpes'; choose from environment, "),
    (["--budget", "soon"], "gpu_check: --budget must be a number of seconds > 0, got 'soon'"),
    (["--budget", "nan"], "gpu_check: --budget must be a number of seconds > 0, got 'nan'"),
])
def test_bad_arguments_are_refused_in_one_line(argv, message):
    import gpu_check

    with pytest.raises(SystemExit) as refused:
        gpu_check.arguments(argv)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_an_epoch_is_timed_from_each_folds_last_two_ends():
    """Folds one at a time: their last epochs add up; five taking turns: their last epochs overlap."""
    from gpu_check import EpochClock

    clock = EpochClock()
    for fold, epoch, at in [(1, 1, 10.0), (1, 2, 12.0), (2, 1, 15.0), (2, 2, 18.0)]:  # one at a time
        clock.set_postfix(fold=fold, epoch=epoch, loss="0.1")
        clock.update()
        clock.ends[fold, epoch] = at
    assert clock.epoch_seconds(2, 2, 1) == 5.0
    clock.ends = {(1, 1): 10.0, (2, 1): 10.5, (1, 2): 14.0, (2, 2): 14.5}  # side by side
    assert clock.epoch_seconds(2, 2, 5) == 4.0


def test_each_mechanism_is_set_against_its_run_without_it():
    from gpu_check import BAR, mechanisms

    def run(resident, width, seconds, as_run=None):
        return {"config": "c", "clips": 10, "frames": 40, "versions": 1, "resident": resident, "parallel_folds": width,
                "resident_as_run": bool(resident) if as_run is None else as_run, "epoch_s": seconds}

    found = mechanisms([run(0, 1, 6.0), run(1, 1, 4.0), run(0, 5, 5.5), run(1, 5, 2.0, as_run=False),
                        run(1, 1, 1.0) | {"versions": 8}])
    assert [(m["mechanism"], m["with"], m["speedup"], m["passes"]) for m in found] == [
        ("ECASER_RESIDENT=1", "ECASER_PARALLEL_FOLDS=1", 1.5, True),
        ("ECASER_PARALLEL_FOLDS=5", "ECASER_RESIDENT=0", 6.0 / 5.5, 6.0 / 5.5 >= BAR),
        ("ECASER_RESIDENT=1", "ECASER_PARALLEL_FOLDS=5", None, None),  # the setting was ignored: no speed-up
        ("ECASER_PARALLEL_FOLDS=5", "ECASER_RESIDENT=1", None, None),
    ]
    assert "ignored ECASER_RESIDENT" in found[2]["note"]


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
