"""Stage `dslstm_features`: data/segments/audio.npy -> data/dslstm/ (the DS-LSTM baseline's three input arrays)."""

from ecaser import dataset, dslstm_features, params
from ecaser.errors import exit_on_input_error


@exit_on_input_error
def main():
    p = params.load()
    dslstm_features.compute(dataset.load_audio(), params.data(p)["sample_rate"],
                            params.positive(p, "stft.batch_size", int))


if __name__ == "__main__":
    main()
