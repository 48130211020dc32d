"""Frozen SSL encoders: tiny randomly initialised models of every supported type, saved as local Hugging Face
folders, whose saved embeddings must equal transformers' own hidden states on a direct call, clip for clip; and bad
folders refused with one line, nothing written."""

import json
import math

import numpy as np
import pytest
import torch
from transformers import (BertConfig, Data2VecAudioConfig, Data2VecAudioModel, HubertConfig, HubertModel,
                          Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model, WavLMConfig, WavLMModel,
                          WhisperConfig, WhisperFeatureExtractor, WhisperModel)

from ecaser.baselines import ssl
from ecaser.infra.errors import InputError

SR = 16000
SMALL = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=(8, 8),
             conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2)
WAV2VEC2_LIKE = {"wav2vec2": (Wav2Vec2Config, Wav2Vec2Model), "hubert": (HubertConfig, HubertModel),
                 "wavlm": (WavLMConfig, WavLMModel), "data2vec-audio": (Data2VecAudioConfig, Data2VecAudioModel)}


def tiny(kind, folder):
    """A randomly initialised 2-layer model of `kind` and its feature extractor, saved into `folder`."""
    torch.manual_seed(0)
    if kind == "whisper":
        config = WhisperConfig(d_model=16, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
                               decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80)
        model, extractor = WhisperModel(config), WhisperFeatureExtractor(feature_size=80)
    else:
        config_class, model_class = WAV2VEC2_LIKE[kind]
        extra = {"do_stable_layer_norm": True, "feat_extract_norm": "layer"} if kind == "wavlm" else {}
        model = model_class(config_class(**SMALL, **extra))
        extractor = Wav2Vec2FeatureExtractor(sampling_rate=SR, do_normalize=kind != "wav2vec2",
                                             return_attention_mask=kind == "wavlm")
    model.eval().save_pretrained(folder)
    extractor.save_pretrained(folder)
    return model, extractor


def clips(n=3, seconds=0.5):
    rng = np.random.default_rng(0)
    t = np.arange(round(seconds * SR)) / SR
    return np.stack([0.1 * np.sin(2 * np.pi * (120 + 40 * i) * t) + 0.02 * rng.standard_normal(len(t))
                     for i in range(n)]).astype(np.float32)


def direct(kind, model, extractor, clip):
    """transformers' own hidden states of one clip, averaged over the frames that cover it: [layers + 1, hidden]."""
    with torch.inference_mode():
        if kind == "whisper":
            x = extractor(clip, sampling_rate=SR, return_tensors="pt")["input_features"]
            states = model.encoder(x, output_hidden_states=True).hidden_states
            frames = math.ceil(len(clip) / 320)  # 100 mel frames a second, halved by the encoder's stride-2 conv
        else:
            states = model(extractor(clip, sampling_rate=SR, return_tensors="pt")["input_values"],
                           output_hidden_states=True).hidden_states
            frames = states[0].shape[1]
    return torch.stack([s[0, :frames].mean(dim=0) for s in states]).numpy()


@pytest.mark.parametrize("kind", [*WAV2VEC2_LIKE, "whisper"])
def test_each_layers_mean_is_transformers_own_clip_for_clip(kind, tmp_path):
    folder = tmp_path / f"tiny-{kind}"
    model, extractor = tiny(kind, folder)
    audio = clips()
    out = ssl.compute(folder, audio, SR, tmp_path / "out" / "x.npy", batch=2, device_name="cpu")
    saved = np.load(out)
    assert saved.dtype == np.float32 and saved.shape == (3, 3, 16)  # clips, embeddings + 2 layers, hidden
    for clip, row in zip(audio, saved):
        np.testing.assert_allclose(row, direct(kind, model, extractor, clip), rtol=1e-4, atol=1e-5)
    assert np.abs(saved[0] - saved[1]).max() > 1e-4  # the clips differ, and so do their embeddings
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.json", "x.npy"]


