"""Stage `dslstm_features`: data/segments/audio.npy -> data/dslstm/ (the DS-LSTM baseline's three input arrays)."""

from ecaser.data import dataset, dslstm_features
from ecaser.infra import params
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    dslstm_features.compute(dataset.load_audio(), params.data(params.load())["sample_rate"])


if __name__ == "__main__":
    main()
