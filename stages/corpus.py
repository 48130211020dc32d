"""Stage `corpus` (always re-run, cheap): data/corpus/fingerprint.tsv, the files of the corpus with their digests."""

from ecaser.data import corpora, fingerprint
from ecaser.infra import params
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    p = params.load()
    data = corpora.data(p)
    n = fingerprint.write(data["corpus"], data["root"], params.get(p, "data.fingerprint"), csv=data["csv"])
    print(f"{data['corpus']}: {n} files fingerprinted")


if __name__ == "__main__":
    main()