@pytest.mark.parametrize("kind", ["wav2vec2", "whisper"])
def test_the_encoders_flops_per_clip_are_torchs_flop_counter_on_a_direct_call(kind, tmp_path):
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoConfig, AutoModel

    folder = tmp_path / f"tiny-{kind}"
    model, extractor = tiny(kind, folder)
    audio = clips(n=2, seconds=0.5)
    cost = json.loads(ssl.compute(folder, audio, SR, tmp_path / "x.npy", device_name="cpu").with_suffix(".json")
                      .read_text())
    # the same model, built here from the saved config with eager attention, counted on one clip called directly
    direct_model = AutoModel.from_config(AutoConfig.from_pretrained(folder), attn_implementation="eager").eval()
    direct_model = direct_model.encoder if kind == "whisper" else direct_model
    if kind == "whisper":
        x = {"input_features": extractor(audio[0], sampling_rate=SR, return_tensors="pt")["input_features"]}
    else:
        x = {"input_values": extractor(audio[0], sampling_rate=SR, return_tensors="pt")["input_values"]}
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        direct_model(**x)
    assert cost["flops"] == counter.get_total_flops() > 0
    assert cost["parameters"] == sum(p.numel() for p in direct_model.parameters())
    # the attention's matrix products are in the count (a fused kernel would hide them from the counter)
    assert any("bmm" in str(op) or "matmul" in str(op) for op in counter.get_flop_counts()["Global"])
    assert cost["clip_samples"] == audio.shape[1] and cost["sample_rate"] == SR


def test_the_default_name_is_the_folders_basename(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny("hubert", tmp_path / "models" / "hubert-tiny")
    out = ssl.compute("models/hubert-tiny", clips(2), SR, batch=8, device_name="cpu")
    assert out == ssl.SSL / "hubert-tiny.npy" and np.load(out).shape == (2, 3, 16)


def refused(tmp_path, folder, message):
    out = tmp_path / "out" / "x.npy"
    with pytest.raises(InputError, match=message) as error:
        ssl.compute(folder, clips(2), SR, out, device_name="cpu")
    assert "\n" not in str(error.value) and not out.parent.exists()  # one line, nothing written


def test_bad_folders_are_refused_with_one_line_and_nothing_written(tmp_path):
    refused(tmp_path, tmp_path / "absent", "absent: model folder not found")
    (tmp_path / "empty").mkdir()
    refused(tmp_path, tmp_path / "empty", "empty: no config.json, so not a Hugging Face model folder")
    BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2).save_pretrained(tmp_path / "bert")
    refused(tmp_path, tmp_path / "bert", "bert: model type 'bert' is not supported "
                                         r"\(supported: wav2vec2, hubert, wavlm, data2vec-audio, whisper\)")
    folder = tmp_path / "pickled"
    tiny("wav2vec2", folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")  # its name is enough: it is never opened
    refused(tmp_path, folder, "pickled: pytorch_model.bin holds pickle weights, which are never loaded here")
    (folder / "pytorch_model.bin").unlink()
    refused(tmp_path, folder, r"pickled: no model weights \(model.safetensors\)")
    folder = tmp_path / "no-extractor"
    tiny("wavlm", folder)
    (folder / "preprocessor_config.json").unlink()
    refused(tmp_path, folder, "no-extractor: no preprocessor_config.json")


def test_a_model_for_another_sample_rate_is_refused(tmp_path):
    folder = tmp_path / "8k"
    tiny("wav2vec2", folder)
    Wav2Vec2FeatureExtractor(sampling_rate=8000).save_pretrained(folder)
    refused(tmp_path, folder, "the model takes 8000 Hz audio, the segments are 16000 Hz")


def test_weights_that_lack_some_of_the_models_tensors_are_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "partial"
    tiny("hubert", folder)
    weights = load_file(folder / "model.safetensors")
    dropped = next(k for k in weights if k.startswith("encoder.layers.1."))
    save_file({k: v for k, v in weights.items() if k != dropped}, folder / "model.safetensors", {"format": "pt"})
    refused(tmp_path, folder, "partial: its weights lack 1 of the model's tensors")


def test_ssl_models_param():
    assert ssl.folders({"ssl": {"models": {}}}) == {}
    assert ssl.folders({"ssl": {"models": {"wavlm-base-plus": "/m/wavlm"}}}) == {"wavlm-base-plus": "/m/wavlm"}
    with pytest.raises(InputError, match="'ssl.models' must be a mapping"):
        ssl.folders({"ssl": {"models": ["/m/wavlm"]}})
    with pytest.raises(InputError, match="key 'a/b' must be a plain name"):
        ssl.folders({"ssl": {"models": {"a/b": "/m"}}})
    with pytest.raises(InputError, match="missing key 'ssl.models'"):
        ssl.folders({})


def test_the_batch_is_an_environment_setting(monkeypatch):
    monkeypatch.delenv("ECASER_SSL_BATCH", raising=False)
    assert ssl.batch_size() == ssl.BATCH
    monkeypatch.setenv("ECASER_SSL_BATCH", "3")
    assert ssl.batch_size() == 3
    monkeypatch.setenv("ECASER_SSL_BATCH", "0")
    with pytest.raises(InputError, match="ECASER_SSL_BATCH must be a positive integer"):
        ssl.batch_size()
