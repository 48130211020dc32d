"""Every training stage's experiment, defined once: stage `train_eca_kernels@v8-k3` of dvc.yaml runs
`train_eca_kernels(p, "v8", "3")` here, and so for each family (the function has the stage's name and takes its
matrix items). A definition says which model is trained on which STFT versions with which loss; params.yaml gives
everything else, its defaults included. `stages/train.py` passes the items and dvc.yaml's output paths, no more.

Each distinct run has one stage: Table 6's weighted-focal CNN is the channel sweep's run at model.version and
model.channel_scale (the paper picks its CNN from that sweep), so no stage trains it a second time; its "+ original
ECA" row is Fig. 7's run at model.version, and its augmentation rows are Fig. 11's runs at augment.final_size.
aliases() names them for the report, and borrowed() the cells of Fig. 9 that Fig. 8 trains.
"""

import argparse
import inspect
import logging
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import corpora, dataset, models, params
from .dslstm_features import STREAMS
from .errors import InputError
from .models import Spec


@dataclass(frozen=True)
class Run:
    """One cross-validated run: a model, the input versions its training folds see, the one it is tested on."""

    model: Spec
    train: tuple  # STFT versions (the DS-LSTM: its three input streams, read as one version)
    test: str
    loss: str = "focal"  # focal: the paper's weighted focal loss; cross_entropy: gamma 0, no class weights


def classes(p):
    """The corpus's classes; a csv corpus without data.classes has its labels sorted, read from the segments'
    manifest (every training stage's dep), so that training needs the table's labels, not the corpus folder."""
    corpus = params.corpus_name(p)
    stated = params.get(p, "data.classes") if corpus == "csv" else None
    manifest = dataset.SEGMENTS / "manifest.csv"
    labels = dataset.load_manifest(manifest)["label"] if corpus == "csv" and not stated and manifest.is_file() else None
    return tuple(corpora.classes(corpus, stated, labels))


def cnn(p, channel_scale=None, **attention):
    """The CNN at model.* (or another channel scale), with `attention` (attention, attention_blocks, eca_kernel)."""
    scale = channel_scale or params.positive(p, "model.channel_scale", int)
    return models.cnn(classes(p), scale, params.positive(p, "model.base_channels", int), **attention)


def proposed_eca(p):
    """The proposed model's attention: ECA with eca.kernel after eca.blocks."""
    return {"attention": "eca", "attention_blocks": tuple(params.get(p, "eca.blocks")),
            "eca_kernel": params.get(p, "eca.kernel")}


def last(k):
    """The last k of the CNN's blocks (last(2) = blocks 5 and 6)."""
    k = int(k)
    if not 1 <= k <= models.BLOCKS:
        raise InputError(f"params: a 'last K blocks' entry must lie in 1..{models.BLOCKS}, got {k}")
    return tuple(range(models.BLOCKS + 1 - k, models.BLOCKS + 1))


def on_model_version(p, model, loss="focal"):
    version = params.get(p, "model.version")
    return Run(model, (version,), version, loss)


def augmented_versions(versions, order, k):
    """(training versions, test version) of multi-STFT augmentation with K versions, in the paper's two orders.

    ascending tests on the first version and trains on the first K; descending tests on the last and trains
    on the last K, nearest first.
    """
    versions = list(versions)
    if order not in ("ascending", "descending"):
        raise InputError(f"params: 'augment.orders' entries must be ascending or descending, got {order!r}")
    if not 1 <= k <= len(versions):
        raise InputError(f"params: 'augment.sizes' entries must lie in 1..{len(versions)}, got {k!r}")
    ordered = versions if order == "ascending" else versions[::-1]
    return tuple(ordered[:k]), ordered[0]


def train_cnn_sweep(p, version, scale):
    """Fig. 6: the CNN without attention at one STFT version and channel scale."""
    return Run(cnn(p, int(scale)), (version,), version)


def train_cross_entropy(p):
    """Table 6's first row: the CNN at model.* trained with plain cross entropy."""
    return on_model_version(p, cnn(p), "cross_entropy")


def train_eca_kernels(p, version, kernel):
    """Fig. 8: ECA with one kernel in the last eca_kernels.last blocks, at one STFT version."""
    blocks = last(params.get(p, "eca_kernels.last"))
    return Run(cnn(p, attention="eca", attention_blocks=blocks, eca_kernel=int(kernel)), (version,), version)


def train_eca_blocks(p, k, kernel):
    """Fig. 9: ECA with one kernel in the last k blocks, on model.version."""
    return on_model_version(p, cnn(p, attention="eca", attention_blocks=last(k), eca_kernel=int(kernel)))


