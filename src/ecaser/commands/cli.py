"""User commands: `python -m ecaser <command> ...` (also installed as `ecaser`)."""

import argparse
import glob
import json
import sys
from pathlib import Path

from ..infra import atomic, params
from ..data import corpora
from . import slurm
from ..infra.errors import InputError, exit_on_input_error

REPORT = "reports/report.md"  # the report stage's
MODEL = "models/eca_augmented.pt"  # the paper's final method, ECA with multi-STFT augmentation (augment_train)
CALIBRATED = "models/eca_calibrated.pt"  # the same with temperature scaling (stage train_calibrated)


def positive(text):
    """A positive number as an option writes it; argparse turns the error into its usage message."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def manifest(args):
    rows = corpora.manifest(args.corpus, args.root, args.seed, args.size, args.iemocap_set, args.csv, args.classes)
    atomic.save_csv(args.out, rows)
    seconds = rows["duration_s"]
    print(f"{args.corpus}: {len(rows)} utterances, {rows['speaker'].nunique()} speakers -> {args.out}")
    print(f"durations: mean {seconds.mean():.2f} s, median {seconds.median():.2f} s, "
          f"range {seconds.min():.2f}-{seconds.max():.2f} s")  # what data.segment_s is chosen from
    print("\n".join([corpora.count_table(rows, args.corpus).to_string(index=False),
                     *corpora.left_out(rows, args.corpus)]))


def default_model(params_file="params.yaml"):
    """(predict's model without --model, the stage that makes it): the calibrated final model where the repository's
    calibration.temperature is true, else the final model's plain softmax."""
    if not Path(params_file).is_file():
        raise InputError(f"{params_file}: not found, so no default model: run predict in the repository, or name a "
                         "model file with --model")
    calibrated = params.get(params.load(params_file), "calibration.temperature")
    if not isinstance(calibrated, bool):
        raise InputError(f"params: 'calibration.temperature' must be true or false, got {calibrated!r}")
    return (CALIBRATED, "train_calibrated") if calibrated else (MODEL, "augment_train")


def calibration_line(predictor):
    """Whether the probabilities predict prints are calibrated, as one line."""
    if not predictor.calibrated:
        return ("probabilities: the model's softmax, not calibrated (this model file holds no temperature; "
                f"{CALIBRATED}, made by `dvc repro train_calibrated`, does)")
    t = predictor.temperatures
    spread = f"T = {t[0]:.3g}" if len(set(t)) == 1 else f"T = {min(t):.3g} to {max(t):.3g} over {len(t)} folds"
    return (f"probabilities: calibrated by temperature scaling ({spread}, each fitted on clips its fold's training "
            "held out)")


def predict(args):
    """Score every file; an unreadable one gets an error line and the others are still scored."""
    if args.model is None:
        args.model, stage = default_model()
        if not Path(args.model).is_file():  # before torch's import: say how to make the default
            raise InputError(f"{args.model}: model not found (make it with `dvc repro {stage}`)")
    from tqdm import tqdm

    from . import predict as prediction
    from ..infra import progress

    predictor = prediction.Predictor(args.model)
    hop = args.hop or predictor.segment_s / 2
    if not 1 / predictor.rate <= hop <= predictor.segment_s:
        raise InputError(f"--hop must be between one sample and the model's window ({predictor.segment_s:g} s), "
                         f"got {hop:g}")
    jobs = [job for name in args.files for job in inputs(name)]
    model = {"path": args.model, "corpus": predictor.corpus, "version": predictor.version,
             "classes": predictor.classes, "segment_s": predictor.segment_s, "hop_s": hop, "top_db": args.top_db,
             "calibrated": predictor.calibrated,
             "temperatures": predictor.temperatures if predictor.calibrated else None}
    if not args.json:
        print(f"model {args.model}: trained on {predictor.corpus}, STFT {predictor.version}; "
              f"{predictor.segment_s:g} s windows every {hop:g} s, silence below {args.top_db:g} dB")
        print(calibration_line(predictor))
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
        prediction.plot(results, predictor.classes, args.plot, args.model)
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
    """A file's line, as people read it; with timeline, one more line per window: its label and probabilities
    (a silent window's count for nothing in the file's label, so it gets none)."""

    def named(probs):
        return "  ".join(f"{c} {p:.3f}" for c, p in probs.items())

    probs = result["probabilities"]
    lines = [f"{result['file']}: " + ("silence (no window holds speech)" if probs is None
                                      else f"{result['emotion']}  {named(probs)}")]
    for w in result["windows"] if timeline else []:
        span = f"  {w['start']:8.2f} {w['end']:8.2f} s  "
        if w["silence"]:
            lines.append(span + "silence")
        else:
            label = max(w["probabilities"], key=w["probabilities"].get)
            lines.append(span + f"{label:<{max(map(len, w['probabilities']))}}  {named(w['probabilities'])}")
    return "\n".join(lines)


def report(args):
    """Where the report is, and its opening lines up to its first section: the run and the claims' verdicts.
    `make repro` ends with it, so that a first run ends with its answer rather than DVC's log."""
    path = Path(args.root) / REPORT
    if not path.is_file():
        raise InputError(f"{path}: no report yet (make it with `dvc repro`)")
    lines = path.read_text().splitlines()
    opening = lines[: next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))]
    print(f"The report: {path}  (its figures: plots/; its numbers: `dvc metrics show`)\n")
    print("\n".join(opening).strip())


