"""User commands: `python -m ecaser <command> ...` (also installed as `ecaser`)."""

import argparse
import glob
import json
import sys
from pathlib import Path

from . import atomic, corpora, params, slurm
from .errors import InputError, exit_on_input_error

MODEL = "models/eca_augmented.pt"  # predict's default: the paper's final method, ECA with multi-STFT augmentation


def positive(text):
    """A positive number as an option writes it; argparse turns the error into its usage message."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def manifest(args):
    rows = corpora.manifest(args.corpus, args.root, args.seed, args.size, args.iemocap_set)
    atomic.save_csv(args.out, rows)
    print(f"{args.corpus}: {len(rows)} utterances, {rows['speaker'].nunique()} speakers -> {args.out}")
    print(corpora.count_table(rows, args.corpus).to_string(index=False))


def predict(args):
    """Score every file; an unreadable one gets an error line and the others are still scored."""
    if args.model == MODEL and not Path(MODEL).is_file():  # before torch's import: say how to make the default
        raise InputError(f"{MODEL}: model not found (make it with `dvc repro augment_train`)")
    from tqdm import tqdm

    from . import predict as prediction, progress  # torch is imported only by the commands that need it

    predictor = prediction.Predictor(args.model)
    hop = args.hop or predictor.segment_s / 2
    if not 1 / predictor.rate <= hop <= predictor.segment_s:
        raise InputError(f"--hop must be between one sample and the model's window ({predictor.segment_s:g} s), "
                         f"got {hop:g}")
    jobs = [job for name in args.files for job in inputs(name)]
    model = {"path": args.model, "corpus": predictor.corpus, "version": predictor.version,
             "classes": predictor.classes, "segment_s": predictor.segment_s, "hop_s": hop, "top_db": args.top_db}
    if not args.json:
        print(f"model {args.model}: trained on {predictor.corpus}, STFT {predictor.version}; "
              f"{predictor.segment_s:g} s windows every {hop:g} s, silence below {args.top_db:g} dB")
    bar = progress.bar(jobs, unit="file") if len(jobs) > 1 else jobs
    results = []
    for path, problem in bar:
        try:
            if problem:
                raise InputError(f"{path}: {problem}")
            result = predictor(path, hop, args.top_db)
        except InputError as e:
            tqdm.write(f"error: {e}", file=sys.stderr)  # tqdm.write: a line above the bar, not through it
            results.append({"file": path, "error": str(e)})
            continue
        results.append(result)
        if not args.json:
            tqdm.write(text(result, args.timeline))
    if args.json:
        print(json.dumps({"model": model, "files": results}, indent=2))
    if args.csv:
        atomic.save_csv(args.csv, prediction.table(results, predictor.classes))
    if args.plot and any("windows" in r for r in results):
        prediction.plot(results, predictor.classes, args.plot)
    if any("error" in r for r in results):
        sys.exit(1)


def inputs(name):
    """(file, problem) pairs for one argument: a folder's .wav files (recursively, sorted), a glob pattern's
    matches (sorted; expanded here when the shell did not, e.g. quoted), or the file itself."""
    path = Path(name)
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
        return [(f, None) for f in files] or [(name, "no .wav files in this folder")]
    if not path.exists() and glob.escape(name) != name:
        return [(f, None) for f in sorted(glob.glob(name, recursive=True))] or [(name, "no file matches it")]
    return [(name, None)]


def text(result, timeline):
    """A file's line, as people read it; with timeline, one more line per window."""
    probs = result["probabilities"]
    if probs is None:
        line = f"{result['file']}: silence (no window holds speech)"
    else:
        line = f"{result['file']}: {result['emotion']}  " + "  ".join(f"{c} {p:.3f}" for c, p in probs.items())
    if timeline:
        for w in result["windows"]:
            label = "silence" if w["silence"] else max(w["probabilities"], key=w["probabilities"].get)
            line += f"\n  {w['start']:8.2f} {w['end']:8.2f} s  {label}"
    return line


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

    r = commands.add_parser("predict", help="the emotion of WAV files over time, by the trained proposed model")
    r.add_argument("files", nargs="+", metavar="INPUT", help="WAV files, folders of them (recursively), glob patterns")
    r.add_argument("--model", default=MODEL, help="default: %(default)s, ECA with multi-STFT augmentation "
                   "(`dvc repro augment_train`); models/eca.pt: without augmentation (`dvc repro train_eca`)")
    r.add_argument("--hop", type=positive, help="seconds from one window's start to the next (default: half a window)")
    r.add_argument("--top-db", type=positive, default=30.0, help="a window is silence when nothing in it is within "
                   "this many dB of the file's loudest frame (default: %(default)g)")
    r.add_argument("--timeline", action="store_true", help="also one line per window: start, end, label or silence")
    r.add_argument("--json", action="store_true", help="one JSON object on stdout: the model, and each file's windows")
    r.add_argument("--csv", metavar="FILE", help="write one row per window: file, start, end, silence, each class")
    r.add_argument("--plot", metavar="FILE.png", help="draw each file's probabilities over time")
    r.set_defaults(run=predict)

    slurm.add_parser(commands)
    return p


@exit_on_input_error
def main(argv=None):
    args = parser().parse_args(argv)
    args.run(args)
