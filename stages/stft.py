"""Stage `stft@vK`: data/segments/audio.npy -> data/features/vK.npy for one STFT version."""

import sys

from ecaser import dataset, params
from ecaser.errors import exit_on_input_error


@exit_on_input_error
def main(version):
    p = params.load()
    dataset.compute_features(version, params.stft_version(p, version), params.positive(p, "stft.batch_size", int))


if __name__ == "__main__":
    main(sys.argv[1])
