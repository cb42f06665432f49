"""Test-wide settings: never touch the network, never write into the user's cache."""

import os
import tempfile

# Set before anything imports huggingface_hub (it reads HF_HUB_OFFLINE at import time).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("SKELZOO_CACHE", tempfile.mkdtemp(prefix="skelzoo-test-cache-"))
os.environ.setdefault("HF_HOME", os.path.join(os.environ["SKELZOO_CACHE"], "hf"))
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

# Tiny test models gain nothing from threads, and spin-waiting threads stall on a busy machine.
torch.set_num_threads(1)
