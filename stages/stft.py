"""Stage `stft@vK`: data/segments/audio.npy -> data/features/vK.npy for one STFT version."""

import sys

from ecaser.data import features
from ecaser.infra import params
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main(version):
    features.write(version, params.stft_version(params.load(), version))


if __name__ == "__main__":
    main(sys.argv[1])
