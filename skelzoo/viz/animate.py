"""`skelzoo show`: a clip as a 3D animation (GIF/MP4) or a filmstrip (PNG), optionally beside two
augmented views of it, so a user sees both the data and what the ISC augmentations do to it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.layouts import Layout, get_layout
from skelzoo.viz import _mpl
from skelzoo.viz.skeleton import as_clip, bone_segments, bounds, key_frames, present, to_view, valid_frames, view_matrix

SHOW_SUFFIXES = (".gif", ".mp4", ".png")


@dataclass
class Panel:
    """One skeleton sequence to draw: picture coordinates (D, T, V, M) and its valid frames."""

    title: str
    coords: np.ndarray
    num_frames: int

    @property
    def present(self) -> np.ndarray:
        return present(self.coords)


def read_clip_file(path: str | Path, index: int | None = None, layout: str | Layout = "ntu25") -> tuple[np.ndarray, str]:
    """A clip (C, T, V, M) and a name for it, from a file.

    A dataset array `.npy` (N, C, T, V, M) needs `index` (it is memory-mapped, so picking one clip
    of a large set is cheap); any single clip that :func:`skelzoo.io.clip.load_clip` reads
    (`.npy`/`.npz`, (T, V, C), (M, T, V, C) or (C, T, V, M)) is taken whole, every body kept.
    """
    from skelzoo.io.clip import load_clip

    path = Path(path)
    if not path.is_file():
        raise SkelzooError(f"{path}: no such file.")
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as err:
            raise SkelzooError(f"{path}: not a plain numeric .npy array ({err}).") from None
        if arr.ndim == 5:
            if index is None:
                raise SkelzooError(f"{path}: holds {arr.shape[0]} clips (N, C, T, V, M); pick one with --index (0..{arr.shape[0] - 1}).")
            if not 0 <= index < arr.shape[0]:
                raise SkelzooError(f"{path}: --index {index} is out of range; the file holds {arr.shape[0]} clips (0..{arr.shape[0] - 1}).")
            return np.array(arr[index], dtype=np.float32), f"{path.name}[{index}]"
    if index is not None:
        raise SkelzooError(f"{path}: --index picks a clip of a set (N, C, T, V, M); this file is a single clip.")
    clip, _ = load_clip(path, get_layout(layout).name, max_bodies=_MAX_BODIES)
    bodies = np.flatnonzero((clip != 0).any(axis=(0, 1, 2)))
    return clip[..., : bodies[-1] + 1], path.name


_MAX_BODIES = 8  # a picture keeps every body a file has (up to this many)


def augmented_views(clip: np.ndarray, num_frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two views of `clip` drawn by :func:`skelzoo.augment.isc_views` (temporal crop-resize, then
    shear or joint jitter), seeded, so the picture is reproducible."""
    import torch

    from skelzoo.augment import isc_views

    if clip.shape[0] != 3:
        raise SkelzooError("--augment needs a 3D clip (x, y, z): the augmentations shear in 3D. Lift a 2D clip first (z = 0).")
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(clip))[None]
    q, k = isc_views(x, torch.tensor([num_frames]), gen)
    return q[0].numpy(), k[0].numpy()


def make_panels(clip: Any, layout: str | Layout = "ntu25", num_frames: int | None = None, augment: bool = False,
                seed: int = 0, source: str = "clip") -> list[Panel]:
    lay = get_layout(layout)
    clip = as_clip(clip, lay, source)
    n = valid_frames(clip) if num_frames is None else int(num_frames)
    if not 1 <= n <= clip.shape[1]:
        raise SkelzooError(f"{source}: num_frames={n} is outside 1..{clip.shape[1]}.")
    matrix = view_matrix(clip[:, :n], lay)  # one view for all panels: augmentations stay visible
    panels = [Panel("clip" if not augment else "original", to_view(clip, matrix), n)]
    if augment:
        q, k = augmented_views(clip, n, seed)
        panels += [Panel("view 1 (query)", to_view(q, matrix), q.shape[1]),
                   Panel("view 2 (key)", to_view(k, matrix), k.shape[1])]
    return panels


