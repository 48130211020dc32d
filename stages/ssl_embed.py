"""Stage `ssl_embed@NAME`: data/segments/audio.npy -> data/ssl/NAME.npy, the frozen encoder in ssl.models.NAME
(a local Hugging Face folder): every hidden state's mean over frames, float32 [clips, layers + 1, hidden]."""

import sys

from ecaser.data import dataset
from ecaser.infra import params
from ecaser.baselines import ssl
from ecaser.infra.errors import InputError, exit_on_input_error


@exit_on_input_error
def main(name):
    p = params.load()
    models = ssl.folders(p)
    if name not in models:
        raise InputError(f"params: 'ssl.models' has no model {name!r} (it has: {', '.join(models) or 'none'})")
    ssl.compute(models[name], dataset.load_audio(), params.data(p)["sample_rate"], ssl.SSL / f"{name}.npy")


if __name__ == "__main__":
    main(sys.argv[1])
