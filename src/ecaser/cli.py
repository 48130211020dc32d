"""User commands: `python -m ecaser <command> ...` (also installed as `ecaser`)."""

import argparse

from . import atomic, corpora
from .errors import exit_on_input_error
from .params import CORPORA


def manifest(args):
    rows = corpora.manifest(args.corpus, args.root, args.seed, args.size)
    atomic.save_csv(args.out, rows)
    print(f"{args.corpus}: {len(rows)} utterances, {rows['speaker'].nunique()} speakers -> {args.out}")
    print(corpora.count_table(rows, args.corpus).to_string(index=False))


def parser():
    p = argparse.ArgumentParser(prog="ecaser", description=__doc__)
    commands = p.add_subparsers(dest="command", required=True)

    m = commands.add_parser("manifest", help="list a corpus's utterances and print its class counts")
    m.add_argument("--corpus", required=True, choices=CORPORA)
    m.add_argument("--root", help="corpus folder (real corpora only)")
    m.add_argument("--out", required=True, help="CSV file to write")
    m.add_argument("--seed", type=int, default=0, help="synthetic corpora only")
    m.add_argument("--size", type=float, default=1.0, help="synthetic corpora only: fraction of the class counts")
    m.set_defaults(run=manifest)
    return p


@exit_on_input_error
def main(argv=None):
    args = parser().parse_args(argv)
    args.run(args)
