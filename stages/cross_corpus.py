"""Stage `cross_corpus@NAME`: the paper's final model scored on the corpus cross_corpus.targets.NAME names, over
the classes the two corpora share (src/ecaser/evaluation/cross_corpus.py says how).

    python stages/cross_corpus.py NAME

Reads models/eca_augmented.pt (augment_train); writes results/cross_corpus/NAME/{predictions.csv, scores.json}
and metrics/cross_corpus/NAME.json.
"""

import sys

from ecaser.data import corpora
from ecaser.evaluation import cross_corpus
from ecaser.infra import params
from ecaser.infra.errors import InputError, exit_on_input_error

MODEL = "models/eca_augmented.pt"


@exit_on_input_error
def main(args):
    if len(args) != 1:
        raise InputError("usage: python stages/cross_corpus.py NAME (a key of cross_corpus.targets)")
    name, p = args[0], params.load()
    result = cross_corpus.score(MODEL, corpora.target(p, name), int(params.get(p, "data.seed")),
                                params.positive(p, "cross_corpus.resamples", int), f"results/cross_corpus/{name}",
                                f"metrics/cross_corpus/{name}.json")
    s = result["scores"]
    print(f"{name}: {result['clips']} clips of {', '.join(result['classes'])}, {result['speakers']} speakers; "
          + "  ".join(f"{k} {v['value']:.2f} [{v['low']:.2f}, {v['high']:.2f}]" for k, v in s.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
