"""Stage `augment_cnn@ORDER-K` / `augment_eca@ORDER-K`: multi-STFT augmentation of the training folds.

    python stages/augment.py cnn|eca ascending|descending K

The model is the CNN at model.channel_scale, without attention (cnn) or with the proposed ECA (eca.*).
"""

import sys

from ecaser import experiment, params
from ecaser.errors import exit_on_input_error


def arguments(argv, p):
    """experiment.run's keyword arguments for `cnn|eca ORDER K`, the rest from params p."""
    model, order, k = argv
    train, test = experiment.augmented_versions(params.get(p, "stft.versions"), order, int(k))
    return dict(
        family=f"augment_{model}", name=f"{order}-{k}", train_versions=train, test_version=test,
        channel_scale=params.get(p, "model.channel_scale"),
        attention_blocks=tuple(params.get(p, "eca.blocks")) if model == "eca" else (),
        eca_kernel=params.get(p, "eca.kernel"),
    )


@exit_on_input_error
def main():
    p = params.load()
    experiment.run(p, **arguments(sys.argv[1:], p))


if __name__ == "__main__":
    main()
