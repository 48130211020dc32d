"""The paper's published numbers (PAPER.md), printed beside ours for the real corpus a run is or mimics."""

NAMES = {"emodb": "EMODB", "iemocap": "IEMOCAP"}

# Table 6, the ablation: (summary key, row, our run: a run id, or a family whose best run by test ACC it is,
# the paper's {corpus: (UA, WA, ACC)})
TABLE6 = [
    ("cnn_cross_entropy", "CNN, cross entropy", "cnn/cross_entropy",
     {"iemocap": (78.62, 78.70, 78.66), "emodb": (83.54, 84.67, 84.11)}),
    ("cnn_focal", "CNN, weighted focal", "cnn/focal",
     {"iemocap": (78.94, 78.80, 78.87), "emodb": (84.01, 85.05, 84.52)}),
    ("original_eca", "+ original ECA", "eca_original/adaptive",
     {"iemocap": (78.71, 78.80, 78.76), "emodb": (78.86, 80.19, 79.44)}),
    ("our_eca", "+ our ECA", "eca/proposed",
     {"iemocap": (79.37, 79.68, 79.53), "emodb": (85.48, 86.17, 85.83)}),
    ("stft_augmentation", "+ STFT augmentation", "augment_cnn",
     {"iemocap": (79.66, 80.50, 80.08), "emodb": (84.71, 85.61, 85.16)}),
    ("both", "+ both", "augment_eca",
     {"iemocap": (80.28, 80.46, 80.37), "emodb": (87.67, 88.04, 87.85)}),
]

# The best channel sweep configuration (Fig. 6): (configuration, (UA, WA, ACC))
BEST_SWEEP = {"iemocap": ("n = 4, v6", (79.16, 79.27, 79.22)), "emodb": ("v8", (84.01, 85.05, 84.52))}

# Table 4's published baseline, the Dual-Sequence LSTM (Wang et al., ICASSP 2020) on IEMOCAP: (UA, WA, ACC), with ACC
# the paper's (UA + WA) / 2. Its authors took the best epoch on the test fold. PAPER.md has no EMODB figure for it.
DSLSTM = {"iemocap": (73.3, 72.7, 73.0)}

# Table 4: the proposed model at n = 4 with 4 classes (IEMOCAP), ECA k = 7 after blocks 5 and 6
PARAMETERS = 2_734_482
CHANNEL_SCALE = 4
EPOCHS = 100


def corpus(name):
    """The real corpus whose published numbers apply: a synthetic corpus copies one's classes and sizes."""
    return name.removeprefix("synthetic-")


def published(run_id):
    """The paper's {corpus: (UA, WA, ACC)} for the system one of our runs reproduces; {} where PAPER.md has none."""
    if run_id == "dslstm/published":
        return DSLSTM
    return next((numbers for _, _, source, numbers in TABLE6 if source == run_id), {})
