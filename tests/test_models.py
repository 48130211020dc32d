import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ecaser.infra.errors import InputError
from ecaser.models import attention, cnn, registry, summary
from ecaser.report import collect
from ecaser.training import experiments, plan
from ecaser.models.attention import ECA, MHSA, adaptive_kernel
from ecaser.models.cnn import CNN

REPO = Path(__file__).resolve().parents[1]


def build(classes, channel_scale, blocks):
    """The CNN at base width 16 with ECA k = 7 after `blocks`, through the one model description."""
    return cnn(range(classes), channel_scale, 16, "eca", blocks, 7).build()


@pytest.mark.parametrize("frames", [301, 601])  # EMODB 3 s, IEMOCAP 6 s
@pytest.mark.parametrize("channel_scale", [1, 4])
@pytest.mark.parametrize("attention_blocks", [(), (5, 6)])
def test_output_shape(frames, channel_scale, attention_blocks):
    model = CNN(7, channel_scale, 16, attention_blocks, "eca", 7).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 64, frames)).shape == (2, 7)
        assert model(torch.randn(2, 64, frames)).shape == (2, 7)  # channel axis added


def test_parameter_count_matches_paper_table_4():
    model = build(4, 4, (5, 6))
    assert [b.conv.out_channels for b in model.blocks] == [64, 128, 192, 256, 320, 384]
    assert summary(model, [(64, 301)])["parameters"] == 2_734_482
    assert summary(build(4, 4, ()), [(64, 301)])["parameters"] == 2_734_482 - 2 * 7


def test_eca_matches_hand_computation():
    eca = ECA(3).double()
    kernel = np.array([0.5, -1.0, 2.0])
    with torch.no_grad():
        eca.conv.weight.copy_(torch.tensor(kernel).view(1, 1, 3))
    x = np.arange(2 * 5 * 2 * 3, dtype=np.float64).reshape(2, 5, 2, 3) / 10 - 1.5
    pooled = x.mean(axis=(2, 3))
    padded = np.pad(pooled, ((0, 0), (1, 1)))
    mixed = np.stack([padded[:, c:c + 3] @ kernel for c in range(5)], axis=1)  # cross-correlation, as torch
    weights = 1 / (1 + np.exp(-mixed))
    out = eca(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), x * weights[:, :, None, None], rtol=1e-12)
    np.testing.assert_allclose(eca.weights.numpy(), weights, rtol=1e-12)
    assert not eca.weights.requires_grad


@pytest.mark.parametrize("kernel", [0, -3, 4, 6.0, "7", True])
def test_eca_rejects_bad_kernel(kernel):
    with pytest.raises(ValueError, match="an ECA kernel must be an odd integer"):
        ECA(kernel)


@pytest.mark.parametrize("family, items, key", [
    ("train_eca", [], "eca.kernel"),
    ("train_eca_kernels", ["v8", "4"], "eca_kernels.kernels"),
    ("train_eca_blocks", ["6", "4"], "eca_blocks.kernels"),
])
def test_a_bad_kernel_is_refused_naming_the_key_it_was_set_in(family, items, key):
    p = plan.params_without_data(REPO / "params.yaml")
    p["eca"]["kernel"] = 4
    with pytest.raises(InputError, match=f"params: '{key}' must be an odd integer >= 1, got"):
        experiments.define(p, family, items)


@pytest.mark.parametrize("family, items, key", [("train_attention", ["gate"], "attention.types"),
                                                ("train_eca_blocks", ["7", "7"], "eca_blocks.last"),
                                                ("train_cnn_sweep", ["v8", "x"], "sweep.channel_scales")])
def test_other_bad_items_name_their_key(family, items, key):
    with pytest.raises(InputError, match=f"params: '{key}'"):
        experiments.define(plan.params_without_data(REPO / "params.yaml"), family, items)


class Gate(nn.Module):
    """A toy attention module: a learned sigmoid gate per channel."""

    def __init__(self, channels):
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x * self.gate.sigmoid()[:, None, None]


def test_a_new_attention_module_is_its_class_a_registry_line_and_params(monkeypatch):
    """The bar of one concept, one place: nothing else is edited for the CNN to train it and the report to name it."""
    monkeypatch.setattr(attention, "Gate", Gate, raising=False)
    monkeypatch.setitem(registry.ATTENTION, "gate", registry.Module("Gate", "channel gate"))
    p = plan.params_without_data(REPO / "params.yaml")
    p["attention"]["types"] = ["gate"]
    run = experiments.define(p, "train_attention", ["gate"])
    model = run.model.build()
    gated = [number for number, block in enumerate(model.blocks, start=1)
             if isinstance(getattr(block, "attention", None), Gate)]
    assert gated == list(p["eca"]["blocks"])
    assert model(torch.zeros(2, 64, 40)).shape == (2, len(run.model.classes))
    assert collect.describe(collect.config_of(run)).endswith("+ channel gate (blocks 5, 6)")


