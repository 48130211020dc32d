"""Stage `cross_corpus_files@NAME` (always re-run, cheap): data/cross_corpus/NAME/fingerprint.tsv, the files of the
corpus cross_corpus.targets.NAME names, with their digests, as the `corpus` stage lists data.root's
(src/ecaser/data/fingerprint.py): an edited, added or removed file re-runs cross_corpus@NAME; a synthetic corpus has none.

    python stages/cross_corpus_files.py NAME
"""

import sys

from ecaser.data import corpora, fingerprint
from ecaser.infra import params
from ecaser.infra.errors import InputError, exit_on_input_error


@exit_on_input_error
def main(args):
    if len(args) != 1:
        raise InputError("usage: python stages/cross_corpus_files.py NAME (a key of cross_corpus.targets)")
    name, p = args[0], params.load()
    target = corpora.target(p, name)
    n = fingerprint.write(target["corpus"], target["root"], params.get(p, "data.fingerprint"),
                          f"data/cross_corpus/{name}/fingerprint.tsv")
    print(f"{name} ({target['corpus']}): {n} files fingerprinted")


if __name__ == "__main__":
    main(sys.argv[1:])
