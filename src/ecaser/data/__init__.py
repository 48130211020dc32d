"""The data path: a corpus (`corpora`, one loader per release) -> fixed-length segments (`audio`, `segments`) ->
log-Mel features per STFT version (`features`) and the DS-LSTM's inputs (`dslstm_features`). `dataset` is the
interface to training: the on-disk arrays and the manifest, read without importing any loader."""
