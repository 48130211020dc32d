import copy
from pathlib import Path

import pytest
import yaml

from ecaser.data import corpora
from ecaser.infra import params
from ecaser.infra.errors import InputError

REPO = Path(__file__).resolve().parents[1]
REPO_PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def edited(key, value):
    p = copy.deepcopy(REPO_PARAMS)
    node = p
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return p


@pytest.mark.parametrize(
    "version, win, hop, n_fft", [("v1", 240, 160, 256), ("v4", 480, 160, 512), ("v8", 800, 160, 1024)]
)
def test_stft_versions_match_table_1(version, win, hop, n_fft):
    s = params.stft_version(REPO_PARAMS, version)
    assert (s["win_length"], s["hop_length"], s["n_fft"], s["n_mels"]) == (win, hop, n_fft, 64)


def test_every_version_shares_the_10_ms_hop():
    hops = {params.stft_version(REPO_PARAMS, v)["hop_length"] for v in REPO_PARAMS["stft"]["versions"]}
    assert hops == {160}


@pytest.mark.parametrize("overlap", [25, 30])
def test_overlap_not_below_window_is_refused(overlap):
    p = edited("stft.versions.v3.overlap_ms", overlap)
    with pytest.raises(InputError, match=r"'stft.versions.v3.overlap_ms' must be >= 0 and < window_ms"):
        params.stft_version(p, "v3")


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("data.corpus", "casia", "'data.corpus' must be one of"),
        ("data.segment_s", 0, "'data.segment_s' must be a positive"),
        ("data.segment_s", -3, "'data.segment_s' must be a positive"),
        ("data.sample_rate", 16000.5, "'data.sample_rate' must be a positive int"),
        ("data.synthetic_size", 0, "'data.synthetic_size' must be a positive"),
    ],
)
def test_invalid_data_params_name_the_key(key, value, message):
    with pytest.raises(InputError, match=message):
        corpora.data(edited(key, value))


def test_real_corpus_needs_a_root():
    with pytest.raises(InputError, match="'data.root' must name the emodb folder"):
        corpora.data(edited("data.corpus", "emodb"))


def test_missing_key_is_named():
    p = copy.deepcopy(REPO_PARAMS)
    del p["stft"]["n_mels"]
    with pytest.raises(InputError, match="missing key 'stft.n_mels'"):
        params.stft_version(p, "v1")


def keys(node, prefix=""):
    """Every key path; a config's own cross-corpus targets (each corpus scored on the others) count as one."""
    if not isinstance(node, dict) or prefix == ".cross_corpus.targets":
        return {prefix}
    return set().union(*(keys(v, f"{prefix}.{k}") for k, v in node.items()))


@pytest.mark.parametrize("name, corpus, segment_s", [("paper-emodb", "emodb", 3.0), ("paper-iemocap", "iemocap", 6.0)])
def test_paper_scale_configs_match_params_yaml_key_for_key(name, corpus, segment_s):
    paper = yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text())
    assert keys(paper) == keys(REPO_PARAMS)
    paper["data"]["root"] = "/corpus"
    data = params.data(paper)
    assert (data["corpus"], data["segment_s"]) == (corpus, segment_s)
    assert paper["train"]["epochs"] == 100 and paper["cv"]["folds"] == 5 and paper["model"]["channel_scale"] == 4
    assert paper["sweep"]["channel_scales"] == list(range(1, 9)) and len(paper["sweep"]["versions"]) == 8


@pytest.mark.parametrize("path", ["params.yaml", "configs/paper-emodb.yaml", "configs/paper-iemocap.yaml"])
def test_the_sweep_holds_the_cnn_that_table_6_and_every_later_experiment_build_on(path):
    """Table 6's weighted-focal CNN is the sweep's run at model.version and model.channel_scale, trained once."""
    p = yaml.safe_load((REPO / path).read_text())
    assert p["model"]["version"] in p["sweep"]["versions"]
    assert p["model"]["channel_scale"] in p["sweep"]["channel_scales"]
    # Fig. 7 draws the original ECA's line beside the sweep's line at model.channel_scale, version by version
    assert set(p["eca_original"]["versions"]) <= set(p["sweep"]["versions"])
    assert p["model"]["version"] in p["eca_original"]["versions"]  # Table 6's "+ original ECA" is that run


def test_precision_is_a_param_and_must_be_known():
    assert params.training(REPO_PARAMS)["precision"] == "float32"
    with pytest.raises(InputError, match="'train.precision' must be one of float32, bfloat16, got 'float16'"):
        params.training(edited("train.precision", "float16"))


@pytest.mark.parametrize("path", ["configs/paper-emodb.yaml", "configs/paper-iemocap.yaml"])
def test_paper_configs_train_the_eca_experiments_on_v8_and_sweep_every_version(path):
    """The paper's ECA experiments, Fig. 9 and Table 6 are on version 8 for both corpora; v6 is only IEMOCAP's
    best point of the channel sweep."""
    p = yaml.safe_load((REPO / path).read_text())
    assert p["model"]["version"] == "v8" and p["eca_kernels"]["versions"] == [f"v{i}" for i in range(1, 9)]
    assert p["sweep"]["versions"] == list(p["stft"]["versions"]) == [f"v{i}" for i in range(1, 9)]
    assert p["attention"]["types"] == ["se", "cbam", "mhsa", "area", "head_fusion", "stc"]


@pytest.mark.parametrize("path", ["params.yaml", "configs/paper-emodb.yaml", "configs/paper-iemocap.yaml"])
def test_the_final_augmentation_size_is_one_the_grid_trains(path):
    """Table 6's augmentation rows and predict's default model are the descending run at augment.final_size."""
    p = yaml.safe_load((REPO / path).read_text())
    assert "descending" in p["augment"]["orders"] and p["augment"]["final_size"] in p["augment"]["sizes"]
    if path == "configs/paper-emodb.yaml":
        assert p["augment"]["final_size"] == 6  # the paper's EMODB result: descending, "versions 8 to 3"