def model_summary(args):
    from ..training import experiments
    from .. import models

    try:
        n_mels, frames = (int(v) for v in args.input.lower().split("x"))
    except ValueError:
        raise InputError(f"--input must look like 64x601 (mel bands x frames), got {args.input!r}") from None
    p = params.load(args.params)
    classes = range(args.classes) if args.classes else experiments.classes(p)
    kernel = args.eca_kernel if args.eca_kernel is not None else params.get(p, "eca.kernel")
    spec = models.cnn(classes, args.channel_scale or params.get(p, "model.channel_scale"),
                      params.get(p, "model.base_channels"), args.attention, args.blocks, kernel)
    size = models.summary(spec.build(), [(n_mels, frames)])
    print(f"parameters  {size['parameters']:,}")
    print(f"FLOPs       {size['flops']:,}  ({size['flops'] / 1e9:.2f} G per clip of {n_mels}x{frames}, torch's count)")


def compare(args):
    """The paired comparison of two runs; refused, with one line, when they were not scored on the same clips."""
    from . import compare as comparison

    result = comparison.compare(comparison.load(args.run_a, args.root), comparison.load(args.run_b, args.root))
    print(json.dumps(result, indent=2) if args.json else comparison.text(result))


def parser():
    p = argparse.ArgumentParser(prog="ecaser", description=__doc__)
    commands = p.add_subparsers(dest="command", required=True)

    m = commands.add_parser("manifest", help="list a corpus's utterances and print its class counts")
    m.add_argument("--corpus", required=True, choices=corpora.NAMES)
    m.add_argument("--root", help="corpus folder (real corpora only)")
    m.add_argument("--out", required=True, help="CSV file to write")
    m.add_argument("--seed", type=int, default=0, help="synthetic corpora only")
    m.add_argument("--size", type=float, default=1.0, help="synthetic corpora only: fraction of the class counts")
    m.add_argument("--iemocap-set", default="improvised", help="iemocap only: improvised (default) or full")
    m.add_argument("--csv", help="csv only: the corpus's table, relative to --root")
    m.add_argument("--classes", nargs="+", help="csv only: the class order (default: the labels sorted)")
    m.set_defaults(run=manifest)

    s = commands.add_parser("model-summary", help="a model's parameters and FLOPs (the paper's Table 4)")
    s.add_argument("--params", default="params.yaml", help="what the options below default to (%(default)s)")
    s.add_argument("--channel-scale", type=int, help="default: model.channel_scale")
    s.add_argument("--classes", type=int, help="default: the classes of data.corpus")
    s.add_argument("--blocks", type=int, nargs="*", default=[], help="blocks followed by attention (default: none)")
    s.add_argument("--attention", default="eca", help="the module after --blocks, a key of models/registry.py's ATTENTION, as in attention.types (default: eca)")
    s.add_argument("--eca-kernel", type=params.eca_kernel, help="default: eca.kernel")
    s.add_argument("--input", default="64x601", help="mel bands x frames (default: %(default)s)")
    s.set_defaults(run=model_summary)

    c = commands.add_parser("compare", help="whether run A beats run B: paired differences, intervals, p-values")
    c.add_argument("run_a", metavar="RUN_A", help="a results folder (results/eca/proposed) or a stage (train_eca) "
                   "of the workspace; EXP:RUN for one of a DVC experiment or Git revision (emodb-k7:train_eca)")
    c.add_argument("run_b", metavar="RUN_B")
    c.add_argument("--root", default=".", help="the repository the runs are in (default: %(default)s)")
    c.add_argument("--json", action="store_true", help="the same numbers as JSON")
    c.set_defaults(run=compare)

    o = commands.add_parser("report", help="where the report is, and its opening lines (the claims' verdicts)")
    o.add_argument("--root", default=".", help="the repository (default: %(default)s)")
    o.set_defaults(run=report)

    r = commands.add_parser("predict", help="the emotion of WAV files over time, by the trained proposed model")
    r.add_argument("files", nargs="+", metavar="INPUT", help="WAV files, folders of them (recursively), glob patterns")
    r.add_argument("--model", help=f"default: {CALIBRATED} (ECA with multi-STFT augmentation and temperature "
                   "scaling, `dvc repro train_calibrated`) where params.yaml's calibration.temperature is true, else "
                   f"{MODEL} (the same without temperature, `dvc repro augment_train`); models/eca.pt: without "
                   "augmentation (`dvc repro train_eca`)")
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
