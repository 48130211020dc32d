"""Stage `train_egemaps`: eGeMAPS functionals -> a linear classifier on every run's folds (egemaps.*, cv.*), written
as a CNN run is: `python stages/train_egemaps.py --out DIR --metrics FILE`."""

import argparse

from ecaser.data import dataset
from ecaser.training import experiments
from ecaser.infra import params
from ecaser.baselines import egemaps, linear
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    a = argparse.ArgumentParser(prog="stages/train_egemaps.py", description=__doc__)
    a.add_argument("--out", required=True, help="the run's results folder")
    a.add_argument("--metrics", required=True, help="the run's metrics file")
    args = a.parse_args()
    p = params.load()
    cfg = linear.config(p, "egemaps")
    manifest = dataset.load_manifest()
    classes = experiments.classes(p)
    result = linear.cross_validate(egemaps.load(len(manifest)), manifest, cfg, classes)
    linear.record(args.out, args.metrics, result, cfg, classes, "egemaps")


if __name__ == "__main__":
    main()
