"""Training stages: one cross-validated run of the CNN, written to results/ and metrics/.

    python stages/train.py FAMILY RUN --train v8 [v7 ...] --test v8 --channel-scale 4 [--eca-blocks 5 6]
        [--eca-kernel 7|adaptive] [--loss focal|cross_entropy]

Everything else (epochs, learning rate, folds, ...) comes from params.yaml.
"""

import argparse

from ecaser import experiment, params
from ecaser.errors import exit_on_input_error


def kernel(text):
    return text if text == "adaptive" else int(text)


@exit_on_input_error
def main():
    a = argparse.ArgumentParser()
    a.add_argument("family")
    a.add_argument("run")
    a.add_argument("--train", nargs="+", required=True, help="STFT versions to train on")
    a.add_argument("--test", required=True, help="STFT version to test on")
    a.add_argument("--channel-scale", type=int, required=True)
    a.add_argument("--eca-blocks", type=int, nargs="*", default=[])
    a.add_argument("--eca-kernel", type=kernel, default=7)
    a.add_argument("--loss", choices=["focal", "cross_entropy"], default="focal")
    args = a.parse_args()
    experiment.run(
        params.load(), args.family, args.run, args.train, args.test,
        channel_scale=args.channel_scale, eca_blocks=tuple(args.eca_blocks), eca_kernel=args.eca_kernel,
        loss=args.loss,
    )


if __name__ == "__main__":
    main()
