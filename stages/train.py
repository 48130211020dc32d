"""Training stages: one cross-validated run of the CNN, written to results/ and metrics/.

    python stages/train.py FAMILY RUN [--train vA vB ...] [--test vA] [--channel-scale N]
        [--eca-blocks 5 6 | --eca-last K | --proposed] [--eca-kernel 7|adaptive] [--loss focal|cross_entropy]
        [--save-model models/eca.pt]

Versions and channel scale default to the proposed model's (model.version, model.channel_scale);
--proposed also takes its ECA blocks and kernel from eca.* in params.yaml, so `dvc exp run -S eca.kernel=9`
changes exactly the stages that pass it. Epochs, learning rate, folds, ... always come from params.yaml.
"""

import argparse

from ecaser import experiment, models, params
from ecaser.errors import InputError, exit_on_input_error


def kernel(text):
    return text if text == "adaptive" else int(text)


@exit_on_input_error
def main():
    a = argparse.ArgumentParser()
    a.add_argument("family")
    a.add_argument("run")
    a.add_argument("--train", nargs="+", help="STFT versions to train on (default: model.version)")
    a.add_argument("--test", help="STFT version to test on (default: the first training version)")
    a.add_argument("--channel-scale", type=int, help="default: model.channel_scale")
    eca = a.add_mutually_exclusive_group()
    eca.add_argument("--eca-blocks", type=int, nargs="+", default=[])
    eca.add_argument("--eca-last", type=int, help="ECA in the last K blocks")
    eca.add_argument("--proposed", action="store_true", help="ECA blocks and kernel from eca.* in params.yaml")
    a.add_argument("--eca-kernel", type=kernel, default=7)
    a.add_argument("--loss", choices=["focal", "cross_entropy"], default="focal")
    a.add_argument("--save-model", help="also keep the fold models here, for `python -m ecaser predict`")
    args = a.parse_args()

    p = params.load()
    train = args.train or [params.get(p, "model.version")]
    blocks, kernel_size = args.eca_blocks, args.eca_kernel
    if args.eca_last is not None:
        if not 1 <= args.eca_last <= models.BLOCKS:
            raise InputError(f"--eca-last must lie in 1..{models.BLOCKS}, got {args.eca_last}")
        blocks = list(range(models.BLOCKS + 1 - args.eca_last, models.BLOCKS + 1))
    if args.proposed:
        blocks, kernel_size = params.get(p, "eca.blocks"), params.get(p, "eca.kernel")
    experiment.run(
        p, args.family, args.run, train, args.test or train[0],
        channel_scale=args.channel_scale or params.get(p, "model.channel_scale"),
        eca_blocks=tuple(blocks), eca_kernel=kernel_size, loss=args.loss, save_model=args.save_model,
    )


if __name__ == "__main__":
    main()
