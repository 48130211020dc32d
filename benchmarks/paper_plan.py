"""The paper grids' training runs and their FLOPs, precomputed: `python benchmarks/paper_plan.py` writes paper_plan.json.

DVC resolves dvc.yaml against each paper config (every foreach and matrix item), the package's own parser reads
each training stage's command line into the Run it trains (plan.planned), and torch's flop counter counts
one forward + backward (a training clip) and one forward (a test clip) of the model that stage builds. A run of E
epochs, F folds and R repeats of the split costs R x E x ((F - 1) x N x V training clips + N test clips), with N
the corpus's utterances (one segment each) and V the run's training versions. Adam, batch norm and pooling are not
counted (torch counts matrix products only).

The file is for machines without DVC or librosa (a bare CUDA image): benchmarks/gpu_check.py and paper_scale.py
read it instead of importing this module, and tests/test_gpu_check.py checks that it is what this module computes
from the configs now.
"""

import json
from pathlib import Path

from ecaser.infra import atomic, params
from ecaser.data import corpora, dslstm_features, features
from ecaser.training import plan, record
from ecaser.data.corpora.synthetic import CORPORA
from train_step import clip_flops

ROOT = Path(__file__).resolve().parents[1]
PLAN = Path(__file__).with_name("paper_plan.json")


def run_of(p, run):
    """(loop.Config, input shapes, training versions) of a Run."""
    if run.model.architecture == "dslstm":
        sample_rate = params.get(p, "data.sample_rate")
        return record.config(p, run), list(dslstm_features.shapes(segment_samples(p), sample_rate).values()), 1
    return record.config(p, run), [input_shape(p, run.test)], len(run.train)


def input_shape(p, version):
    s = params.stft_version(p, version)
    return s["n_mels"], features.frames(segment_samples(p), s["hop_length"])


def segment_samples(p):
    return round(params.get(p, "data.segment_s") * params.get(p, "data.sample_rate"))


def compute():
    """{config file name: its corpus, sizes, the proposed model's input and every training run with its FLOPs}."""
    plans = {}
    for config in sorted((ROOT / "configs").glob("paper-*.yaml")):
        p = plan.params_without_data(config)  # no corpus is read: its size comes from its class counts
        corpus = params.get(p, "data.corpus")
        n = sum(CORPORA[corpus].counts.values())
        runs = []
        for name, run in plan.planned(ROOT / "dvc.yaml", config):
            cfg, shapes, versions = run_of(p, run)
            train, test = clip_flops(cfg.model, tuple(shapes))
            runs.append({"stage": name, "architecture": cfg.model.architecture, "channel_scale": cfg.model.channel_scale,
                         "versions": versions, "shapes": [list(s) for s in shapes], "epochs": cfg.epochs,
                         "folds": cfg.folds, "repeats": cfg.repeats, "train_clip_flops": train, "test_clip_flops": test,
                         "flops": cfg.repeats * cfg.epochs * ((cfg.folds - 1) * n * versions * train + n * test)})
        frames = input_shape(p, params.get(p, "model.version"))[1]
        plans[config.name] = {"corpus": corpus, "clips": n, "precision": params.get(p, "train.precision"),
                             "proposed": {"frames": frames, "classes": len(corpora.classes(corpus))}, "runs": runs}
    return plans


def dumps(plan):
    """The plan as JSON with one run a line: small, and a changed run shows as one changed line in a diff."""
    configs = []
    for name, config in plan.items():
        head = json.dumps({key: value for key, value in config.items() if key != "runs"})[:-1]
        runs = ",\n".join(f"    {json.dumps(run)}" for run in config["runs"])
        configs.append(f"  {json.dumps(name)}: {head}, \"runs\": [\n{runs}\n  ]}}")
    return "{\n" + ",\n".join(configs) + "\n}\n"


def main():
    atomic.write_bytes(PLAN, dumps(compute()).encode())
    print(f"wrote {PLAN.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
