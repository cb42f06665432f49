"""Retrieval sheets: a query clip beside its nearest neighbours, a few key frames each, so a user
can see what the encoder thinks is similar (correct matches green, wrong ones red)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.layouts import Layout, get_layout
from skelzoo.viz import _mpl
from skelzoo.viz.skeleton import as_clip, bone_segments, key_frames, present, to_view, valid_frames, view_matrix

GOOD, BAD = "#2ca02c", "#d62728"


def _front(clip: np.ndarray, lay: Layout) -> np.ndarray:
    """(2, T, V, M) front view (picture right, up), each clip turned upright on its own."""
    matrix = view_matrix(clip[:, : valid_frames(clip)], lay)
    if matrix.shape[0] == 3:
        matrix = matrix[[0, 2]]  # drop the depth axis
    return to_view(clip, matrix)


def _strip(ax: Any, coords: np.ndarray, alive: np.ndarray, frames: np.ndarray, lay: Layout, stride: float,
           half_height: float, centre: np.ndarray) -> None:
    """Draw the key frames side by side in one 2D axes (one axes per clip keeps the sheet fast).
    The limits are chosen by the caller with the axes' own aspect, so the scale is equal in x, y."""
    from matplotlib.collections import LineCollection

    for slot, t in enumerate(frames):
        shift = np.array([slot * stride, 0.0]) - centre
        for m, segs in enumerate(bone_segments(coords[:, t], lay, alive[t])):
            if len(segs):
                ax.add_collection(LineCollection(list(segs + shift), colors=_mpl.body_colour(m), linewidths=1.2))
    ax.set_xlim(-stride / 2, (len(frames) - 0.5) * stride)
    ax.set_ylim(-half_height, half_height)
    ax.set_axis_off()


def _name(label: Any, class_names: Sequence[str] | None) -> str:
    if class_names is not None and isinstance(label, (int, np.integer)) and 0 <= int(label) < len(class_names):
        return str(class_names[int(label)])
    return str(label)


def retrieval_sheet_png(
    path: str | Path,
    query_clip: Any,
    neighbour_clips: Any,
    query_label: Any,
    neighbour_labels: Sequence[Any],
    scores: Sequence[float],
    layout: str | Layout = "ntu25",
    class_names: Sequence[str] | None = None,
    num_key_frames: int = 5,
    width: int = 900,
    row_height: int = 100,
    dpi: int = 100,
    title: str | None = None,
) -> Path:
    """A query clip (C, T, V, M) above its top-k neighbours (k, C, T, V, M) or a list of clips, each
    as `num_key_frames` key frames with its label and similarity score; a neighbour whose label
    equals the query's is green, otherwise red. Labels are names, or class indices that
    `class_names` turns into names. The picture is `width` x `row_height * (k + 1)` pixels."""
    lay = get_layout(layout)
    neighbours = [as_clip(c, lay, f"neighbour {i + 1}") for i, c in enumerate(neighbour_clips)]
    query = as_clip(query_clip, lay, "query clip")
    k = len(neighbours)
    if k == 0:
        raise SkelzooError("retrieval sheet: no neighbour clips given.")
    if len(neighbour_labels) != k or len(scores) != k:
        raise SkelzooError(
            f"retrieval sheet: {k} neighbour clips but {len(neighbour_labels)} labels and {len(scores)} scores; give one of each per clip."
        )
    _mpl.require()
    clips = [query, *neighbours]
    views = [_front(c, lay) for c in clips]
    alive = [present(c) for c in clips]
    frames = [key_frames(valid_frames(c), num_key_frames) for c in clips]
    # One scale for every row: a clip's key frames are centred on their own mean position.
    centres, extents = [], []
    for v, a, f in zip(views, alive, frames):
        pts = v[:, f].transpose(0, 1, 3, 2)[:, a[f]].reshape(2, -1)
        if pts.size == 0:
            pts = np.zeros((2, 1))
        lo, hi = pts.min(axis=1), pts.max(axis=1)
        centres.append((lo + hi) / 2)
        extents.append(hi - lo)
    ext = np.max(extents, axis=0)
    stride = max(float(ext[0]), float(ext[1]) * 0.6, 1e-6) * 1.15
    half_height = max(float(ext[1]), 1e-6) * 0.55

    fig = _mpl.figure(width, row_height * (k + 1), dpi)
    grid = fig.add_gridspec(k + 1, 2, width_ratios=(1, 5), left=0.01, right=0.99, top=0.97 if not title else 0.9,
                            bottom=0.02, hspace=0.1, wspace=0.02)
    # Equal scale in x and y: stretch whichever span is short of the axes' aspect ratio.
    box = grid[0, 1].get_position(fig)
    aspect = (box.width * width) / (box.height * row_height * (k + 1))
    slots = max(len(f) for f in frames)
    span = max(slots * stride, aspect * 2 * half_height)
    stride, half_height = span / slots, span / aspect / 2
    query_name = _name(query_label, class_names)
    for row in range(k + 1):
        label_ax = fig.add_subplot(grid[row, 0])
        label_ax.set_axis_off()
        if row == 0:
            text, colour = f"query\n{query_name}", "black"
        else:
            name = _name(neighbour_labels[row - 1], class_names)
            colour = GOOD if name == query_name else BAD
            text = f"#{row}  {name}\nscore {float(scores[row - 1]):.3f}"
        label_ax.text(0.02, 0.5, text, color=colour, fontsize=9, va="center", ha="left",
                      fontweight="bold" if row == 0 else "normal", transform=label_ax.transAxes)
        ax = fig.add_subplot(grid[row, 1])
        _strip(ax, views[row], alive[row], frames[row], lay, stride, half_height, centres[row])
        if row > 0:
            label_ax.axvline(0.0, color=colour, lw=5)  # a coloured bar: right or wrong at a glance
    if title:
        fig.suptitle(title, fontsize=10)
    return _mpl.save(fig, path)
