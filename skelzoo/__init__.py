"""skelzoo: self-supervised encoders for skeleton-based human action understanding."""

from __future__ import annotations

__version__ = "0.1.0"

from skelzoo.errors import SkelzooError  # noqa: E402
from skelzoo.layouts import get_layout, list_layouts  # noqa: E402

__all__ = ["SkelzooError", "get_layout", "list_layouts", "__version__"]