def test_adaptive_kernel_is_eca_nets_rule():
    # t = int(|(log2 C + 1) / 2|), made odd: e.g. 256 -> 4.5 -> 4 -> 5, 2048 -> 6 -> 7, 64 -> 3.5 -> 3
    expected = {16: 3, 64: 3, 128: 5, 192: 5, 256: 5, 320: 5, 384: 5, 512: 5, 2048: 7}
    assert {c: adaptive_kernel(c) for c in expected} == expected


def test_original_eca_uses_adaptive_kernel_in_every_block():
    model = CNN(4, 4, 16, range(1, 7), "eca", "adaptive")
    assert [b.attention.conv.kernel_size[0] for b in model.blocks] == [3, 5, 5, 5, 5, 5]


def test_eca_weights_of_last_forward_pass():
    model = CNN(4, 1, 16, (5, 6), "eca", 3).eval()
    with torch.no_grad():
        model(torch.randn(3, 1, 64, 64))
    weights = model.eca_weights()
    assert sorted(weights) == [5, 6]
    assert weights[5].shape == (3, 80) and weights[6].shape == (3, 96)
    assert ((weights[6] > 0) & (weights[6] < 1)).all()
    assert CNN(4, 1, 16).eca_weights() == {}


def test_he_initialisation():
    model = CNN(4, 4, 16)
    conv = model.blocks[5].conv  # fan_in 320 * 9, 1.1 M weights
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (320 * 9)), rel=0.01)
    assert (conv.bias == 0).all() and (model.head[1].bias == 0).all()


@pytest.mark.parametrize(
    "kwargs, key",
    [({"channel_scale": 0}, "model.channel_scale"),
     ({"attention_blocks": (0, 5)}, "eca.blocks"),
     ({"attention_blocks": (7,)}, "eca.blocks")],
)
def test_cnn_rejects_bad_params(kwargs, key):
    with pytest.raises(InputError, match=key) as error:
        CNN(4, **{"channel_scale": 1, "base_channels": 16, "attention": "eca", "eca_kernel": 7, **kwargs})
    assert "\n" not in str(error.value)


def test_flops_of_one_conv_layer():
    # 2 FLOPs per multiply-add: 2 * in 1 * out 4 * 3 * 3 * 8 * 8 positions; the bias is not counted
    assert summary(nn.Conv2d(1, 4, 3, padding=1), [(1, 8, 8)]) == {"parameters": 40, "flops": 2 * 4 * 9 * 64}


def test_flops_of_fused_lstm_and_attention_are_counted():
    # an LSTM step: 4 gates of H from D inputs and H states; attention: Q, K, V, QK^T, AV and the output projection
    steps, d, h = 5, 3, 4
    lstm = summary(nn.LSTM(d, h, batch_first=True), [(steps, d)])["flops"]
    assert lstm == 2 * steps * 4 * h * (d + h)
    tokens, c = 6, 8
    attention = summary(MHSA(c, heads=2), [(c, 2, 3)])["flops"]
    assert attention == 2 * tokens * c * 3 * c + 2 * 2 * tokens * tokens * c + 2 * tokens * c * c
    assert torch.backends.mha.get_fastpath_enabled()  # restored


def test_flops_of_the_cnn_by_hand():
    model = build(3, 1, (5, 6)).train()
    flops, height, width, c_in = 0, 64, 32, 1
    for block in range(1, 7):
        c_out = 16 * block
        flops += 2 * c_in * c_out * 9 * height * width
        if block >= 5:
            flops += 2 * 7 * c_out  # the ECA's 1-D conv across channels
        height, width, c_in = height // 2, width // 2, c_out
    flops += 2 * 96 * 96 + 2 * 96 * 3
    assert summary(model, [(64, 32)])["flops"] == flops
    assert model.training  # summary puts the mode back


def test_model_summary_command_prints_the_papers_parameter_count(capsys):
    from ecaser.commands.cli import main

    main(["model-summary", "--params", str(REPO / "params.yaml"), "--channel-scale", "4", "--classes", "4",
          "--blocks", "5", "6",
          "--eca-kernel", "7", "--input", "64x301"])
    out = capsys.readouterr().out
    assert "parameters  2,734,482" in out and "FLOPs" in out


def test_model_summary_refuses_a_malformed_input_size(capsys):
    from ecaser.commands.cli import main

    with pytest.raises(SystemExit):
        main(["model-summary", "--input", "64by601"])
    assert "error: --input must look like 64x601" in capsys.readouterr().err
