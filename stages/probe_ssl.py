"""Stage `probe_ssl@NAME`: data/ssl/NAME.npy -> the weighted-sum probe's run (results folder, metrics file) and the
per-layer linear probe's layers.csv, on every run's folds:
`python stages/probe_ssl.py NAME --out DIR --metrics FILE`."""

import argparse

from ecaser.data import dataset
from ecaser.training import experiments
from ecaser.infra import params
from ecaser.baselines import linear, probe
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    a = argparse.ArgumentParser(prog="stages/probe_ssl.py", description=__doc__)
    a.add_argument("name", help="the encoder's name in ssl.models")
    a.add_argument("--out", required=True, help="the run's results folder")
    a.add_argument("--metrics", required=True, help="the run's metrics file")
    args = a.parse_args()
    p = params.load()
    cfg, linear_cfg = probe.config(p), linear.config(p, "probe.linear")
    manifest, classes = dataset.load_manifest(), experiments.classes(p)
    x = probe.load(f"data/ssl/{args.name}.npy", len(manifest))
    result = probe.weighted_sum(x, manifest, cfg, classes)
    layers = probe.per_layer(x, manifest, linear_cfg, classes)
    probe.record(args.out, args.metrics, result, layers, cfg, linear_cfg, classes, args.name, x,
                 probe.encoder_cost(f"data/ssl/{args.name}.json"))


if __name__ == "__main__":
    main()
