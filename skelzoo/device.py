"""Device selection: GPU first, CPU otherwise."""

from __future__ import annotations

import os
import platform
from pathlib import Path

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


def machine_info(threads: int | None = None) -> dict:
    """What a benchmark figure was measured on: CPU model, cores, torch, threads, load average."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
        "threads": threads or torch.get_num_threads(), "python": platform.python_version(),
        "load_avg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
