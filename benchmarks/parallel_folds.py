"""ECASER_PARALLEL_FOLDS on the CPU: the demo's proposed model cross-validated with its folds one after another
(ECASER_PARALLEL_FOLDS=1) and side by side, a step each in turn (ECASER_PARALLEL_FOLDS=folds), on the same data.

The data is the demo's: params.yaml's synthetic corpus, segmented and its `model.version` features computed once,
in a temporary folder (the workspace's data/ is untouched). The run is `train_eca`'s (experiments.train_eca,
stage.config): params.yaml's epochs, batch and folds (3), and again with cv.folds = 5, the paper's. Each width runs
in a fresh process of its own, so that neither inherits the other's memory: its wall time (of cross_validate alone,
and of the whole process, imports and all), the CPU time of cross_validate (user + system, every thread: on a
shared machine the steadier figure, since wall time also counts the other processes' turns), and its peak resident
memory (the process's VmHWM: before training, with the data loaded, and at its end). The widths take turns over
ROUNDS rounds, and the machine's 1-minute load average is noted before each run; a figure is the median of the
rounds. Each width's predictions and curves are compared with width 1's: they must be identical, bit for bit.
"""

import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from table import show

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 2
FOLDS = (None, 5)  # params.yaml's cv.folds, then the paper's


def vm_hwm():
    """The process's peak resident memory so far, in MiB (Linux's VmHWM; ru_maxrss where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def demo_params(folds=None):
    from ecaser.infra import params

    p = params.load(REPO / "params.yaml")
    if folds:
        p["cv"]["folds"] = folds
    return p


def prepare(folder):
    """The demo's segments and its model.version features in folder/data, as the segment and stft stages write them."""
    from ecaser.data import corpora, features, segments
    from ecaser.infra import params

    p = demo_params()
    os.chdir(folder)
    segments.write(corpora.data(p))
    version = p["model"]["version"]
    features.write(version, params.stft_version(p, version))
    return version


def child(folder, folds, out):
    """One cross-validated train_eca run in this process (ECASER_PARALLEL_FOLDS from the environment): its times,
    peak memory, predictions and curves, pickled to out."""
    start = time.perf_counter()
    from ecaser.data import dataset
    from ecaser.training import experiments, loop, record

    os.chdir(folder)
    p = demo_params(int(folds) or None)
    run = experiments.train_eca(p)
    cfg = record.config(p, run)
    manifest = dataset.load_manifest()
    train, test = record.features(run.train, run.test, len(manifest))
    before, cpu = vm_hwm(), cpu_seconds()
    begin = time.perf_counter()
    result = loop.cross_validate(manifest, train, test, cfg)
    seconds, cpu = time.perf_counter() - begin, cpu_seconds() - cpu
    with open(out, "wb") as file:
        pickle.dump({"seconds": seconds, "cpu": cpu, "process": time.perf_counter() - start, "before": before, "peak": vm_hwm(),
                     "folds": cfg.folds, "clips": len(manifest), "epochs": cfg.epochs, "batch": cfg.batch_size,
                     "predictions": result.predictions, "curves": result.curves}, file)


def measure(folder, folds, width, out):
    env = dict(os.environ, ECASER_PARALLEL_FOLDS=str(width), ECASER_DEVICE="cpu", TQDM_DISABLE="1")
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(folder), str(folds or 0), str(out)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"ECASER_PARALLEL_FOLDS={width} failed:\n{done.stdout}\n{done.stderr}")
    with open(out, "rb") as file:
        return {**pickle.load(file), "wall": wall, "load": load}


def main():
    import pandas as pd

    rows, checks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        version = prepare(folder)
        for folds in FOLDS:
            k = demo_params(folds)["cv"]["folds"]
            runs = {1: [], k: []}
            for r in range(ROUNDS):
                for width in ([1, k] if r % 2 == 0 else [k, 1]):  # alternate who goes first
                    runs[width].append(measure(folder, folds, width, folder / f"run-{k}-{width}-{r}.pkl"))
            alone = runs[1][0]
            for width, results in runs.items():
                for result in results:
                    pd.testing.assert_frame_equal(result["predictions"], alone["predictions"], check_exact=True)
                    assert result["curves"] == alone["curves"], f"{k} folds, width {width}: curves differ"
                checks.append(f"{k} folds: width {width}'s {len(results)} runs, {len(alone['predictions'])} "
                              "predictions each, identical to the first width-1 run's (probabilities bit for bit)")
                median = lambda key: statistics.median(x[key] for x in results)
                rows.append([f"{k} folds x {alone['epochs']} epochs, {alone['clips']} clips, {version}", width,
                             f"{median('seconds'):.1f}", f"{median('cpu'):.1f}", f"{median('wall'):.1f}",
                             f"{median('before'):.0f}", f"{median('peak'):.0f}",
                             f"+{median('peak') - median('before'):.0f}",
                             " / ".join(f"{x['seconds']:.0f} s, {x['cpu']:.0f} s" for x in results),
                             " / ".join(f"{x['load']:.1f}" for x in results)])
    show(f"ECASER_PARALLEL_FOLDS on the CPU ({os.cpu_count()} cores): train_eca of the demo (batch "
         f"{alone['batch']}), each width in its own process, median of {ROUNDS} rounds",
         ["run", "folds at once", "cross_validate s", "its CPU s", "process s", "MiB before", "MiB peak",
          "training adds", "each round: s, CPU s", "load before each"], rows)
    print("\n" + "\n".join(checks))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:5])
    else:
        main()
