"""The published numbers this repository reproduces or compares with, as data, printed beside ours for the real
corpus a run is or mimics. Unless a line says otherwise they are from the paper itself:

    Speech emotion recognition with a CNN and efficient channel attention (ECA), with multiple-STFT data
    augmentation. Scientific Reports, 2025 (CC BY 4.0).
"""

CITATION = "the ECA + multi-STFT paper (Scientific Reports, 2025)"
NAMES = {"emodb": "EMODB", "iemocap": "IEMOCAP"}

# Table 6, the ablation, "with dataset version 8" on both corpora: (summary key, row, our run: a run id, or
# "family:order" for the family's best run of that order by test ACC, the paper's {corpus: (UA, WA, ACC)}).
# Its augmentation rows are descending runs, tested on v8.
TABLE6 = [
    ("cnn_cross_entropy", "CNN, cross entropy", "cnn/cross_entropy",
     {"iemocap": (78.62, 78.70, 78.66), "emodb": (83.54, 84.67, 84.11)}),
    ("cnn_focal", "CNN, weighted focal", "cnn/focal",
     {"iemocap": (78.94, 78.80, 78.87), "emodb": (84.01, 85.05, 84.52)}),
    ("original_eca", "+ original ECA", "eca_original/adaptive",
     {"iemocap": (78.71, 78.80, 78.76), "emodb": (78.86, 80.19, 79.44)}),
    ("our_eca", "+ our ECA", "eca/proposed",
     {"iemocap": (79.37, 79.68, 79.53), "emodb": (85.48, 86.17, 85.83)}),
    ("stft_augmentation", "+ STFT augmentation", "augment_cnn/final",
     {"iemocap": (79.66, 80.50, 80.08), "emodb": (84.71, 85.61, 85.16)}),
    ("both", "+ both", "augment_eca/final",
     {"iemocap": (80.28, 80.46, 80.37), "emodb": (87.67, 88.04, 87.85)}),
]

# The best channel sweep configuration (Fig. 6): (configuration, (UA, WA, ACC))
BEST_SWEEP = {"iemocap": ("n = 4, v6", (79.16, 79.27, 79.22)), "emodb": ("v8", (84.01, 85.05, 84.52))}

# The Dual-Sequence LSTM (Wang et al., ICASSP 2020) on IEMOCAP, as its authors published it: (UA, WA, ACC), with ACC
# (UA + WA) / 2. Their protocol, from their public code: all 5,531 improvised and scripted utterances, random
# unstratified 5-fold splits, and the best epoch on the test fold, taken for WA and for UA separately. No EMODB figure.
DSLSTM = {"iemocap": (73.3, 72.7, 73.0)}
DSLSTM_PROTOCOL = ("5,531 improvised + scripted utterances, random unstratified folds, each metric's best epoch on "
                   "the test fold")

# Table 4: "our method" (ECA + multi-STFT augmentation) against published IEMOCAP systems, 5-fold CV. The paper quotes
# each system's own published figures and did not retrain them: (model, method, year, UA, WA, ACC, parameters, FLOPs
# as printed). It does not say how its 61.10 G was counted.
TABLE4 = [
    ("Head-fusion", "multi-head attention", 2020, 70.1, 76.4, 73.3, 614_180, "34.32 G"),
    ("HNSD", "LSTM-GMU-attention", 2021, 72.5, 70.5, 71.5, 3_078_988, "0.136 G"),
    ("Area Attention", "multi-scale area attention", 2021, 77.5, 79.3, 78.4, 156_156, "7.84 G"),
    ("ATDA", "multi-view, granularity", 2022, 75.4, 76.2, 75.8, 630_458, "16.44 G"),
    ("STC", "spectro-temporal-channel attention", 2023, 61.8, 61.8, 51.8, 112_894_764, "15.50 G"),
    ("AMSNet", "connection attention", 2023, 70.5, 69.2, 69.9, 11_159_376, "0.0286 G"),
    ("Vesper", "transformer", 2024, 73.9, 73.0, 73.45, 63_515_872, "35.16 G"),
    ("our method", "ECA, STFT augmentation", 2025, 80.3, 80.5, 80.4, 2_734_482, "61.10 G"),
]
PAPER_FLOPS = 61.10e9

# Table 5: attention modules in the same CNN, where the ECA blocks sit: module key -> (the paper's row name,
# {corpus: (UA, WA, ACC)}). SE and CBAM are extra rows of ours; the paper has no numbers for them.
TABLE5 = {
    "head_fusion": ("Head-fusion", {"iemocap": (78.59, 78.86, 78.73), "emodb": (84.22, 84.67, 84.45)}),
    "area": ("Area Attention", {"iemocap": (74.85, 75.60, 75.09), "emodb": (84.45, 84.67, 84.56)}),
    "stc": ("STC", {"iemocap": (79.30, 78.90, 79.10), "emodb": (84.89, 85.79, 85.34)}),
    "mhsa": ("MHA", {"iemocap": (73.96, 73.63, 73.79), "emodb": (80.87, 81.12, 81.00)}),
    "eca": ("ECA", {"iemocap": (79.37, 79.68, 79.53), "emodb": (85.48, 86.17, 85.83)}),
    "se": ("SE (ours, not in the paper)", {}),
    "cbam": ("CBAM (ours, not in the paper)", {}),
}

# Table 4: the proposed model at n = 4 with 4 classes (IEMOCAP), ECA k = 7 after blocks 5 and 6
PARAMETERS = 2_734_482
CHANNEL_SCALE = 4
EPOCHS = 100


def corpus(name):
    """The real corpus whose published numbers apply: a synthetic corpus copies one's classes and sizes."""
    return name.removeprefix("synthetic-")


def published(run_id):
    """The paper's {corpus: (UA, WA, ACC)} for the system one of our runs reproduces; {} where it gives none."""
    if run_id == "dslstm/published":
        return DSLSTM
    return next((numbers for _, _, source, numbers in TABLE6 if source == run_id), {})
