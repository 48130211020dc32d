"""Frozen self-supervised speech encoders over the corpus's segments: every layer's clip embedding, from a local
Hugging Face folder only.

A folder is what `save_pretrained` (or `huggingface-cli download` / `snapshot_download`) leaves: config.json, the
feature extractor's preprocessor_config.json and safetensors weights (model.safetensors, or its shards and
model.safetensors.index.json). It is read with local_files_only=True and trust_remote_code=False, so nothing is
fetched and no code from the folder runs; pickle weights (pytorch_model.bin) are refused, never unpickled.

Each clip, the same fixed-length 16 kHz segment the CNN sees (data/segments/audio.npy), goes through the folder's
feature extractor (wav2vec 2.0-style models: the waveform, normalised where the folder says so; Whisper: its
log-Mel spectrogram, padded to 30 s) and the encoder, with output_hidden_states=True. Saved: the mean over frames of
every hidden state, the embeddings' output (after the convolutional feature encoder and positional convolution for
wav2vec 2.0-style models; after Whisper's convolutions and positions) first, then each transformer layer's:

    data/ssl/<name>.npy   float32 [clips, layers + 1, hidden], rows as in data/segments/manifest.csv
    data/ssl/<name>.json  what one clip costs: the encoder's forward FLOPs on one clip (torch.utils.flop_counter on
                          the model built from the folder's config, eager attention so that it is counted) and its
                          parameters; the probe copies it into its config.json, and the report reads it there

Whisper's frames are averaged over those that cover the clip (its 30 s input is padding beyond: 50 frames a
second), as the field does; the others' over all frames (every clip has the same length, so nothing is padded).
"""

import math
import os
from pathlib import Path

import numpy as np
import torch

from ..infra import atomic, progress, runtime
from ..infra.errors import InputError

SSL = Path("data/ssl")
SUPPORTED = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "whisper")
# Clips per forward pass: ECASER_SSL_BATCH, or this default, which keeps every supported -large encoder within 12 GB
# of GPU memory, Whisper-large's (2.55 GB of weights, 462 MB per clip) the binding one: 16 x 0.46 + 2.55 = 10 GB
# (benchmarks/ssl_encoders.py measures it; docs/baselines.md has the figures).
BATCH = 16
SAFETENSORS = ("model.safetensors", "model.safetensors.index.json")
PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def batch_size():
    return runtime.positive_int("ECASER_SSL_BATCH", BATCH)


def name_of(folder):
    """The output's name for a folder: its basename (/models/wavlm-base-plus -> wavlm-base-plus)."""
    return Path(folder).resolve().name


class Encoder:
    """A folder's feature extractor and encoder, checked and loaded from the folder alone."""

    def __init__(self, folder, sample_rate):
        from transformers import AutoConfig, AutoFeatureExtractor, AutoModel  # transformers: only where used

        folder = Path(folder)
        self.folder = folder
        if not folder.is_dir():
            raise InputError(f"{folder}: model folder not found")
        if not (folder / "config.json").is_file():
            raise InputError(f"{folder}: no config.json, so not a Hugging Face model folder")
        try:
            config = AutoConfig.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"{folder / 'config.json'}: not a model configuration transformers reads "
                             f"({str(e).splitlines()[0]})") from None
        if config.model_type not in SUPPORTED:
            raise InputError(f"{folder}: model type {config.model_type!r} is not supported (supported: "
                             f"{', '.join(SUPPORTED)})")
        if not any((folder / name).is_file() for name in SAFETENSORS):
            pickles = [name for name in PICKLES if (folder / name).is_file()]
            raise InputError(f"{folder}: {pickles[0]} holds pickle weights, which are never loaded here; convert "
                             "them to model.safetensors (docs/baselines.md)" if pickles else
                             f"{folder}: no model weights (model.safetensors)")
        if not (folder / "preprocessor_config.json").is_file():
            raise InputError(f"{folder}: no preprocessor_config.json (the model's feature extractor)")
        self.extractor = AutoFeatureExtractor.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
        if self.extractor.sampling_rate != sample_rate:
            raise InputError(f"{folder / 'preprocessor_config.json'}: the model takes {self.extractor.sampling_rate} "
                             f"Hz audio, the segments are {sample_rate} Hz (data.sample_rate)")
        model, info = AutoModel.from_pretrained(folder, local_files_only=True, trust_remote_code=False,
                                                use_safetensors=True, output_loading_info=True)
        if info["missing_keys"]:
            missing = sorted(info["missing_keys"])
            raise InputError(f"{folder}: its weights lack {len(missing)} of the model's tensors ({', '.join(missing[:3])}"
                             f"{', ...' if len(missing) > 3 else ''}), which would be random")
        self.whisper = config.model_type == "whisper"
        self.config = config
        self.model = (model.get_encoder() if self.whisper else model).eval()

    def inputs(self, clips, sample_rate):
        """The extractor's tensors for a batch of clips [B, samples] (a numpy array)."""
        if self.whisper:
            if clips.shape[1] > self.extractor.n_samples:
                raise InputError(f"{self.folder}: Whisper's encoder takes at most {self.extractor.n_samples / sample_rate:g}"
                                 f" s, the segments are {clips.shape[1] / sample_rate:g} s (data.segment_s)")
            features = self.extractor(list(clips), sampling_rate=sample_rate, return_tensors="pt")
            return {"input_features": features["input_features"]}
        values = self.extractor(list(clips), sampling_rate=sample_rate, return_tensors="pt")
        return {key: values[key] for key in ("input_values", "attention_mask") if key in values}

    def frames(self, n_samples):
        """How many of the encoder's output frames cover a clip of n_samples (None: all of them)."""
        return math.ceil(n_samples / (2 * self.extractor.hop_length)) if self.whisper else None

    def embed(self, clips, sample_rate, dev):
        """float32 [B, layers + 1, hidden]: each hidden state's mean over the clip's frames."""
        inputs = {key: value.to(dev) for key, value in self.inputs(clips, sample_rate).items()}
        return layer_means(self.model, inputs, self.frames(clips.shape[1]))


