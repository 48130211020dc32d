"""Stage `segment`: the corpus named in params.yaml -> data/segments/{audio.npy, manifest.csv}."""

from ecaser import corpora, params, segments
from ecaser.errors import exit_on_input_error


@exit_on_input_error
def main():
    data = params.data(params.load())
    rows = segments.write(data)
    print("\n".join([corpora.count_table(rows, data["corpus"]).to_string(index=False),
                     *corpora.left_out(rows, data["corpus"])]))


if __name__ == "__main__":
    main()
