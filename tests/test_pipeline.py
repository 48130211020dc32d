"""The DVC pipeline end to end, in temporary copies of the repository on a tiny synthetic corpus.

One repository is built per module and shared by the tests that only read it or change params they restore;
tests whose stage must fail get a fresh clone of it (tracked files only, nothing built). Marked `pipeline`:
`pytest -m "not pipeline"` skips them in a quick local run; CI runs everything.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from corpus_fixtures import RAVDESS_SONG, RAVDESS_SPEECH, make_emodb, make_ravdess, write_wav
from dvc.api import read as dvc_read

pytestmark = pytest.mark.pipeline
REPO = Path(__file__).resolve().parents[1]
FAST = {"data.synthetic_size": 0.05, "train.epochs": 1, "cv.folds": 2, "model.channel_scale": 1}
SMALL_AUGMENT = {"augment.orders": ["descending"], "augment.sizes": [2], "augment.final_size": 2}  # the final model's grid


def dvc(repo, *args, check=True, env=None):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(env or {}))
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


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


def ran(result):
    """The stages a `dvc repro` ran."""
    return {line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("Running stage")}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A committed copy of the repository at test size, nothing built: clone it for a fresh repository."""
    root = tmp_path_factory.mktemp("template")
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore", "results/ssl_probe/README.md",
                 "metrics/ssl_probe/README.md", "results/protocol/README.md", "metrics/protocol/README.md"):
        # the probes' and protocols' folders stand, empty, while ssl.models and protocols.others are empty
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    for name in ("stages", "src"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    dvc(root, "config", "core.analytics", "false")
    set_params(root, **FAST)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "copy")
    return root


def clone(template, path):
    git(template.parent, "clone", "-q", str(template), str(path))
    return path


@pytest.fixture(scope="module")
def repo(template, tmp_path_factory):
    """The shared built repository: the stages the tests below read, run once."""
    root = clone(template, tmp_path_factory.mktemp("built") / "repo")
    dvc(root, "repro", "stft@v1", "train_eca", "train_cnn_sweep@v8-1", "train_dslstm", "train_attention@area")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "run")
    return root


@pytest.fixture
def restored(repo):
    """The shared repository, its params.yaml put back after the test."""
    before = (repo / "params.yaml").read_text()
    yield repo
    (repo / "params.yaml").write_text(before)


def test_segment_and_stft_stages_run_cache_and_rerun_selectively(restored):
    repo = restored
    manifest = (repo / "data/segments/manifest.csv").read_text().splitlines()
    n = len(manifest) - 1
    audio = np.load(repo / "data/segments/audio.npy", mmap_mode="r")
    assert audio.shape == (n, 48000) and audio.dtype == np.float32
    v1 = np.load(repo / "data/features/v1.npy", mmap_mode="r")
    v8 = np.load(repo / "data/features/v8.npy", mmap_mode="r")
    assert v1.shape == v8.shape == (n, 64, 301) and v1.dtype == np.float16
    assert np.isfinite(v1).all() and not np.array_equal(v1, v8)

    assert ran(dvc(repo, "repro", "stft@v1", "stft@v8")) == {"corpus"}  # the fingerprint is re-taken, no more

    set_params(repo, **{"stft.versions.v8.window_ms": 45, "stft.versions.v8.overlap_ms": 35})
    assert ran(dvc(repo, "repro", "stft@v1", "stft@v8")) == {"corpus", "stft@v8"}
    git(repo, "checkout", "dvc.lock")  # the shared repository's v8 again
    dvc(repo, "checkout", "-f", "stft@v8")


def test_settings_that_change_no_number_are_outside_every_cache_key(restored):
    """Device, folds side by side, feature batch and progress bars: no stage re-runs when they change."""
    repo = restored
    p = yaml.safe_load((repo / "params.yaml").read_text())
    keys = {f"{section}.{key}" for section, body in p.items() for key in body}
    assert not keys & {"train.device", "train.parallel_folds", "stft.batch_size"}
    env = {"ECASER_DEVICE": "cpu", "ECASER_PARALLEL_FOLDS": "1", "ECASER_STFT_BATCH": "7", "TQDM_DISABLE": "1"}
    stages = ["stft@v8", "train_eca", "train_cnn_sweep@v8-1", "train_dslstm", "dslstm_features"]
    assert json.loads(dvc(repo, "status", "--json", *stages, env=env).stdout) == {}
    assert ran(dvc(repo, "repro", *stages, env=env)) == {"corpus"}
    # precision does change numbers: it is a param, recorded in each run's config
    config = json.loads((repo / "results/eca/proposed/config.json").read_text())
    assert config["training"]["precision"] == "float32"
    set_params(repo, **{"train.precision": "bfloat16"})
    assert "train_eca" in json.loads(dvc(repo, "status", "--json", "train_eca").stdout)