class _Drawer:
    """The artists of one panel, created once and moved every frame (fast, and limits stay put)."""

    def __init__(self, ax: Any, panel: Panel, lay: Layout, centre: np.ndarray, half: float, linewidth: float):
        self.ax, self.panel, self.lay = ax, panel, lay
        self.dims = panel.coords.shape[0]
        num_bodies = panel.coords.shape[-1]
        if self.dims == 3:
            from mpl_toolkits.mplot3d.art3d import Line3DCollection

            # Seeded with one point-sized segment: older matplotlib cannot add an empty 3D collection.
            seed = [np.tile(centre, (2, 1))]
            self.bones = [Line3DCollection(seed, colors=_mpl.body_colour(m), linewidths=linewidth) for m in range(num_bodies)]
            for coll in self.bones:
                ax.add_collection3d(coll)
            self.joints = [ax.plot([], [], [], "o", ms=linewidth * 1.2, color=_mpl.body_colour(m))[0] for m in range(num_bodies)]
            ax.set_xlim(centre[0] - half, centre[0] + half)
            ax.set_ylim(centre[1] - half, centre[1] + half)
            ax.set_zlim(centre[2] - half, centre[2] + half)
            ax.set_box_aspect((1, 1, 1), zoom=1.25)
            ax.view_init(elev=12, azim=-70)
            # No 3D axis box (its panes and grid cost most of the drawing time); a floor square
            # under the body gives the depth cue instead.
            ax.set_axis_off()
            lo, hi = centre - half, centre + half
            floor = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]], [lo[0], lo[1]]])
            ax.plot(floor[:, 0], floor[:, 1], np.full(5, lo[2]), color="0.6", lw=0.8)
            for f in np.linspace(0.25, 0.75, 3):
                ax.plot([lo[0] + f * 2 * half] * 2, [lo[1], hi[1]], [lo[2]] * 2, color="0.85", lw=0.5)
                ax.plot([lo[0], hi[0]], [lo[1] + f * 2 * half] * 2, [lo[2]] * 2, color="0.85", lw=0.5)
        else:
            from matplotlib.collections import LineCollection

            self.bones = [LineCollection([], colors=_mpl.body_colour(m), linewidths=linewidth) for m in range(num_bodies)]
            for coll in self.bones:
                ax.add_collection(coll)
            self.joints = [ax.plot([], [], "o", ms=linewidth * 1.2, color=_mpl.body_colour(m))[0] for m in range(num_bodies)]
            ax.set_xlim(centre[0] - half, centre[0] + half)
            ax.set_ylim(centre[1] - half, centre[1] + half)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])

    def show(self, t: int, counter: bool = True) -> None:
        frame = self.panel.coords[:, t]
        alive = self.panel.present[t]
        for m, segs in enumerate(bone_segments(frame, self.lay, alive)):
            self.bones[m].set_segments(list(segs))
            pts = frame[:, :, m] if alive[m] else np.zeros((self.dims, 0))
            if self.dims == 3:
                self.joints[m].set_data_3d(pts[0], pts[1], pts[2])
            else:
                self.joints[m].set_data(pts[0], pts[1])
        title = f"{self.panel.title}\nframe {t + 1}/{self.panel.num_frames}" if counter else f"frame {t + 1}"
        self.ax.set_title(title, fontsize=8)


def _panel_axes(fig: Any, rows: int, cols: int, i: int, dims: int) -> Any:
    return fig.add_subplot(rows, cols, i + 1, projection="3d" if dims == 3 else None)


def _limits(panels: list[Panel]) -> tuple[np.ndarray, float]:
    return bounds([p.coords[:, : p.num_frames] for p in panels], [p.present[: p.num_frames] for p in panels])


