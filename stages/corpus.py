"""Stage `corpus` (always re-run, cheap): data/corpus/fingerprint.tsv, the files of the corpus with their digests, and
data/corpus/fold_file.tsv, cv.fold_file's digest (the training stages depend on it)."""

from ecaser.data import corpora, fingerprint
from ecaser.infra import params
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    p = params.load()
    data = corpora.data(p)
    n = fingerprint.write(data["corpus"], data["root"], params.get(p, "data.fingerprint"), csv=data["csv"])
    print(f"{data['corpus']}: {n} files fingerprinted")
    fold_file = params.get(p, "cv.fold_file")
    if fingerprint.write_fold_file(fold_file):
        print(f"cv.fold_file {fold_file} fingerprinted")


if __name__ == "__main__":
    main()
