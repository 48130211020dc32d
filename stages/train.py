"""Every training stage: `python stages/train.py FAMILY [ITEM ...] --out DIR --metrics FILE [--save-model FILE]`.

FAMILY is the stage family's name in dvc.yaml, and its experiment is the function of that name in
src/ecaser/training/experiments.py, which takes the stage's matrix items.
"""

import sys

from ecaser.training import experiments, record
from ecaser.infra import params
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    family, items, out, metrics, save_model = experiments.command(sys.argv[1:])
    p = params.load()
    record.run(p, experiments.define(p, family, items), out, metrics, save_model)


if __name__ == "__main__":
    main()
