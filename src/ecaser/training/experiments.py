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
from dataclasses import dataclass, replace

from .. import models
from ..data import dataset
from ..infra import params
from ..infra.errors import InputError
from ..models import Spec
from ..models.attention import odd_kernel
from ..models.registry import ATTENTION


@dataclass(frozen=True)
class Run:
    """One cross-validated run: a model, the input versions its training folds see, the one it is tested on."""

    model: Spec
    train: tuple  # STFT versions (the DS-LSTM: its three input streams, read as one version)
    test: str
    loss: str = "focal"  # focal: the paper's weighted focal loss; cross_entropy: gamma 0, no class weights
    protocol: str | None = None  # the folds' cv.protocol for this run alone (train_protocol); None: params' cv.protocol
    validation: int | None = None  # calibration.validation_folds (train_calibrated): fit a temperature on held-out clips


def classes(p):
    """The corpus's classes in label_index order: data.classes where params state them (the csv corpus), else as the
    segment stage numbered them in its manifest (every training stage's dep). No corpus loader is imported here, so
    that an edit of one re-trains nothing."""
    stated = params.get(p, "data.classes")
    return tuple(stated) if stated else dataset.classes(dataset.load_manifest())


def whole(value, key, least=1):
    """A matrix item or param as a whole number >= least, refused in one line that names the key it came from."""
    text = str(value)
    if isinstance(value, bool) or not text.lstrip("-").isdigit() or int(text) < least:
        raise InputError(f"params: '{key}' entries must be whole numbers >= {least}, got {value!r}")
    return int(text)


def eca_kernel(value, key):
    """An ECA kernel from the param `key`: an odd integer, or "adaptive" (ECA-Net's rule per block)."""
    if value == "adaptive":
        return value
    kernel = int(value) if str(value).isdigit() else value
    if not odd_kernel(kernel):
        raise InputError(f"params: '{key}' must be an odd integer >= 1, got {value!r}")
    return kernel


def cnn(p, channel_scale=None, **attention):
    """The CNN at model.* (or another channel scale), with `attention` (attention, attention_blocks, eca_kernel)."""
    scale = channel_scale or params.positive(p, "model.channel_scale", int)
    return models.cnn(classes(p), scale, params.positive(p, "model.base_channels", int), **attention)


def proposed_blocks(p):
    """eca.blocks: where the proposed model has its ECA, and where Table 5 puts the other modules."""
    blocks = params.get(p, "eca.blocks")
    if not isinstance(blocks, list) or not blocks or any(b not in range(1, models.BLOCKS + 1) for b in blocks):
        raise InputError(f"params: 'eca.blocks' must be a list of blocks in 1..{models.BLOCKS}, got {blocks!r}")
    return tuple(blocks)


def proposed_eca(p):
    """The proposed model's attention: ECA with eca.kernel after eca.blocks."""
    return {"attention": "eca", "attention_blocks": proposed_blocks(p),
            "eca_kernel": eca_kernel(params.get(p, "eca.kernel"), "eca.kernel")}


def last(k, key):
    """The last k of the CNN's blocks (last(2) = blocks 5 and 6), k from the param `key`."""
    k = whole(k, key)
    if k > models.BLOCKS:
        raise InputError(f"params: '{key}' must lie in 1..{models.BLOCKS}, got {k}")
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
    return Run(cnn(p, whole(scale, "sweep.channel_scales")), (version,), version)


def train_cross_entropy(p):
    """Table 6's first row: the CNN at model.* trained with plain cross entropy."""
    return on_model_version(p, cnn(p), "cross_entropy")


def train_eca_kernels(p, version, kernel):
    """Fig. 8: ECA with one kernel in the last eca_kernels.last blocks, at one STFT version."""
    blocks = last(params.get(p, "eca_kernels.last"), "eca_kernels.last")
    kernel = eca_kernel(kernel, "eca_kernels.kernels")
    return Run(cnn(p, attention="eca", attention_blocks=blocks, eca_kernel=kernel), (version,), version)


def train_eca_blocks(p, k, kernel):
    """Fig. 9: ECA with one kernel in the last k blocks, on model.version."""
    kernel = eca_kernel(kernel, "eca_blocks.kernels")
    blocks = last(k, "eca_blocks.last")
    return on_model_version(p, cnn(p, attention="eca", attention_blocks=blocks, eca_kernel=kernel))


