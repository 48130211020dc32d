"""Stage `egemaps`: data/segments/audio.npy -> data/egemaps/features.npy (openSMILE's eGeMAPSv02, float32 [N, 88])."""

from ecaser.data import dataset
from ecaser.infra import params
from ecaser.baselines import egemaps
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    egemaps.compute(dataset.load_audio(), params.data(params.load())["sample_rate"])


if __name__ == "__main__":
    main()
