"""The training path: which run each training stage trains (`experiments`), the cross-validation loop (`loop`) with
its folds, loss and resumable checkpoints, and what a stage writes (`record`). Its imports are what decides a
training number, so that nothing else re-trains a model (tests/test_wiring.py)."""
