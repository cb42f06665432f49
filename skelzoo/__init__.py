"""skelzoo: self-supervised encoders for skeleton-based human action understanding."""

from __future__ import annotations

__version__ = "0.1.0"

from skelzoo.errors import SkelzooError  # noqa: E402
from skelzoo.layouts import get_layout, list_layouts  # noqa: E402

__all__ = ["SkelzooError", "get_layout", "list_layouts", "load", "load_model", "__version__"]


def __getattr__(name: str):
    # `skelzoo.load(...)` imports torch and the zoo on first use, so `import skelzoo` stays light.
    if name in ("load", "load_model"):
        from skelzoo.zoo.load import load_model

        return load_model
    raise AttributeError(f"module 'skelzoo' has no attribute {name!r}")
