"""Stage `augment_cnn@ORDER-K` / `augment_eca@ORDER-K`: multi-STFT augmentation of the training folds.

    python stages/augment.py cnn|eca ascending|descending K

The model is the CNN at model.channel_scale, without attention (cnn) or with the proposed ECA (eca.*).
"""

import sys

from ecaser import experiment, params
from ecaser.errors import exit_on_input_error


@exit_on_input_error
def main(model, order, k):
    p = params.load()
    train, test = experiment.augmented_versions(params.get(p, "stft.versions"), order, int(k))
    eca = model == "eca"
    experiment.run(
        p, f"augment_{model}", f"{order}-{k}", train, test, channel_scale=params.get(p, "model.channel_scale"),
        attention_blocks=tuple(params.get(p, "eca.blocks")) if eca else (), eca_kernel=params.get(p, "eca.kernel"),
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