def train_eca_original(p, version):
    """Fig. 7: ECA-Net's own placement (after every block) and adaptive kernel, at one STFT version and
    model.channel_scale; its run on model.version is Table 6's "+ original ECA"."""
    original = {"attention": "eca", "attention_blocks": tuple(range(1, models.BLOCKS + 1)), "eca_kernel": "adaptive"}
    return Run(cnn(p, **original), (version,), version)


def train_eca(p):
    """The proposed model: ECA with eca.kernel after eca.blocks, on model.version, model.channel_scale."""
    return on_model_version(p, cnn(p, **proposed_eca(p)))


def train_attention(p, module):
    """Table 5: another attention module where the proposed model has its ECA (or after the last block, where the
    registry places it so: area attention, as Xu et al. attend over the final map)."""
    if module not in ATTENTION:
        raise InputError(f"params: 'attention.types' entries must be one of {', '.join(ATTENTION)}, got {module!r}")
    blocks = (models.BLOCKS,) if ATTENTION[module].last_block else proposed_blocks(p)
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


COMPARED_PROTOCOLS = ("stratified", "speaker", "text", "speaker_text")  # folds.PROTOCOLS but a fold file's


def other_protocols(p):
    """protocols.others: the protocols, besides cv.protocol, that the final model is also cross-validated under."""
    others, own = params.get(p, "protocols.others"), params.get(p, "cv.protocol")
    if not isinstance(others, list) or any(o not in COMPARED_PROTOCOLS for o in others) or len(set(others)) < len(
            others):
        raise InputError(f"params: 'protocols.others' must be a list of distinct protocols among "
                         f"{', '.join(COMPARED_PROTOCOLS)}, got {others!r}")
    if own in others:
        raise InputError(f"params: 'protocols.others' lists {own}, which is cv.protocol: augment_eca's final run "
                         "is already scored under it; list only the other protocols")
    return others


def final(p):
    """The paper's final model: the proposed model, descending augmentation at augment.final_size."""
    return augment_eca(p, "descending", params.get(p, "augment.final_size"))


def train_protocol(p, protocol):
    """The final model (augment_eca at augment.final_size, descending) cross-validated under another protocol than
    cv.protocol: how much of its score the folds' shared speakers or texts give it (report/protocols.py)."""
    if protocol not in other_protocols(p):
        raise InputError(f"params: 'protocols.others' does not list {protocol!r}: train_protocol trains only those")
    return replace(final(p), protocol=protocol)


def train_calibrated(p):
    """The final model with temperature scaling (Guo et al., 2017): each fold trains on all but the first of
    calibration.validation_folds parts of its training fold, and its temperature is fitted on that part alone; the
    model `predict` uses when calibration.temperature is true (report: "Calibration of the final model")."""
    n = params.get(p, "calibration.validation_folds")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise InputError(f"params: 'calibration.validation_folds' must be an integer >= 2 (2: half of each training "
                         f"fold held out, 5: a fifth), got {n!r}")
    return replace(final(p), validation=n)


def train_dslstm(p):
    """Table 4's Dual-Sequence LSTM on our folds, trained with cross entropy as its authors trained it."""
    return Run(Spec("dslstm", classes(p)), dataset.DSLSTM_STREAMS, "dslstm", "cross_entropy")


def aliases(p):
    """{run id the report and Table 6 use: the Run that stands there}, each trained by another stage."""
    final = params.get(p, "augment.final_size")
    return {"cnn/focal": on_model_version(p, cnn(p)),
            "eca_original/adaptive": train_eca_original(p, params.get(p, "model.version")),
            "augment_cnn/final": augment_cnn(p, "descending", final),
            "augment_eca/final": augment_eca(p, "descending", final),
            f"protocol/{params.get(p, 'cv.protocol')}": augment_eca(p, "descending", final)}


def borrowed(p):
    """{run id of a Fig. 9 cell: its Run} for the cells that Fig. 8 trains (ECA in its last eca_kernels.last
    blocks on model.version), which the paper configs leave out of eca_blocks.last so that no stage trains them
    twice."""
    return {f"eca_blocks/last{k}-k{kernel}": train_eca_blocks(p, k, kernel)
            for k in range(1, models.BLOCKS + 1) if k not in params.get(p, "eca_blocks.last")
            for kernel in params.get(p, "eca_blocks.kernels")}


FAMILIES = {f.__name__: f for f in (train_cnn_sweep, train_cross_entropy, train_eca_kernels, train_eca_blocks,
                                    train_eca_original, train_eca, train_attention, augment_cnn, augment_eca,
                                    train_protocol, train_calibrated, train_dslstm)}


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