def cost(encoder, n_samples, sample_rate):
    """{flops, parameters, ...} of one clip of n_samples through the encoder: torch.utils.flop_counter's count of a
    forward pass of the model built from the folder's config (random weights: FLOPs depend on shapes alone), with
    eager attention, since the counter does not see inside a fused CPU attention kernel (it would drop the
    attention's matrix products). Whisper's encoder counts its 30 s window, which it runs whatever the clip."""
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoModel

    torch.manual_seed(0)
    model = AutoModel.from_config(encoder.config, attn_implementation="eager")
    model = (model.get_encoder() if encoder.whisper else model).eval()
    inputs = encoder.inputs(np.zeros((1, n_samples), np.float32), sample_rate)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:  # not inference_mode: weight norm's
        model(**inputs, output_hidden_states=True)  # parametrisation fails under it
    return {"flops": int(counter.get_total_flops()), "parameters": int(sum(p.numel() for p in model.parameters())),
            "clip_samples": int(n_samples), "sample_rate": int(sample_rate), "model_type": encoder.config.model_type,
            "counted_by": "torch.utils.flop_counter.FlopCounterMode, one clip, forward, eager attention"}


def layer_means(encoder, inputs, frames=None):
    """float32 [B, layers + 1, hidden]: each hidden state of `encoder` on `inputs`, averaged over its first `frames`
    frames (None: all)."""
    hidden = encoder(**inputs, output_hidden_states=True).hidden_states  # layers + 1 of [B, frames, hidden]
    return torch.stack([state[:, :frames].float().mean(dim=1) for state in hidden], dim=1).cpu().numpy()


def compute(folder, audio, sample_rate, out=None, batch=None, device_name=None):
    """Write `out` (default data/ssl/<folder's basename>.npy): float32 [N, layers + 1, hidden], rows as in `audio`
    [N, samples], whole or not at all, and beside it `out`.json, the encoder's cost per clip (cost); bad input is
    refused before anything is written."""
    out = Path(out or SSL / f"{name_of(folder)}.npy")
    if audio.ndim != 2 or not len(audio):
        raise InputError(f"data/segments/audio.npy: expected clips [N, samples], got shape {audio.shape}")
    encoder = Encoder(folder, sample_rate)
    dev, batch = runtime.device(device_name), batch or batch_size()
    encoder.model.to(dev)
    with torch.inference_mode():
        first = encoder.embed(np.asarray(audio[:batch], dtype=np.float32), sample_rate, dev)
        with atomic.open_npy(out, (len(audio), *first.shape[1:]), np.float32) as embeddings:
            embeddings[: len(first)] = first
            bar = progress.bar(total=len(audio), initial=len(first), desc=f"ssl {out.stem}", unit="clip")
            for start in range(len(first), len(audio), batch):
                clips = np.asarray(audio[start : start + batch], dtype=np.float32)
                embeddings[start : start + len(clips)] = encoder.embed(clips, sample_rate, dev)
                bar.update(len(clips))
            bar.close()
    atomic.save_json(out.with_suffix(".json"), cost(encoder, audio.shape[1], sample_rate))
    return out


def folders(p):
    """ssl.models, checked: {name: folder}, each name a plain file name (the output is data/ssl/<name>.npy)."""
    from ..infra import params

    models = params.get(p, "ssl.models")
    if models is None:
        return {}
    if not isinstance(models, dict):
        raise InputError("params: 'ssl.models' must be a mapping {name: local model folder} (empty: {}), got "
                         f"{models!r}")
    for name, folder in models.items():
        if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
            raise InputError(f"params: 'ssl.models' key {name!r} must be a plain name (it names data/ssl/<name>.npy)")
        if not isinstance(folder, str) or not folder:
            raise InputError(f"params: 'ssl.models.{name}' must be a model folder's path, got {folder!r}")
    return dict(models)
