"""Stage `segment`: the corpus named in params.yaml -> data/segments/{audio.npy, manifest.csv}."""

from ecaser.data import corpora, segments
from ecaser.infra import params
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    data = corpora.data(params.load())
    rows = segments.write(data)
    print("\n".join([corpora.count_table(rows, data["corpus"]).to_string(index=False),
                     *corpora.left_out(rows, data["corpus"])]))


if __name__ == "__main__":
    main()
