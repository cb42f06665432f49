"""matplotlib, imported only when a picture is drawn, on the Agg canvas (no display, no pyplot).

skelzoo's plots are an optional extra: ``import skelzoo.viz`` works without matplotlib and the
first drawing call explains how to install it. Figures are made with ``matplotlib.figure.Figure``
and an Agg canvas directly, so drawing never switches the backend of a user's own pyplot session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skelzoo.errors import SkelzooError

INSTALL_HINT = "pictures need matplotlib: pip install skelzoo[plots]"
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")


def require() -> Any:
    """The matplotlib module, or a SkelzooError that says how to install it."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError as err:
        raise SkelzooError(f"{INSTALL_HINT} ({err})") from None
    return matplotlib


def figure(width_px: int, height_px: int, dpi: int = 100) -> Any:
    """A Figure of exactly `width_px` x `height_px` pixels when saved at `dpi` (no tight bbox)."""
    require()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if width_px < 16 or height_px < 16:
        raise SkelzooError(f"a picture of {width_px} x {height_px} pixels is too small; use at least 16 x 16.")
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def check_suffix(path: str | Path, allowed: tuple[str, ...] = IMAGE_SUFFIXES) -> Path:
    path = Path(path)
    if path.suffix.lower() not in allowed:
        raise SkelzooError(
            f"{path}: cannot write a {path.suffix or 'suffix-less'} file; use one of {', '.join(allowed)}."
        )
    return path


def save(fig: Any, path: str | Path) -> Path:
    """Write the figure (format from the suffix), creating the parent folder."""
    path = check_suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=fig.dpi)
    return path


def body_colour(m: int) -> str:
    """One colour per body, the same in every picture (body 1 blue, body 2 orange-red, ...)."""
    palette = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
    return palette[m % len(palette)]


def class_colours(n: int) -> list:
    """`n` distinguishable colours (tab10, tab20, then a continuous map)."""
    require()
    from matplotlib import colormaps

    if n <= 10:
        cmap = colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = colormaps["turbo"]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]
