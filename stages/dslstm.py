"""Stage `train_dslstm`: the Dual-Sequence LSTM baseline, cross-validated on our folds like every CNN run.

    python stages/dslstm.py RUN [--loss focal|cross_entropy]

Epochs, batch size, learning rate and folds come from params.yaml (train, cv), as for the CNN.
"""

import argparse

from ecaser import experiment, params
from ecaser.errors import exit_on_input_error


@exit_on_input_error
def main():
    a = argparse.ArgumentParser()
    a.add_argument("run")
    a.add_argument("--loss", choices=["focal", "cross_entropy"], default="cross_entropy")
    args = a.parse_args()
    experiment.run_dslstm(params.load(), args.run, args.loss)


if __name__ == "__main__":
    main()
