"""Training stages: one cross-validated run of the CNN, written to results/ and metrics/.

    python stages/train.py FAMILY RUN [--train vA vB ...] [--test vA] [--channel-scale N]
        [--blocks 5 6 | --last K | --proposed] [--attention eca|se|cbam|mhsa|area] [--eca-kernel 7|adaptive]
        [--loss focal|cross_entropy] [--save-model models/eca.pt]

Versions and channel scale default to the proposed model's (model.version, model.channel_scale);
--proposed puts the attention where the proposed model has its ECA (eca.blocks; area attention: the last
block, where Xu et al. attend over the final map) and takes an ECA's kernel from eca.kernel, so
`dvc exp run -S eca.kernel=9` changes exactly the stages that train an ECA with it. Epochs, learning rate,
folds, ... always come from params.yaml.
"""

import argparse
import sys

from ecaser import experiment, models, params
from ecaser.errors import InputError, exit_on_input_error


def arguments(argv, p):
    """experiment.run's keyword arguments for a command line, with params p filling in the defaults."""
    a = argparse.ArgumentParser()
    a.add_argument("family")
    a.add_argument("name")
    a.add_argument("--train", nargs="+", help="STFT versions to train on (default: model.version)")
    a.add_argument("--test", help="STFT version to test on (default: the first training version)")
    a.add_argument("--channel-scale", type=int, help="default: model.channel_scale")
    where = a.add_mutually_exclusive_group()
    where.add_argument("--blocks", type=int, nargs="+", default=[], help="blocks followed by attention")
    where.add_argument("--last", type=int, help="attention in the last K blocks")
    where.add_argument("--proposed", action="store_true", help="where the proposed model has its ECA (eca.*)")
    a.add_argument("--attention", default="eca", help="the module: eca (default), se, cbam, mhsa or area")
    a.add_argument("--eca-kernel", type=params.eca_kernel, default=7)
    a.add_argument("--loss", choices=["focal", "cross_entropy"], default="focal")
    a.add_argument("--save-model", help="also keep the fold models here, for `python -m ecaser predict`")
    args = a.parse_args(argv)

    train = args.train or [params.get(p, "model.version")]
    blocks, kernel = args.blocks, args.eca_kernel
    if args.last is not None:
        if not 1 <= args.last <= models.BLOCKS:
            raise InputError(f"--last must lie in 1..{models.BLOCKS}, got {args.last}")
        blocks = list(range(models.BLOCKS + 1 - args.last, models.BLOCKS + 1))
    if args.proposed:
        blocks = [models.BLOCKS] if args.attention == "area" else params.get(p, "eca.blocks")
        kernel = params.get(p, "eca.kernel") if args.attention == "eca" else kernel
    return dict(
        family=args.family, name=args.name, train_versions=train, test_version=args.test or train[0],
        channel_scale=args.channel_scale or params.get(p, "model.channel_scale"),
        attention_blocks=tuple(blocks), attention=args.attention, eca_kernel=kernel, loss=args.loss,
        save_model=args.save_model,
    )


@exit_on_input_error
def main():
    p = params.load()
    experiment.run(p, **arguments(sys.argv[1:], p))


if __name__ == "__main__":
    main()