def train_eca_original(p, version):
    """Fig. 7: ECA-Net's own placement (after every block) and adaptive kernel, at one STFT version and
    model.channel_scale; its run on model.version is Table 6's "+ original ECA"."""
    original = {"attention": "eca", "attention_blocks": last(models.BLOCKS), "eca_kernel": "adaptive"}
    return Run(cnn(p, **original), (version,), version)


def train_eca(p):
    """The proposed model: ECA with eca.kernel after eca.blocks, on model.version, model.channel_scale."""
    return on_model_version(p, cnn(p, **proposed_eca(p)))


def train_attention(p, module):
    """Table 5: another attention module where the proposed model has its ECA (area attention: after the last
    block, where Xu et al. attend over the final map)."""
    blocks = last(1) if module == "area" else tuple(params.get(p, "eca.blocks"))
    return on_model_version(p, cnn(p, attention=module, attention_blocks=blocks))


def augment(p, order, size, attention):
    train, test = augmented_versions(params.get(p, "stft.versions"), order, int(size))
    return Run(cnn(p, **attention), train, test)


def augment_cnn(p, order, size):
    """Fig. 10-11: multi-STFT augmentation of the training folds, the CNN without attention."""
    return augment(p, order, size, {})


def augment_eca(p, order, size):
    """Fig. 10-11: multi-STFT augmentation of the training folds, the proposed model."""
    return augment(p, order, size, proposed_eca(p))


def train_dslstm(p):
    """Table 4's Dual-Sequence LSTM on our folds, trained with cross entropy as its authors trained it."""
    return Run(Spec("dslstm", classes(p)), tuple(STREAMS), "dslstm", "cross_entropy")


def aliases(p):
    """{run id the report and Table 6 use: the Run that stands there}, each trained by another stage."""
    final = params.get(p, "augment.final_size")
    return {"cnn/focal": on_model_version(p, cnn(p)),
            "eca_original/adaptive": train_eca_original(p, params.get(p, "model.version")),
            "augment_cnn/final": augment_cnn(p, "descending", final),
            "augment_eca/final": augment_eca(p, "descending", final)}


def borrowed(p):
    """{run id of a Fig. 9 cell: its Run} for the cells that Fig. 8 trains (ECA in its last eca_kernels.last
    blocks on model.version), which the paper configs leave out of eca_blocks.last so that no stage trains them
    twice."""
    return {f"eca_blocks/last{k}-k{kernel}": train_eca_blocks(p, k, kernel)
            for k in range(1, models.BLOCKS + 1) if k not in params.get(p, "eca_blocks.last")
            for kernel in params.get(p, "eca_blocks.kernels")}


FAMILIES = {f.__name__: f for f in (train_cnn_sweep, train_cross_entropy, train_eca_kernels, train_eca_blocks,
                                    train_eca_original, train_eca, train_attention, augment_cnn, augment_eca,
                                    train_dslstm)}


def command(argv):
    """stages/train.py's command line: (family, items, results folder, metrics file, saved model or None)."""
    a = argparse.ArgumentParser(prog="stages/train.py", description="One training stage of dvc.yaml.")
    a.add_argument("family", choices=FAMILIES)
    a.add_argument("items", nargs="*", help="the stage's matrix items, in dvc.yaml's order")
    a.add_argument("--out", required=True, help="the run's results folder")
    a.add_argument("--metrics", required=True, help="the run's metrics file")
    a.add_argument("--save-model", help="also keep the fold models here, for `python -m ecaser predict`")
    args = a.parse_args(argv)
    return args.family, args.items, args.out, args.metrics, args.save_model


def define(p, family, items):
    """The Run a stage trains."""
    try:
        inspect.signature(FAMILIES[family]).bind(p, *items)
    except TypeError as e:
        raise InputError(f"stages/train.py {family}: items {' '.join(items) or '(none)'} do not fit ({e})") from None
    return FAMILIES[family](p, *items)


def resolved(dvc_yaml, params_file):
    """(name, command, output paths) of every stage dvc.yaml defines under a params file, as DVC resolves its foreach
    and matrix items (train_cnn_sweep@v8-1, ...), without running anything."""
    from dvc.repo import Repo  # DVC's own resolution, imported here: no training stage needs it

    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(dvc_yaml, folder)
        shutil.copy(params_file, Path(folder) / "params.yaml")
        logging.getLogger("dvc").setLevel(logging.WARNING)
        Repo.init(folder, no_scm=True)
        return [(s.name, s.cmd, [str(out.def_path) for out in s.outs]) for s in Repo(folder).index.stages]


def planned(dvc_yaml, params_file):
    """(stage name, Run) of every training stage that dvc.yaml defines under a params file: what `dvc repro` would
    train, without training it."""
    p = params.load(params_file)
    commands = [(name, shlex.split(cmd)) for name, cmd, _ in resolved(dvc_yaml, params_file)]
    return [(name, define(p, *command(argv[2:])[:2])) for name, argv in commands if argv[1:2] == ["stages/train.py"]]
