"""Where tensors live: CUDA when present, the CPU otherwise, unless params say which."""

import torch


def device(name="auto"):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
