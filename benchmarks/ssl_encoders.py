"""What a frozen SSL encoder costs (src/ecaser/baselines/ssl.py): a base-size encoder's clips per second over the
demo's clips on this CPU, the -large encoders' peak memory per 6 s clip in inference, and from that the batch that
keeps a GPU within 12 GB.

No weights are fetched: the encoders are built offline, randomly initialised, from the released models' configs
(wav2vec2-base / WavLM-base: 12 layers, 768 wide; wav2vec2-large / WavLM-large: 24 layers, 1024 wide, layer-norm
feature encoder; whisper-large-v3's encoder: 32 layers, 1280 wide, 128 Mel bins, always a 30 s window), which cost
what the trained ones cost. Clips go through ssl.layer_means, as the stage runs them (the base rate through the
feature extractor too). Memory: each batch size runs in a fresh child process, and the peak resident memory of the
larger batch minus that of the smaller, over their difference, is the memory per clip (the weights, the interpreter
and torch's libraries cancel out). A GPU holds the same tensors (float32; torch's SDPA attention on CUDA keeps no
[heads, frames, frames] matrix, so this errs high), so batch = (12 GB - the encoder's weights - 1 GB for the CUDA
context and allocator slack) / per clip. (Not benchmarks/ssl.py: run as a script, that name would shadow Python's
own ssl module, which transformers' imports need.)

    python benchmarks/ssl_encoders.py [--clips N]      # N of the demo's clips (default: all 214; 0: memory only)
"""

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import (Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model, WavLMConfig, WavLMModel,
                          WhisperConfig)
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from ecaser.data import audio, corpora, dataset
from ecaser.infra import params
from ecaser.baselines import ssl
from table import show

ROOT = Path(__file__).resolve().parents[1]
SR = 16000
BASE = {"wav2vec2-base": (Wav2Vec2Model, Wav2Vec2Config()), "wavlm-base": (WavLMModel, WavLMConfig())}
LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
             feat_extract_norm="layer", do_stable_layer_norm=True)  # wav2vec2-large-lv60's and WavLM-large's shape
GPU_GB, RESERVED_GB = 12, 1.0
BATCHES = {"wav2vec2-large": (1, 5), "whisper-large-v3 encoder": (1, 3)}  # batch sizes whose peaks are compared
WHISPER_LARGE = dict(d_model=1280, encoder_layers=32, encoder_attention_heads=20, encoder_ffn_dim=5120,
                     num_mel_bins=128, decoder_layers=1, decoder_attention_heads=20, decoder_ffn_dim=5120)


def demo_clips():
    """The demo's segments: data/segments/audio.npy where the pipeline has run, else made as the segment stage
    makes them, from params.yaml's synthetic corpus."""
    if (ROOT / dataset.SEGMENTS / "audio.npy").is_file():
        return np.asarray(dataset.load_audio(ROOT / dataset.SEGMENTS / "audio.npy"))
    data = corpora.data(params.load(ROOT / "params.yaml"))
    rows = corpora.manifest(data["corpus"], data["root"], data["seed"], data["synthetic_size"], data["iemocap_set"],
                            data["csv"], data["classes"])
    length = round(data["segment_s"] * data["sample_rate"])
    return np.stack([audio.segment(*corpora.load(data["corpus"], data["root"], row, data["seed"]),
                                   data["sample_rate"], length, row.source) for row in rows.itertuples()])


def rate(name, clips, batch):
    model_class, config = BASE[name]
    torch.manual_seed(0)
    model = model_class(config).eval()
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=SR, do_normalize=True)
    with torch.inference_mode():
        ssl.layer_means(model, dict(extractor(list(clips[:batch]), sampling_rate=SR, return_tensors="pt")))  # warm
        start = time.perf_counter()
        for i in range(0, len(clips), batch):
            inputs = extractor(list(clips[i : i + batch]), sampling_rate=SR, return_tensors="pt")
            ssl.layer_means(model, {"input_values": inputs["input_values"]})
    return len(clips) / (time.perf_counter() - start)


def large(kind):
    """(encoder, its input for a batch of B clips of `seconds`, frames kept) of a -large-size encoder."""
    torch.manual_seed(0)
    if kind == "wav2vec2-large":
        return (Wav2Vec2Model(Wav2Vec2Config(**LARGE)).eval(),
                lambda b, seconds: {"input_values": torch.randn(b, round(seconds * SR)) * 0.1}, None)
    config = WhisperConfig(**WHISPER_LARGE)  # whisper-large-v3's encoder: its input is always 30 s of log-Mel
    return (WhisperEncoder(config).eval(), lambda b, seconds: {"input_features": torch.randn(b, 128, 3000)},
            lambda seconds: math.ceil(seconds * SR / 320))


def child(kind, batch, seconds):
    """Peak resident bytes of a large encoder's inference on `batch` clips of `seconds` (runs in its own process)."""
    encoder, inputs, frames = large(kind)
    weights = sum(p.numel() * p.element_size() for p in encoder.parameters())
    with torch.inference_mode():
        ssl.layer_means(encoder, inputs(batch, seconds), frames and frames(seconds))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(json.dumps({"peak": peak, "weights": weights}))


def peak(kind, batch, seconds):
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(batch), str(seconds)], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--clips", type=int, help="how many of the demo's clips (default: all; 0: memory only)")
    a.add_argument("--batch", type=int, default=8, help="clips per forward pass of the rate")
    a.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = a.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]), float(args.child[2]))
    if args.clips != 0:  # --clips 0: the memory figures only
        clips = demo_clips()[: args.clips]
        seconds = clips.shape[1] / SR
        rows = [[name, f"{len(clips)} x {seconds:g} s", args.batch, f"{rate(name, clips, args.batch):.2f}"]
                for name in BASE]
        show(f"base-size encoders (random weights), every hidden state's mean, CPU, {torch.get_num_threads()} "
             "threads", ["encoder", "clips", "batch", "clips/s"], rows)
    rows = []
    for kind, batches in BATCHES.items():
        low, high = (peak(kind, b, 6.0) for b in batches)
        per_clip = (high["peak"] - low["peak"]) / (batches[1] - batches[0])
        batch = int((GPU_GB * 1e9 - high["weights"] - RESERVED_GB * 1e9) // per_clip)
        rows.append([kind, f"{high['weights'] / 1e9:.2f}", *(f"{r['peak'] / 1e9:.2f}" for r in (low, high)),
                     f"{per_clip / 1e6:.0f}", batch])
    show(f"large encoders (random weights), inference on 6 s clips, peak resident memory, CPU; batch: within {GPU_GB}"
         f" GB ({RESERVED_GB:g} GB reserved); the stage's default (ECASER_SSL_BATCH) is {ssl.BATCH}",
         ["encoder", "weights GB", *(f"peak GB, batch {b}" for b in ("low", "high")), "MB per clip", "batch"], rows)
    print("batches (low, high): " + "; ".join(f"{kind} {b}" for kind, b in BATCHES.items()))

if __name__ == "__main__":
    main()
