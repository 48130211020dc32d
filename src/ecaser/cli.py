"""User commands: `python -m ecaser <command> ...` (also installed as `ecaser`)."""

import argparse
import json
import sys
from pathlib import Path

from . import atomic, corpora, params
from .errors import InputError, exit_on_input_error


def manifest(args):
    rows = corpora.manifest(args.corpus, args.root, args.seed, args.size, args.iemocap_set)
    atomic.save_csv(args.out, rows)
    print(f"{args.corpus}: {len(rows)} utterances, {rows['speaker'].nunique()} speakers -> {args.out}")
    print(corpora.count_table(rows, args.corpus).to_string(index=False))


def predict(args):
    """Score every file; an unreadable one gets an error line and the others are still scored."""
    from .predict import Predictor  # torch is imported only by the commands that need it

    predictor = Predictor(args.model)
    results = []
    for path in args.files:
        try:
            probs = predictor(path)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            results.append({"file": path, "error": str(e)})
            continue
        emotion = max(probs, key=probs.get)
        results.append({"file": path, "emotion": emotion, "probabilities": probs})
        if not args.json:
            print(f"{path}: {emotion}  " + "  ".join(f"{c} {p:.3f}" for c, p in probs.items()))
    if args.json:
        print(json.dumps(results, indent=2))
    if any("error" in r for r in results):
        sys.exit(1)


def model_summary(args):
    from . import models  # torch is imported only by the commands that need it

    try:
        n_mels, frames = (int(v) for v in args.input.lower().split("x"))
    except ValueError:
        raise InputError(f"--input must look like 64x601 (mel bands x frames), got {args.input!r}") from None
    p = params.load(args.params)
    classes = range(args.classes) if args.classes else corpora.classes(params.data(p)["corpus"])
    kernel = args.eca_kernel if args.eca_kernel is not None else params.get(p, "eca.kernel")
    spec = models.cnn(classes, args.channel_scale or params.get(p, "model.channel_scale"),
                      params.get(p, "model.base_channels"), args.attention, args.blocks, kernel)
    size = models.summary(spec.build(), [(n_mels, frames)])
    print(f"parameters  {size['parameters']:,}")
    print(f"FLOPs       {size['flops']:,}  ({size['flops'] / 1e9:.2f} G per clip of {n_mels}x{frames}, torch's count)")


def compare(args):
    """The paired comparison of two runs; refused, with one line, when they were not scored on the same clips."""
    from . import compare as comparison  # scipy, statsmodels and DVC only for this command

    result = comparison.compare(comparison.folder(args.run_a, args.root), comparison.folder(args.run_b, args.root),
                                Path(args.root) / "data/segments/manifest.csv")
    print(json.dumps(result, indent=2) if args.json else comparison.text(result))


def parser():
    p = argparse.ArgumentParser(prog="ecaser", description=__doc__)
    commands = p.add_subparsers(dest="command", required=True)

    m = commands.add_parser("manifest", help="list a corpus's utterances and print its class counts")
    m.add_argument("--corpus", required=True, choices=params.CORPORA)
    m.add_argument("--root", help="corpus folder (real corpora only)")
    m.add_argument("--out", required=True, help="CSV file to write")
    m.add_argument("--seed", type=int, default=0, help="synthetic corpora only")
    m.add_argument("--size", type=float, default=1.0, help="synthetic corpora only: fraction of the class counts")
    m.add_argument("--iemocap-set", default="improvised", help="iemocap only: improvised (default) or full")
    m.set_defaults(run=manifest)

    s = commands.add_parser("model-summary", help="a model's parameters and FLOPs (the paper's Table 4)")
    s.add_argument("--params", default="params.yaml", help="what the options below default to (%(default)s)")
    s.add_argument("--channel-scale", type=int, help="default: model.channel_scale")
    s.add_argument("--classes", type=int, help="default: the classes of data.corpus")
    s.add_argument("--blocks", type=int, nargs="*", default=[], help="blocks followed by attention (default: none)")
    s.add_argument("--attention", default="eca", help="eca (default), se, cbam, mhsa or area")
    s.add_argument("--eca-kernel", type=params.eca_kernel, help="default: eca.kernel")
    s.add_argument("--input", default="64x601", help="mel bands x frames (default: %(default)s)")
    s.set_defaults(run=model_summary)

    c = commands.add_parser("compare", help="whether run A beats run B: paired differences, intervals, p-values")
    c.add_argument("run_a", metavar="RUN_A", help="a results folder (results/eca/proposed) or a stage (train_eca)")
    c.add_argument("run_b", metavar="RUN_B")
    c.add_argument("--root", default=".", help="the repository the runs are in (default: %(default)s)")
    c.add_argument("--json", action="store_true", help="the same numbers as JSON")
    c.set_defaults(run=compare)

    r = commands.add_parser("predict", help="the emotion of WAV files, by the trained proposed model")
    r.add_argument("files", nargs="+", metavar="FILE.wav")
    r.add_argument("--model", default="models/eca.pt", help="made by `dvc repro train_eca` (default: %(default)s)")
    r.add_argument("--json", action="store_true", help="one JSON list on stdout")
    r.set_defaults(run=predict)
    return p


@exit_on_input_error
def main(argv=None):
    args = parser().parse_args(argv)
    args.run(args)
