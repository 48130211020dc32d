"""dvc.yaml's wiring: every package module a stage's script imports is one of that stage's deps.

A stage re-runs when a dep changes, so a module it runs but does not list (say params.py, which computes each
STFT version's window) could change every number while `dvc repro` says all is up to date. The imports are
read from the source (every `import` statement, those inside functions included), transitively.

Three modules are left out of every stage's deps, each because a test measures that it changes no output:
NOT_DECIDING names them and the test that shows it, and a test below checks that each such test is there.
"""

import ast
from pathlib import Path

import pytest
import yaml

from ecaser.training import experiments, plan
from ecaser.infra import params

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
# {module: (what it does, the test that shows it changes no output)}: where a run goes, its progress bars and its
# resumption. Listing them would re-train every model of the grid for an edit that cannot change one number.
NOT_DECIDING = {
    "src/ecaser/infra/runtime.py": ("the device, the GPU lease, folds side by side, resident features",
                                    "tests/test_training.py::test_opt_in_gpu_mechanisms_change_no_number_on_the_cpu"),
    "src/ecaser/infra/progress.py": ("progress bars", "tests/test_training.py::test_progress_bars_change_no_number"),
    "src/ecaser/training/checkpoint.py": ("resuming a stopped stage",
                                          "tests/test_faults.py::test_sigterm_and_sigkill_mid_write_and_mid_training_leave_nothing_and_the_rerun_"
                                          "equals_an_uninterrupted_run"),
}


def module_file(name):
    """src/ecaser/a/b.py or src/ecaser/a/b/__init__.py for 'ecaser.a.b'; None for what is not ours."""
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported(path, package):
    """Module names of the package that the file at `path` imports; `package` is the file's own package."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # kept only where it is a module
    # importing a.b.c runs a/__init__ and a/b/__init__ first
    return {".".join(n.split(".")[:i]) for n in names for i in range(1, len(n.split(".")) + 1)}


def closure(script):
    """Every file of src/ that running `script` imports, the script itself included."""
    seen, todo = {script}, [(script, "")]
    while todo:
        path, package = todo.pop()
        for name in imported(path, package):
            found = module_file(name)
            if found and found not in seen:
                seen.add(found)
                todo.append((found, name if found.name == "__init__.py" else name.rpartition(".")[0]))
    return seen


def stages(dvc_yaml):
    """(stage name, script, deps) of every stage, foreach and matrix templates as written."""
    for name, stage in yaml.safe_load(dvc_yaml.read_text())["stages"].items():
        stage = stage.get("do", stage)
        yield name, REPO / stage["cmd"].split()[1], [d if isinstance(d, str) else next(iter(d)) for d in stage["deps"]]


def uncovered(dvc_yaml):
    """{stage: files its script imports that none of its deps covers}."""
    missing = {}
    for name, script, deps in stages(dvc_yaml):
        paths = [(REPO / d).resolve() for d in deps]
        lacking = sorted(str(f.relative_to(REPO)) for f in closure(script)
                         if not any(f == p or p in f.parents for p in paths)
                         and str(f.relative_to(REPO)) not in NOT_DECIDING)
        if lacking:
            missing[name] = lacking
    return missing


def test_every_stage_depends_on_every_module_its_script_imports():
    assert uncovered(REPO / "dvc.yaml") == {}


def test_each_module_left_out_is_shown_by_a_test_to_change_no_output():
    for module, (_, test) in NOT_DECIDING.items():
        assert (REPO / module).is_file(), module
        path, name = test.split("::")
        assert f"def {name}(" in (REPO / path).read_text(), test


def test_the_check_sees_the_modules_a_script_reaches_through_other_modules():
    files = {str(f.relative_to(REPO)) for f in closure(REPO / "stages/stft.py")}
    # stft.py names features and params; features reaches dataset and runtime, every one errors
    assert {"src/ecaser/data/dataset.py", "src/ecaser/data/features.py", "src/ecaser/infra/runtime.py",
            "src/ecaser/infra/errors.py", "src/ecaser/infra/params.py", "src/ecaser/__init__.py"} <= files
    assert "src/ecaser/report/__init__.py" not in files and "src/ecaser/training/loop.py" not in files


def test_the_proposed_model_depends_on_no_loader_audio_predict_report_or_slurm_code():
    """An edit of a corpus loader, predict's plots, the report or the Slurm submitter re-trains no model."""
    files = {str(f.relative_to(REPO)) for f in closure(REPO / "stages/train.py")}
    outside = ("src/ecaser/data/corpora", "src/ecaser/data/audio.py", "src/ecaser/data/features.py",
               "src/ecaser/data/dslstm_features.py", "src/ecaser/commands", "src/ecaser/report")
    assert not [f for f in files if f.startswith(outside)]
    assert {"src/ecaser/training/loop.py", "src/ecaser/models/cnn.py", "src/ecaser/training/losses.py",
            "src/ecaser/training/folds.py", "src/ecaser/evaluation/metrics.py", "src/ecaser/infra/params.py"} <= files


