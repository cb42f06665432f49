"""Device selection: GPU first, CPU otherwise."""

from __future__ import annotations

import torch

from skelzoo.errors import SkelzooError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SkelzooError(f"unknown device {name!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SkelzooError(f"device {name!r} asked for, but CUDA is not available here; use --device cpu.")
    return dev
