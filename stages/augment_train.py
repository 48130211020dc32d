"""Stage `augment_train`: the augmentation grid of Figs. 10-11 gathered, and the paper's final model taken from it.

    python stages/augment_train.py

`dvc repro augment_train` trains the whole grid first: the augment_cnn and augment_eca stages, whose outputs are
this stage's deps, are two families so that a change of eca.* re-trains only the ECA half. Writes metrics/augment.json
(each run's ACC, mean and 95 % interval, by model and order-K) and models/eca_augmented.pt: the fold models of the
descending ECA run at augment.final_size, the paper's final method and `python -m ecaser predict`'s default model.
"""

import json
from pathlib import Path

from ecaser.infra import atomic, params
from ecaser.infra.errors import InputError, exit_on_input_error

MODELS = {"cnn": "augment_cnn", "eca": "augment_eca"}


@exit_on_input_error
def main():
    size = params.positive(params.load(), "augment.final_size", int)
    grid = {model: {path.stem: json.loads(path.read_text())["ACC"]
                    for path in sorted(Path("metrics", family).glob("*.json"))} for model, family in MODELS.items()}
    final = f"descending-{size}"
    if final not in grid["eca"]:
        raise InputError(f"params: 'augment.final_size' is {size}, but metrics/augment_eca/ has no {final}.json; "
                         "it must be one of augment.sizes, with descending among augment.orders")
    atomic.write_bytes("models/eca_augmented.pt", Path(f"models/augment_eca/{final}.pt").read_bytes())
    atomic.save_json("metrics/augment.json", {"ACC": grid, "final": f"augment_eca/{final}"})


if __name__ == "__main__":
    main()
