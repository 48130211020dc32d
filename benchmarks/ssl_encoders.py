"""What a frozen SSL encoder costs (src/ecaser/baselines/ssl.py): a base-size encoder's clips per second over the
demo's clips on this CPU, a large encoder's peak memory per 6 s clip in inference, and from that the batch that keeps
a GPU within 12 GB.

No weights are fetched: the encoders are built offline, randomly initialised, from the released models' configs
(wav2vec2-base / WavLM-base: 12 layers, 768 wide; wav2vec2-large / WavLM-large: 24 layers, 1024 wide, layer-norm
feature encoder), which cost what the trained ones cost. Clips go through the feature extractor and
ssl.layer_means, as the stage runs them. Memory: each batch size runs in a fresh child process, and the peak
resident memory of a batch of B clips minus that of one clip, over B - 1, is the memory per clip (the weights, the
interpreter and torch's libraries cancel out). A GPU holds the same tensors (float32; torch's SDPA attention on CUDA
keeps no [heads, frames, frames] matrix, so this errs high), so batch = (12 GB - weights - 1 GB for the CUDA
context and allocator slack) / per clip. (Not benchmarks/ssl.py: run as a script, that name would shadow Python's
own ssl module, which transformers' imports need.)

    python benchmarks/ssl_encoders.py [--clips N]      # N of the demo's clips (default: all 214)
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model, WavLMConfig, WavLMModel

from ecaser import audio, corpora, dataset, params
from ecaser.baselines import ssl
from table import show

ROOT = Path(__file__).resolve().parents[1]
SR = 16000
BASE = {"wav2vec2-base": (Wav2Vec2Model, Wav2Vec2Config()), "wavlm-base": (WavLMModel, WavLMConfig())}
LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
             feat_extract_norm="layer", do_stable_layer_norm=True)  # wav2vec2-large-lv60's and WavLM-large's shape
GPU_GB, RESERVED_GB = 12, 1.0
BATCHES = (1, 5)


def demo_clips():
    """The demo's segments: data/segments/audio.npy where the pipeline has run, else made as the segment stage
    makes them, from params.yaml's synthetic corpus."""
    if (ROOT / dataset.SEGMENTS / "audio.npy").is_file():
        return np.asarray(dataset.load_audio(ROOT / dataset.SEGMENTS / "audio.npy"))
    data = params.data(params.load(ROOT / "params.yaml"))
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


def child(batch, seconds):
    """Peak resident bytes of a large encoder's inference on `batch` clips of `seconds` (runs in its own process)."""
    torch.manual_seed(0)
    model = Wav2Vec2Model(Wav2Vec2Config(**LARGE)).eval()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    x = torch.randn(batch, round(seconds * SR)) * 0.1
    with torch.inference_mode():
        ssl.layer_means(model, {"input_values": x})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(json.dumps({"peak": peak, "weights": weights}))


def peak(batch, seconds):
    out = subprocess.run([sys.executable, __file__, "--child", str(batch), str(seconds)], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--clips", type=int, help="how many of the demo's clips (default: all)")
    a.add_argument("--batch", type=int, default=8, help="clips per forward pass of the rate")
    a.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = a.parse_args()
    if args.child:
        return child(int(args.child[0]), float(args.child[1]))
    clips = demo_clips()[: args.clips]
    seconds = clips.shape[1] / SR
    rows = [[name, f"{len(clips)} x {seconds:g} s", args.batch, f"{rate(name, clips, args.batch):.2f}"]
            for name in BASE]
    show(f"base-size encoders (random weights), every hidden state's mean, CPU, {torch.get_num_threads()} threads",
         ["encoder", "clips", "batch", "clips/s"], rows)
    low, high = (peak(b, 6.0) for b in BATCHES)
    per_clip = (high["peak"] - low["peak"]) / (BATCHES[1] - BATCHES[0])
    batch = int((GPU_GB * 1e9 - high["weights"] - RESERVED_GB * 1e9) // per_clip)
    show(f"large encoder (24 x 1024, random weights), inference on 6 s clips, peak resident memory, CPU",
         ["what", "figure"],
         [["weights (float32)", f"{high['weights'] / 1e9:.2f} GB"],
          *[[f"peak, batch {b}", f"{r['peak'] / 1e9:.2f} GB"] for b, r in zip(BATCHES, (low, high))],
          ["per 6 s clip", f"{per_clip / 1e6:.0f} MB"],
          [f"batch within {GPU_GB} GB ({RESERVED_GB:g} GB reserved)", batch],
          ["the stage's default (ECASER_SSL_BATCH)", ssl.BATCH]])


if __name__ == "__main__":
    main()
