"""Stage `train_dslstm`: the Dual-Sequence LSTM baseline, cross-validated on our folds like every CNN run.

    python stages/dslstm.py RUN [--loss focal|cross_entropy]

Epochs, batch size, learning rate and folds come from params.yaml (train, cv), as for the CNN.
"""

import argparse
import sys

from ecaser import experiment, params
from ecaser.errors import exit_on_input_error


def arguments(argv):
    """experiment.run_dslstm's keyword arguments for a command line."""
    a = argparse.ArgumentParser()
    a.add_argument("name")
    a.add_argument("--loss", choices=["focal", "cross_entropy"], default="cross_entropy")
    return vars(a.parse_args(argv))


@exit_on_input_error
def main():
    experiment.run_dslstm(params.load(), **arguments(sys.argv[1:]))


if __name__ == "__main__":
    main()