@pytest.mark.parametrize("stage, dep", [("stft", "src/ecaser/infra/params.py"), ("train_eca", "src/ecaser/models/cnn.py"),
                                        ("segment", "src/ecaser/data/corpora"),
                                        ("report", "src/ecaser/training/experiments.py")])
def test_removing_a_dep_from_dvc_yaml_is_caught(tmp_path, stage, dep):
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    body = pipeline["stages"][stage].get("do", pipeline["stages"][stage])
    assert dep in body["deps"]
    body["deps"].remove(dep)
    edited = tmp_path / "dvc.yaml"
    edited.write_text(yaml.safe_dump(pipeline))
    assert stage in uncovered(edited)


def test_the_report_does_not_depend_on_what_only_training_runs():
    """Editing the training loop re-runs the training stages, and through their outputs the report; editing
    the report must not re-train anything, so no training stage lists report code."""
    for name, _, deps in stages(REPO / "dvc.yaml"):
        if name != "report":
            assert not [d for d in deps if d.startswith("src/ecaser/report")], name


def duplicates(params_file):
    """{Run: its stages} for every Run that more than one training stage trains."""
    by_run = {}
    for name, run in plan.planned(REPO / "dvc.yaml", REPO / params_file):
        by_run.setdefault(run, []).append(name)
    return {run: names for run, names in by_run.items() if len(names) > 1}


def test_each_distinct_run_of_the_default_pipeline_is_trained_once():
    assert duplicates("params.yaml") == {}


@pytest.mark.parametrize("config", ["configs/paper-emodb.yaml", "configs/paper-iemocap.yaml"])
def test_at_paper_scale_only_the_proposed_model_is_also_a_cell_of_fig_8(config):
    """Table 6's weighted-focal CNN is the sweep's run at model.*, and Fig. 9's last-2 cells are Fig. 8's runs on
    model.version. The one run left twice: train_eca, which follows eca.* and saves the model, is also Fig. 8's
    kernel-7 cell on v8 (a DVC matrix cannot leave out one cell)."""
    assert list(duplicates(config).values()) == [["train_eca_kernels@v8-7", "train_eca"]]


@pytest.mark.parametrize("config", ["configs/paper-emodb.yaml", "configs/paper-iemocap.yaml"])
def test_every_cell_of_fig_9_is_trained_at_paper_scale(config):
    """The cells of Fig. 9 left out of eca_blocks.last are there through experiments.borrowed."""
    p = plan.params_without_data(REPO / config)
    trained = {run for _, run in plan.planned(REPO / "dvc.yaml", REPO / config)}
    cells = {experiments.train_eca_blocks(p, k, kernel) for k in range(1, 7) for kernel in (3, 5, 7, 9)}
    assert cells <= trained and set(experiments.borrowed(p)) == {f"eca_blocks/last2-k{k}" for k in (3, 5, 7, 9)}


def test_the_report_depends_on_every_family_it_reads_and_each_such_folder_always_exists():
    """Every family the report reads (collect.FAMILIES, cross_corpus, and field.py's eGeMAPS and probes) is a dep,
    results/ and metrics/ alike, so a new run of it re-runs the report; the probes' and the protocols' folders, which
    no stage makes while ssl.models or protocols.others is empty, hold a README that Git tracks, so DVC never meets a
    missing dependency."""
    import subprocess

    from ecaser.report import collect, field

    deps = dict((name, deps) for name, _, deps in stages(REPO / "dvc.yaml"))["report"]
    for family in (*collect.FAMILIES, "cross_corpus", *field.BASELINES):
        assert {f"results/{family}", f"metrics/{family}"} <= set(deps), family
    folders = ["metrics/protocol", "metrics/ssl_probe", "results/protocol", "results/ssl_probe"]
    tracked = subprocess.run(["git", "ls-files", *folders], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    assert tracked == [f"{folder}/README.md" for folder in folders]
    # and nothing a probe or a protocol's run writes would be committed beside them
    written = ["results/ssl_probe/x/predictions.csv", "metrics/ssl_probe/x.json", "results/protocol/text/scores.json",
               "metrics/protocol/text.json"]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *written], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    assert ignored == written


def test_every_training_stage_is_one_the_cluster_grid_runs_as_a_gpu_array_task():
    """commands/slurm.py tells training stages from the rest by name (its TRAINING pattern); a stage that trains under
    another name would run in the report's CPU job instead, at paper scale for days."""
    from ecaser.commands import slurm

    trainers = {"stages/train.py", "stages/train_egemaps.py", "stages/probe_ssl.py"}
    for name, script, _ in stages(REPO / "dvc.yaml"):
        trains = str(script.relative_to(REPO)) in trainers
        assert trains == bool(slurm.TRAINING.fullmatch(f"{name}@item")), name  # a foreach stage resolves to NAME@ITEM
