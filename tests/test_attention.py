import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ecaser.infra.errors import InputError
from ecaser.models.registry import ATTENTION
from ecaser.training import experiments, plan
from ecaser.models.attention import CBAM, ECA, MHSA, SE, STC, AreaAttention, HeadFusion, adaptive_kernel
from ecaser.models.cnn import CNN

REPO = Path(__file__).resolve().parents[1]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def bottleneck_params(c, r=16):
    h = max(1, c // r)
    return 2 * c * h + h + c


def stc_params(c, r=16):
    h = max(1, c // r)
    return bottleneck_params(c, r) + 2 * ((3 * c * h + h) + (h + 1))  # + spectral and temporal Conv1d pairs


# module factory and its paper's trainable-parameter count, written out independently of the module code
MODULES = {
    "eca": (lambda c: ECA(adaptive_kernel(c)), lambda c: adaptive_kernel(c)),
    "se": (SE, bottleneck_params),
    "cbam": (CBAM, lambda c: bottleneck_params(c) + 2 * 7 * 7 + 2),  # conv without bias, BN scale + shift
    "mhsa": (MHSA, lambda c: 4 * c * c + 4 * c),
    "area": (AreaAttention, lambda c: 3 * c * c + 3 * c),
    "head_fusion": (HeadFusion, lambda c: 4 * 3 * (c * c + c)),  # Q, K, V per head, each C -> C with a bias
    "stc": (STC, stc_params),
}


def trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def numpy_params(module):
    return {name: p.detach().numpy() for name, p in module.named_parameters()}


@pytest.mark.parametrize("channels", [16, 80, 96])
@pytest.mark.parametrize("kind", MODULES)
def test_shape_parameters_and_channels_last(kind, channels):
    make, count = MODULES[kind]
    torch.manual_seed(0)
    module = make(channels).eval()
    assert trainable(module) == count(channels)
    x = torch.randn(2, channels, 5, 7)
    with torch.no_grad():
        out = module(x)
        out_cl = module(x.to(memory_format=torch.channels_last))
    assert out.shape == x.shape
    torch.testing.assert_close(out_cl, out, rtol=1e-5, atol=1e-5)


def test_closed_forms_at_reduction_16():
    assert trainable(SE(16)) == 2 * 16 * 1 + 1 + 16 == 49
    assert trainable(SE(96)) == 2 * 96 * 6 + 6 + 96
    assert trainable(CBAM(80)) == 2 * 80 * 5 + 5 + 80 + 100
    assert trainable(SE(8)) == 2 * 8 * 1 + 1 + 8  # hidden width never below 1
    assert trainable(HeadFusion(16)) == 12 * 16 * 16 + 12 * 16 == 3264
    assert trainable(HeadFusion(80, heads=2)) == 6 * 80 * 80 + 6 * 80
    assert trainable(STC(16)) == 8 * 16 * 1 + 5 * 1 + 16 + 2 == 151
    assert trainable(STC(96)) == 8 * 96 * 6 + 5 * 6 + 96 + 2
    assert trainable(STC(8)) == 8 * 8 * 1 + 5 * 1 + 8 + 2


@pytest.mark.parametrize("kind", MODULES)
def test_gradients_reach_every_parameter(kind):
    torch.manual_seed(1)
    module = MODULES[kind][0](16).train()
    x = torch.randn(3, 16, 4, 6, requires_grad=True)
    module(x).sum().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("kind", MODULES)
def test_bf16_autocast_close_to_float32(kind):
    torch.manual_seed(2)
    module = MODULES[kind][0](32).eval()
    x = torch.randn(2, 32, 4, 6).to(memory_format=torch.channels_last)
    with torch.no_grad():
        reference = module(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = module(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out.float(), reference, rtol=0.05, atol=0.05)


def test_se_matches_numpy():
    torch.manual_seed(3)
    se = SE(32, reduction=4).double()
    p = numpy_params(se)
    x = np.random.default_rng(0).normal(size=(2, 32, 3, 5))
    hidden = np.maximum(x.mean(axis=(2, 3)) @ p["excite.0.weight"].T + p["excite.0.bias"], 0)
    weights = sigmoid(hidden @ p["excite.2.weight"].T + p["excite.2.bias"])
    out = se(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, x * weights[:, :, None, None], rtol=1e-12)


@pytest.mark.parametrize("training", [False, True])
def test_cbam_matches_numpy(training):
    torch.manual_seed(4)
    cbam = CBAM(32, reduction=4).double()
    with torch.no_grad():  # a batch norm that is not the identity
        cbam.spatial_bn.weight.fill_(1.5)
        cbam.spatial_bn.bias.fill_(-0.2)
        cbam.spatial_bn.running_mean.fill_(0.3)
        cbam.spatial_bn.running_var.fill_(2.0)
    cbam.train(training)
    p = numpy_params(cbam)
    x = np.random.default_rng(1).normal(size=(2, 32, 5, 6))

    def mlp(v):
        hidden = np.maximum(v @ p["channel_mlp.0.weight"].T + p["channel_mlp.0.bias"], 0)
        return hidden @ p["channel_mlp.2.weight"].T + p["channel_mlp.2.bias"]

    y = x * sigmoid(mlp(x.mean(axis=(2, 3))) + mlp(x.max(axis=(2, 3))))[:, :, None, None]
    maps = np.pad(np.stack([y.max(axis=1), y.mean(axis=1)], axis=1), ((0, 0), (0, 0), (3, 3), (3, 3)))
    kernel = p["spatial_conv.weight"][0]  # [2, 7, 7], cross-correlation as torch
    conv = sum(kernel[c, i, j] * maps[:, c, i:i + 5, j:j + 6] for c in range(2) for i in range(7) for j in range(7))
    mean, var = (conv.mean(), conv.var()) if training else (0.3, 2.0)
    normed = (conv - mean) / np.sqrt(var + 1e-5) * 1.5 - 0.2
    out = cbam(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, y * sigmoid(normed)[:, None], rtol=1e-10)
    if training:  # the reference's slow running statistics: momentum 0.01
        assert cbam.spatial_bn.running_mean.item() == pytest.approx(0.99 * 0.3 + 0.01 * conv.mean())


def test_mhsa_is_identity_without_output_projection():
    mhsa = MHSA(16)
    with torch.no_grad():
        mhsa.attention.out_proj.weight.zero_()
        mhsa.attention.out_proj.bias.zero_()
    x = torch.randn(2, 16, 3, 5)
    assert torch.equal(mhsa(x), x)


def test_mhsa_matches_explicit_heads():
    torch.manual_seed(5)
    c, heads = 8, 4
    mhsa = MHSA(c, heads).double()
    p = numpy_params(mhsa)
    x = np.random.default_rng(2).normal(size=(1, c, 2, 3))
    tokens = x.reshape(c, 6).T  # position (f, t) -> row f * 3 + t
    qkv = tokens @ p["attention.in_proj_weight"].T + p["attention.in_proj_bias"]
    q, k, v = np.split(qkv, 3, axis=1)
    d = c // heads
    per_head = [softmax(q[:, h * d:(h + 1) * d] @ k[:, h * d:(h + 1) * d].T / np.sqrt(d)) @ v[:, h * d:(h + 1) * d]
                for h in range(heads)]
    attended = np.concatenate(per_head, axis=1) @ p["attention.out_proj.weight"].T + p["attention.out_proj.bias"]
    expected = x + attended.T.reshape(1, c, 2, 3)
    np.testing.assert_allclose(mhsa(torch.tensor(x)).detach().numpy(), expected, rtol=1e-10)


def brute_force_area_attention(x, p, heads, max_height, max_width):
    """Every area enumerated explicitly: mean of its keys, sum of its values; per-head softmax over areas."""
    b, c, f, t = x.shape
    d = c // heads
    out = np.zeros_like(x)
    for n in range(b):
        tokens = x[n].reshape(c, f * t).T
        q, k, v = (tokens @ p[f"{name}.weight"].T + p[f"{name}.bias"] for name in ("query", "key", "value"))
        area_keys, area_values = [], []
        for height, width in itertools.product(range(1, max_height + 1), range(1, max_width + 1)):
            for top, left in itertools.product(range(f - height + 1), range(t - width + 1)):
                cells = [(top + i) * t + left + j for i in range(height) for j in range(width)]
                area_keys.append(k[cells].mean(axis=0))
                area_values.append(v[cells].sum(axis=0))
        area_keys, area_values = np.array(area_keys), np.array(area_values)
        for h in range(heads):
            s = slice(h * d, (h + 1) * d)
            for pos in range(f * t):
                weights = softmax(q[pos, s] @ area_keys[:, s].T / np.sqrt(d))
                out[n, s, pos // t, pos % t] = weights @ area_values[:, s]
    return out


@pytest.mark.parametrize("freq, time, max_height, max_width", [(3, 4, 3, 3), (3, 4, 2, 3), (2, 4, 3, 2), (1, 5, 3, 3)])
def test_area_attention_matches_brute_force(freq, time, max_height, max_width):
    torch.manual_seed(6)
    module = AreaAttention(8, heads=2, max_height=max_height, max_width=max_width).double()
    x = np.random.default_rng(3).normal(size=(2, 8, freq, time))
    # areas taller or wider than the map do not exist: clip as the module must
    expected = brute_force_area_attention(x, numpy_params(module), 2, min(max_height, freq), min(max_width, time))
    out = module(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-10)  # float64: exact up to rounding


def test_single_position_areas_are_multi_head_attention():
    torch.manual_seed(7)
    c, heads = 16, 4
    module = AreaAttention(c, heads, max_height=1, max_width=1)
    mha = nn.MultiheadAttention(c, heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([module.query.weight, module.key.weight, module.value.weight]))
        mha.in_proj_bias.copy_(torch.cat([module.query.bias, module.key.bias, module.value.bias]))
        mha.out_proj.weight.copy_(torch.eye(c))
        mha.out_proj.bias.zero_()
    x = torch.randn(2, c, 3, 5)
    tokens = x.flatten(2).transpose(1, 2)
    expected, _ = mha(tokens, tokens, tokens, need_weights=False)
    torch.testing.assert_close(module(x), expected.transpose(1, 2).reshape(x.shape), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", [MHSA, AreaAttention])
def test_heads_must_divide_channels(make):
    with pytest.raises(InputError, match="18 channels do not split into 4 heads"):
        make(18, heads=4)


def test_head_fusion_matches_numpy():
    torch.manual_seed(8)
    c, heads = 6, 3
    module = HeadFusion(c, heads).double()
    p = numpy_params(module)
    x = np.random.default_rng(4).normal(size=(2, c, 3, 4))
    expected = np.zeros_like(x)
    for n in range(2):
        tokens = x[n].reshape(c, 12).T  # position (f, t) -> row f * 4 + t
        projected = tokens @ p["project.weight"].T + p["project.bias"]  # [Q_1..Q_h | K_1..K_h | V_1..V_h]
        q, k, v = (np.split(part, heads, axis=1) for part in np.split(projected, 3, axis=1))
        per_head = [np.maximum(softmax(q[h] * k[h]) * v[h], 0) for h in range(heads)]
        expected[n] = np.mean(per_head, axis=0).T.reshape(c, 3, 4)
    np.testing.assert_allclose(module(torch.tensor(x)).detach().numpy(), expected, rtol=1e-12)


def test_head_fusion_pooled_is_the_authors_concatenation():
    """Their MACNN: per-head 1x1 convs, softmax over channels, heads concatenated along frequency, ReLU, GAP."""
    torch.manual_seed(9)
    c, heads = 8, 4
    module = HeadFusion(c, heads)
    weight, bias = module.project.weight.detach(), module.project.bias.detach()
    x = torch.randn(2, c, 5, 7)

    def conv(part, h):
        rows = slice((part * heads + h) * c, (part * heads + h + 1) * c)
        return nn.functional.conv2d(x, weight[rows, :, None, None], bias[rows])

    maps = [torch.softmax(conv(0, h) * conv(1, h), dim=1) * conv(2, h) for h in range(heads)]
    expected = torch.relu(torch.cat(maps, dim=2)).mean(dim=(2, 3))
    torch.testing.assert_close(module(x).mean(dim=(2, 3)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("heads", [0, -1, 2.0])
def test_head_fusion_rejects_bad_heads(heads):
    with pytest.raises(InputError, match="head fusion needs an integer number of heads"):
        HeadFusion(16, heads)


def test_stc_matches_numpy():
    torch.manual_seed(10)
    c, f, t = 32, 4, 6
    module = STC(c, reduction=8).double()
    p = numpy_params(module)
    x = np.random.default_rng(5).normal(size=(2, c, f, t))

    def axis_scores(name, pooled):  # pooled [B, C, L] -> [B, L]
        padded = np.pad(pooled, ((0, 0), (0, 0), (1, 1)))
        w, length = p[f"{name}.0.weight"], pooled.shape[2]  # [h, C, 3], cross-correlation as torch
        hidden = np.stack([np.einsum("hcj,bcj->bh", w, padded[:, :, i:i + 3]) for i in range(length)], axis=2)
        hidden = np.maximum(hidden + p[f"{name}.0.bias"][None, :, None], 0)
        return np.einsum("h,bhl->bl", p[f"{name}.2.weight"][0, :, 0], hidden) + p[f"{name}.2.bias"][0]

    hidden = np.maximum(x.mean(axis=(2, 3)) @ p["channel.0.weight"].T + p["channel.0.bias"], 0)
    channel = hidden @ p["channel.2.weight"].T + p["channel.2.bias"]
    spectral, temporal = axis_scores("spectral", x.mean(axis=3)), axis_scores("temporal", x.mean(axis=2))
    attention = sigmoid(channel[:, :, None, None] + spectral[:, None, :, None] + temporal[:, None, None, :])
    out = module(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, x * (1 + attention), rtol=1e-12)
    ratio = out / x
    assert (ratio > 1).all() and (ratio < 2).all()  # BAM's residual form: every position keeps at least x


def test_stc_spectral_and_temporal_branches_follow_their_axis():
    torch.manual_seed(11)
    module = STC(16, reduction=2).eval()
    x = torch.randn(1, 16, 4, 6)
    with torch.no_grad():
        module.channel[2].weight.zero_()
        module.channel[2].bias.zero_()
        module.temporal[2].weight.zero_()
        module.temporal[2].bias.zero_()
        gain = module(x) / x - 1  # the spectral branch alone: one weight per frequency bin, the same everywhere else
    torch.testing.assert_close(gain, gain[:, :1, :, :1].expand_as(gain))
    assert gain[0, 0, :, 0].std() > 1e-3  # and it does tell the bins apart


@pytest.mark.parametrize("kind", ["head_fusion", "stc"])
def test_new_modules_inside_the_cnn(kind):
    torch.manual_seed(12)
    model = CNN(4, 1, 16, attention_blocks=(5, 6), attention=kind, eca_kernel=7).eval()
    make, count = MODULES[kind]
    assert [type(model.blocks[b - 1].attention) for b in (5, 6)] == [make, make]
    plain = CNN(4, 1, 16)
    assert trainable(model) == trainable(plain) + count(80) + count(96)
    with torch.no_grad():
        out = model(torch.randn(2, 1, 64, 70).to(memory_format=torch.channels_last))
    assert out.shape == (2, 4) and torch.isfinite(out).all()


def test_an_unknown_attention_type_is_refused_listing_the_registry():
    p = plan.params_without_data(REPO / "params.yaml")
    with pytest.raises(InputError, match=f"'attention.types' entries must be one of {', '.join(ATTENTION)}, got 'bam'"):
        experiments.define(p, "train_attention", ["bam"])