def test_edits_that_decide_no_number_leave_every_training_stage_up_to_date(restored):
    """A comment added to every corpus loader, predict, the report's text, the Slurm submitter and the three modules
    left out of the deps (runtime, progress, checkpoint) re-trains nothing; the segment stage, which reads a loader,
    does see it (so the check can fail)."""
    repo = restored
    package = repo / "src/ecaser"
    edited = [*sorted((package / "data/corpora").glob("*.py")), package / "commands/predict.py",
              package / "report/markdown.py", package / "commands/slurm.py", package / "infra/runtime.py",
              package / "infra/progress.py", package / "training/checkpoint.py"]
    texts = {path: path.read_text() for path in edited}
    trained = ["train_eca", "train_cnn_sweep@v8-1", "train_dslstm", "train_attention@area"]
    try:
        for path in edited:
            path.write_text(texts[path] + "# an edit that decides no number\n")
        assert json.loads(dvc(repo, "status", "--json", *trained).stdout) == {}
        assert "segment" in json.loads(dvc(repo, "status", "--json", "segment").stdout)
    finally:
        for path, text in texts.items():
            path.write_text(text)


def test_an_unknown_device_is_refused_with_one_line(template, tmp_path):
    repo = clone(template, tmp_path / "repo")
    dvc(repo, "repro", "stft@v8")
    result = dvc(repo, "repro", "train_eca", check=False, env={"ECASER_DEVICE": "gpu0"})
    assert result.returncode != 0
    assert "error: ECASER_DEVICE must be auto, cpu, cuda or cuda:N, got 'gpu0'" in result.stderr
    assert "Traceback" not in result.stderr and not (repo / "results/eca").exists()


def test_invalid_overlap_is_refused_with_one_line_and_no_output(template, tmp_path):
    repo = clone(template, tmp_path / "repo")
    set_params(repo, **{"stft.versions.v2.overlap_ms": 20})
    result = dvc(repo, "repro", "stft@v2", check=False)
    assert result.returncode != 0
    assert "error: params: 'stft.versions.v2.overlap_ms' must be >= 0 and < window_ms (20)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (repo / "data/features/v2.npy").exists()


def test_missing_corpus_folder_leaves_no_segments(template, tmp_path):
    repo = clone(template, tmp_path / "repo")
    set_params(repo, **{"data.corpus": "emodb", "data.root": str(tmp_path / "nowhere")})
    result = dvc(repo, "repro", "segment", check=False)
    assert result.returncode != 0
    assert f"error: {tmp_path / 'nowhere'}: emodb corpus folder not found" in result.stderr
    assert not [p for p in (repo / "data").rglob("*") if p.is_file()]


