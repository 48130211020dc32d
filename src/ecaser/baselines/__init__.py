"""Where the paper's method stands against the field: baselines trained and scored on the same clips and folds.

egemaps.py  openSMILE's eGeMAPSv02 functionals (88 per clip) of the segments the CNN sees
linear.py   a scaled linear classifier over fixed-size clip features, its C chosen inside each training fold
ssl.py      frozen self-supervised speech encoders (local Hugging Face folders only): every layer's mean embedding
probe.py    probes of those embeddings: a learnt layer weighting with a small head, and a linear probe per layer
"""