def _default_size(panels: list[Panel], filmstrip: int | None) -> tuple[int, int]:
    if filmstrip:
        return 130 * filmstrip, 150 * len(panels)
    return 300 * len(panels), 320


def render_clip(path: str | Path, clip: Any, layout: str | Layout = "ntu25", num_frames: int | None = None,
                augment: bool = False, seed: int = 0, max_frames: int = 48, fps: int = 15,
                strip_frames: int = 6, size: tuple[int, int] | None = None, dpi: int = 80,
                title: str | None = None) -> Path:
    """Draw a clip (C, T, V, M) to `path`: `.gif` / `.mp4` animate it (at most `max_frames`
    frames spread over the valid ones, `fps` frames a second), `.png` is a filmstrip of
    `strip_frames` key frames. With `augment`, two augmented views are drawn beside the clip
    (rows in a filmstrip). `size` is the picture in pixels (width, height). Returns `path`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SHOW_SUFFIXES:
        raise SkelzooError(f"{path}: cannot write a {path.suffix or 'suffix-less'} file; use one of {', '.join(SHOW_SUFFIXES)}.")
    if max_frames < 1 or strip_frames < 1 or fps < 1:
        raise SkelzooError("frames, strip frames and fps must be at least 1.")
    _mpl.require()
    lay = get_layout(layout)
    panels = make_panels(clip, lay, num_frames, augment, seed, source=title or "clip")
    centre, half = _limits(panels)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        _filmstrip(path, panels, lay, centre, half, strip_frames, size, dpi, title)
    else:
        _animation(path, panels, lay, centre, half, max_frames, fps, size, dpi, title)
    return path


def _filmstrip(path: Path, panels: list[Panel], lay: Layout, centre: np.ndarray, half: float, k: int,
               size: tuple[int, int] | None, dpi: int, title: str | None) -> None:
    width, height = size or _default_size(panels, k)
    fig = _mpl.figure(width, height, dpi)
    for r, panel in enumerate(panels):
        frames = key_frames(panel.num_frames, k)
        for c, t in enumerate(frames):
            ax = _panel_axes(fig, len(panels), k, r * k + c, panel.coords.shape[0])
            _Drawer(ax, panel, lay, centre, half, linewidth=1.2).show(int(t), counter=False)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.01, top=0.86 if title else 0.92, wspace=0.02, hspace=0.2)
    for r, panel in enumerate(panels):
        pos = fig.axes[r * k].get_position()
        fig.text(0.02, (pos.y0 + pos.y1) / 2, f"{panel.title} ({panel.num_frames} frames)", rotation=90,
                 va="center", ha="center", fontsize=8)
    fig.savefig(path, dpi=dpi)


def _animation(path: Path, panels: list[Panel], lay: Layout, centre: np.ndarray, half: float, max_frames: int,
               fps: int, size: tuple[int, int] | None, dpi: int, title: str | None) -> None:
    from matplotlib import animation

    if path.suffix.lower() == ".mp4":
        if not animation.FFMpegWriter.isAvailable():
            raise SkelzooError(f"{path}: writing .mp4 needs ffmpeg on PATH (not found); install it, or write a .gif.")
        writer = animation.FFMpegWriter(fps=fps)
    else:
        writer = animation.PillowWriter(fps=fps)
    width, height = size or _default_size(panels, None)
    fig = _mpl.figure(width, height, dpi)
    drawers = [_Drawer(_panel_axes(fig, 1, len(panels), i, p.coords.shape[0]), p, lay, centre, half, linewidth=1.8)
               for i, p in enumerate(panels)]
    if title:
        fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.84 if title else 0.88, wspace=0.02)
    count = min(max_frames, max(p.num_frames for p in panels))
    with writer.saving(fig, str(path), dpi):
        for i in range(count):
            for d in drawers:
                # Each panel walks its own valid frames at the same relative time.
                n = d.panel.num_frames
                d.show(int(round(i * (n - 1) / max(count - 1, 1))))
            writer.grab_frame()