def test_another_corpus_segments_through_the_pipeline_and_says_what_it_left_out(template, tmp_path):
    make_ravdess(tmp_path / "ravdess")
    repo = clone(template, tmp_path / "repo")
    set_params(repo, **{"data.corpus": "ravdess", "data.root": str(tmp_path / "ravdess"), "data.segment_s": 0.5})
    result = dvc(repo, "repro", "segment")
    assert "ravdess: left out 2 song files (vocal channel 02)" in result.stdout
    assert len((repo / "data/segments/manifest.csv").read_text().splitlines()) == 1 + len(RAVDESS_SPEECH)
    fingerprint = (repo / "data/corpus/fingerprint.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in fingerprint[1:]] == sorted({*RAVDESS_SPEECH, *RAVDESS_SONG})


@pytest.mark.parametrize("method", ["content", "stat"])
def test_a_changed_added_or_removed_corpus_file_reruns_segment_and_nothing_else_does(template, tmp_path, method):
    corpus = tmp_path / "emodb"
    make_emodb(corpus, ["03a01Wa.wav", "08a02La.wav", "09a04Eb.wav", "10a05Aa.wav", "13b01Fc.wav", "14b02Ta.wav"])
    repo = clone(template, tmp_path / "repo")
    set_params(repo, **{"data.corpus": "emodb", "data.root": str(corpus), "data.fingerprint": method,
                        "data.segment_s": 0.5})
    assert ran(dvc(repo, "repro", "segment")) == {"corpus", "segment"}
    assert ran(dvc(repo, "repro", "segment")) == {"corpus"}

    wav = corpus / "wav/03a01Wa.wav"
    later = wav.stat().st_mtime_ns + 10**9
    os.utime(wav, ns=(later, later))  # the same bytes, a new time: only the stat fingerprint sees it
    assert ran(dvc(repo, "repro", "segment")) == ({"corpus", "segment"} if method == "stat" else {"corpus"})

    write_wav(wav, 0.25)  # new samples
    assert ran(dvc(repo, "repro", "segment")) == {"corpus", "segment"}
    make_emodb(corpus, ["16b09Wd.wav"])
    assert ran(dvc(repo, "repro", "segment")) == {"corpus", "segment"}
    assert len((repo / "data/segments/manifest.csv").read_text().splitlines()) == 1 + 7
    (corpus / "wav/08a02La.wav").unlink()
    assert ran(dvc(repo, "repro", "segment")) == {"corpus", "segment"}
    fingerprint = (repo / "data/corpus/fingerprint.tsv").read_text().splitlines()
    assert fingerprint[0].startswith(f"# emodb, {method}") and len(fingerprint) == 1 + 6
    assert not any("08a02La" in line for line in fingerprint)


def test_eca_kernel_change_reaches_the_model_and_touches_only_the_proposed_model(restored):
    repo = restored
    metrics = json.loads((repo / "metrics/eca/proposed.json").read_text())
    assert set(metrics) == {"UA", "WA", "ACC", "F1", "calibration", "audit", "model"}  # what `dvc exp show` compares
    assert set(metrics["calibration"]) == {"ECE", "Brier", "log_loss"}
    assert set(metrics["UA"]) == {"mean", "low", "high"} and 0 <= metrics["UA"]["mean"] <= 100
    assert metrics["UA"]["low"] <= metrics["UA"]["mean"] <= metrics["UA"]["high"]
    scores = json.loads((repo / "results/eca/proposed/scores.json").read_text())
    assert set(scores["folds"]) == {"1", "2"} and len(scores["recall"]) == 7
    assert set(scores) == {"std", "best_test_epoch", "best_epoch_each", "folds", "recall", "audit"}
    predictions = (repo / "results/eca/proposed/predictions.csv").read_text().splitlines()
    assert len(predictions) - 1 == len((repo / "data/segments/manifest.csv").read_text().splitlines()) - 1
    assert (repo / "results/eca/proposed/eca_weights.json").exists()

    def eca_kernels():
        """The kernel of every ECA conv in every saved fold model, and the kernel config.json records."""
        bundle = torch.load(repo / "models/eca.pt", weights_only=True)
        shapes = {tuple(w.shape) for fold in bundle["folds"] for key, w in fold["state_dict"].items()
                  if key.endswith("attention.conv.weight")}
        config = json.loads((repo / "results/eca/proposed/config.json").read_text())
        return shapes, config["model"]["eca_kernel"], config["model"]["attention_blocks"]

    assert eca_kernels() == ({(1, 1, 7)}, 7, [5, 6])
    set_params(repo, **{"eca.kernel": 3})
    stages = ["train_eca", "train_cnn_sweep@v8-1", "train_dslstm", "train_attention@area"]
    assert list(json.loads(dvc(repo, "status", "--json", *stages).stdout)) == ["train_eca"]
    dvc(repo, "repro", "train_eca")
    assert eca_kernels() == ({(1, 1, 3)}, 3, [5, 6])
    diff = json.loads(dvc(repo, "metrics", "diff", "--json", "--all").stdout)
    assert diff["metrics/eca/proposed.json"]["UA.mean"]["old"] == metrics["UA"]["mean"]
    (repo / "params.yaml").write_text(subprocess.run(["git", "show", "HEAD:params.yaml"], cwd=repo, text=True,
                                                     capture_output=True, check=True).stdout)
    assert ran(dvc(repo, "repro", "train_eca")) == {"corpus"}  # the kernel-7 run comes back from the run-cache
    assert eca_kernels() == ({(1, 1, 7)}, 7, [5, 6])


def test_augment_train_trains_the_grid_and_keeps_the_final_model_and_eca_changes_only_its_eca_half(restored):
    repo = restored
    set_params(repo, **SMALL_AUGMENT)
    stages = ran(dvc(repo, "repro", "augment_train"))
    assert {"augment_cnn@descending-2", "augment_eca@descending-2", "augment_train"} <= stages
    final = repo / "models/eca_augmented.pt"
    assert final.read_bytes() == (repo / "models/augment_eca/descending-2.pt").read_bytes()
    bundle = torch.load(final, weights_only=True)
    assert len(bundle["folds"]) == 2 and bundle["model"]["attention"] == "eca"
    gathered = json.loads((repo / "metrics/augment.json").read_text())
    eca = json.loads((repo / "metrics/augment_eca/descending-2.json").read_text())
    assert gathered == {"ACC": {"cnn": {"descending-2": json.loads(
        (repo / "metrics/augment_cnn/descending-2.json").read_text())["ACC"]}, "eca": {"descending-2": eca["ACC"]}},
        "final": "augment_eca/descending-2"}

    set_params(repo, **{"eca.kernel": 3})
    assert ran(dvc(repo, "repro", "augment_train")) == {"corpus", "augment_eca@descending-2", "augment_train"}
    assert final.read_bytes() == (repo / "models/augment_eca/descending-2.pt").read_bytes()


def test_a_second_clone_restores_a_training_stage_from_the_remotes_run_cache(restored, template, tmp_path):
    """Machine A trains and pushes its run-cache; machine B, with no dvc.lock of A's, restores instead of training.
    The metrics files are DVC-cached for this: DVC pushes no object of a `cache: false` output, so B would
    re-train to remake it."""
    remote = tmp_path / "remote"
    a, b = restored, clone(template, tmp_path / "b")
    for repo in (a, b):
        dvc(repo, "remote", "add", "--local", "-f", "lab", str(remote))
        dvc(repo, "remote", "default", "--local", "lab")
    dvc(a, "push", "--run-cache")
    assert not (b / "dvc.lock").exists()
    assert ran(dvc(b, "repro", "--pull", "train_eca")) == {"corpus"}  # segment, stft@v8, train_eca: restored
    for path in ("metrics/eca/proposed.json", "models/eca.pt", "results/eca/proposed/predictions.csv",
                 "data/features/v8.npy"):
        assert (b / path).read_bytes() == (a / path).read_bytes(), path
    assert json.loads(dvc(b, "status", "--json", "train_eca").stdout) == {}


def test_even_eca_kernel_is_refused_before_training(template, tmp_path):
    repo = clone(template, tmp_path / "repo")
    dvc(repo, "repro", "stft@v8")
    set_params(repo, **{"eca.kernel": 4})
    result = dvc(repo, "repro", "train_eca", check=False)
    assert result.returncode != 0
    assert "error: params: 'eca.kernel' must be an odd integer >= 1, got 4" in result.stderr
    assert not (repo / "metrics/eca/proposed.json").exists() and not (repo / "results/eca").exists()


def test_baselines_train_in_the_pipeline_and_ignore_the_eca_kernel(restored):
    repo = restored
    n = len((repo / "data/segments/manifest.csv").read_text().splitlines()) - 1
    mfcc = np.load(repo / "data/dslstm/mfcc.npy", mmap_mode="r")
    assert mfcc.shape[:2] == (n, 39) and mfcc.dtype == np.float16 and np.isfinite(mfcc).all()
    for run in ("dslstm/published", "attention/area"):
        metrics = json.loads((repo / f"metrics/{run}.json").read_text())
        assert set(json.loads((repo / f"results/{run}/scores.json").read_text())["folds"]) == {"1", "2"}
        assert 0 <= metrics["UA"]["mean"] <= 100
        assert metrics["model"]["parameters"] > 0
    model = json.loads((repo / "results/attention/area/config.json").read_text())["model"]
    assert (model["attention"], model["attention_blocks"], model["eca_kernel"]) == ("area", [6], None)
    assert json.loads((repo / "results/dslstm/published/config.json").read_text())["loss"] == "cross_entropy"

    set_params(repo, **{"eca.kernel": 3})
    assert json.loads(dvc(repo, "status", "--json", "train_dslstm", "train_attention@area").stdout) == {}


def test_compare_takes_stage_names_and_refuses_an_unknown_one(restored):
    repo = restored
    run = [sys.executable, "-m", "ecaser", "compare", "train_eca", "train_cnn_sweep@v8-1", "--json"]
    result = json.loads(subprocess.run(run, cwd=repo, capture_output=True, text=True, check=True).stdout)
    assert result["folders"] == {"a": "results/eca/proposed", "b": "results/cnn_sweep/v8-n1"}
    n = len((repo / "data/segments/manifest.csv").read_text().splitlines()) - 1
    assert result["clips"] == n and result["folds"] == 2
    missing = subprocess.run([*run[:4], "train_nothing", "train_eca"], cwd=repo, capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.strip() == ("error: train_nothing: neither a results folder with predictions.csv nor a "
                                      "stage of dvc.yaml")


def test_compare_reads_named_experiments_from_dvcs_cache_and_refuses_another_corpus(template, tmp_path):
    """Two named experiments compared from DVC's cache, and a run under another corpus refused in one line."""
    repo = clone(template, tmp_path / "repo")
    dvc(repo, "exp", "run", "-n", "k7", "train_eca")
    dvc(repo, "exp", "run", "-n", "k3", "-S", "eca.kernel=3", "train_eca")
    (repo / "results/eca/proposed/predictions.csv").unlink()  # so nothing can come from the workspace
    command = [sys.executable, "-m", "ecaser", "compare"]
    result = json.loads(subprocess.run([*command, "k7:train_eca", "k3:train_eca", "--json"], cwd=repo,
                                       capture_output=True, text=True, check=True).stdout)
    for side, exp in (("a", "k7"), ("b", "k3")):  # each experiment's own metrics file, as DVC's API reads it
        ua = json.loads(dvc_read("metrics/eca/proposed.json", repo=str(repo), rev=exp))["UA"]["mean"]
        assert result["scores"]["UA"][side]["mean"] == pytest.approx(ua, abs=1e-9)
    assert result["a"] == "k7:train_eca" and result["folders"]["a"] == "results/eca/proposed"
    set_params(repo, **{"data.corpus": "synthetic-iemocap"})  # a commit of k3's run whose params name another corpus
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "another corpus")
    other = subprocess.run([*command, "k7:train_eca", "HEAD:results/eca/proposed"], cwd=repo, capture_output=True,
                           text=True)
    assert other.returncode == 2 and other.stderr.strip() == (
        "error: k7:train_eca was scored on synthetic-emodb, HEAD:results/eca/proposed on synthetic-iemocap: a paired "
        "comparison needs the same clips")
    unknown = subprocess.run([*command, "k9:train_eca", "k3:train_eca"], cwd=repo, capture_output=True, text=True)
    assert unknown.returncode == 2 and unknown.stderr.strip() == (
        "error: k9:train_eca: k9 is neither a DVC experiment (`dvc exp list`) nor a Git revision")
    bare = subprocess.run([*command, "k7", "k3"], cwd=repo, capture_output=True, text=True)
    assert bare.returncode == 2 and bare.stderr.strip() == (
        "error: k7: neither a results folder with predictions.csv nor a stage of dvc.yaml; name one of its runs, "
        "e.g. k7:train_eca")


def test_cross_corpus_scores_the_final_model_and_reruns_when_a_real_targets_files_change(restored, tmp_path):
    """The final model on two targets: a synthetic one, and an EMODB fixture tree whose edited WAV re-runs its
    stage (through the target's fingerprint) and no other."""
    repo, corpus = restored, tmp_path / "emodb"
    make_emodb(corpus, ["03a01Wa.wav", "08a02La.wav", "09a04Eb.wav", "10a05Aa.wav", "13b01Fc.wav", "14b02Ta.wav"])
    set_params(repo, **SMALL_AUGMENT, **{"cross_corpus.resamples": 100, "cross_corpus.targets": {
        "demo": {"corpus": "synthetic-iemocap", "root": None, "size": 0.02},
        "fixture": {"corpus": "emodb", "root": str(corpus)}}})
    targets = ("cross_corpus@demo", "cross_corpus@fixture")
    assert {"cross_corpus_files@fixture", *targets} <= ran(dvc(repo, "repro", *targets))
    fixture = json.loads((repo / "metrics/cross_corpus/fixture.json").read_text())
    assert (fixture["clips"], fixture["speakers"]) == (6, 6) and 0 <= fixture["UA"]["value"] <= 100
    assert "metrics/cross_corpus/demo.json" in dvc(repo, "metrics", "show").stdout

    assert ran(dvc(repo, "repro", *targets)) == {"corpus", "cross_corpus_files@demo", "cross_corpus_files@fixture"}
    write_wav(corpus / "wav/03a01Wa.wav", 0.25)
    assert ran(dvc(repo, "repro", *targets)) == {"corpus", "cross_corpus_files@demo", "cross_corpus_files@fixture",
                                                  "cross_corpus@fixture"}
