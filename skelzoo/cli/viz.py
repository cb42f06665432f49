"""`skelzoo show`, `skelzoo plot-log` and `skelzoo layouts`: pictures of clips and runs, and the
skeleton layouts skelzoo knows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from skelzoo.cli.common import JsonOpt
from skelzoo.errors import SkelzooError


def _size(text: Optional[str]) -> Optional[tuple[int, int]]:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise SkelzooError(f"--size {text!r}: write it as WIDTHxHEIGHT in pixels, e.g. 600x320.")
    return int(match.group(1)), int(match.group(2))


def _echo(message: str) -> None:
    typer.echo(message, err=True)


def show(
    clip: Annotated[Path, typer.Argument(help="A clip (.npy/.npz; (C, T, V, M), (M, T, V, C) or (T, V, C)), or a set (N, C, T, V, M) such as val_data_joint.npy with --index.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The picture: .gif (animation), .mp4 (animation, needs ffmpeg) or .png (filmstrip of key frames).")],
    layout: Annotated[str, typer.Option("--layout", "-l", help="Skeleton layout of the clip (see `skelzoo layouts`); bones are drawn from it.")] = "ntu25",
    index: Annotated[Optional[int], typer.Option("--index", "-i", help="Which clip of a set (N, C, T, V, M) to draw.")] = None,
    augment: Annotated[bool, typer.Option("--augment", help="Draw two augmented views (temporal crop-resize + shear or joint jitter, as in training) beside the clip.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the augmentations, so a picture can be made again.")] = 0,
    frames: Annotated[int, typer.Option("--frames", min=1, help="Animation: at most this many frames, spread evenly over the valid ones.")] = 48,
    strip: Annotated[int, typer.Option("--strip", min=1, help="Filmstrip (.png): key frames per row.")] = 6,
    fps: Annotated[int, typer.Option("--fps", min=1, help="Animation speed, frames per second.")] = 15,
    size: Annotated[Optional[str], typer.Option("--size", help="Picture size WIDTHxHEIGHT in pixels (default: from the panel count).")] = None,
    dpi: Annotated[int, typer.Option("--dpi", min=20, help="Dots per inch: larger means larger text and lines at the same pixel size.")] = 80,
    json_out: JsonOpt = False,
) -> None:
    """Draw a skeleton clip: a 3D animation (GIF/MP4) or a filmstrip (PNG).

    Bones come from the layout, each body has its own colour, axis limits stay fixed over the clip and a frame counter runs along. The view is read from the body (the hips -> shoulders direction is up, the subject faces you), so camera-frame, preprocessed and image-frame clips all stand upright. Zero-padded frames at the end are left out.

    With --augment the clip is drawn beside two views made by the training augmentations (skelzoo.augment.isc_views, seeded by --seed): what the encoder is taught to see as the same action.

    Example: skelzoo show data/xsub/val_data_joint.npy --index 3 -o clip.gif --augment
    """
    from skelzoo.viz.animate import SHOW_SUFFIXES, read_clip_file, render_clip

    if out.suffix.lower() not in SHOW_SUFFIXES:
        raise SkelzooError(f"{out}: cannot write a {out.suffix or 'suffix-less'} file; use one of {', '.join(SHOW_SUFFIXES)}.")
    data, name = read_clip_file(clip, index, layout)
    path = render_clip(out, data, layout=layout, augment=augment, seed=seed, max_frames=frames, fps=fps,
                       strip_frames=strip, size=_size(size), dpi=dpi, title=name)
    info = {"path": str(path), "bytes": path.stat().st_size}
    if path.suffix.lower() != ".mp4":
        from PIL import Image  # comes with matplotlib

        with Image.open(path) as im:
            info.update(width=im.width, height=im.height, frames=getattr(im, "n_frames", 1))
    if json_out:
        typer.echo(json.dumps(info))
    else:
        extra = f" ({info['width']}x{info['height']}, {info['frames']} frame(s))" if "width" in info else ""
        _echo(f"wrote {path}{extra}")


def plot_log(
    run: Annotated[Path, typer.Argument(help="A training run directory (runs/<name>/) or its log.jsonl.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="The picture (.png, .svg or .pdf); default <run>/curves.png.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Plot a run's training curves: loss, learning rate, throughput (clips/s) against the step, and kNN top-1 against the epoch when the run had the kNN monitor on.

    Reads RUN/log.jsonl (one JSON object a line, written by `skelzoo train`); a line that is not JSON is reported with its number.
    """
    from skelzoo.viz.curves import find_log, training_curves_png

    log = find_log(run)
    path = training_curves_png(out or log.parent / "curves.png", log)
    if json_out:
        typer.echo(json.dumps({"path": str(path), "log": str(log)}))
    else:
        _echo(f"wrote {path}")


def layouts(json_out: JsonOpt = False) -> None:
    """List the skeleton layouts: joints, centre joint, and how each maps onto ntu25 (the layout the zoo's models were trained on): joints copied, interpolated from neighbours, zero-filled."""
    import numpy as np

    from skelzoo.layout_mapping import mappable_layouts, to_ntu25
    from skelzoo.layouts import get_layout, list_layouts

    rows = []
    for name in list_layouts():
        lay = get_layout(name)
        row = {"name": name, "joints": lay.num_joints, "center": lay.joints[lay.center], "description": lay.description}
        if name in mappable_layouts():
            _, _, report = to_ntu25(np.zeros((3, 1, lay.num_joints, 1), dtype=np.float32), name)
            row["to_ntu25"] = report.to_dict()
        rows.append(row)
    if json_out:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="skeleton layouts")
    for col in ("name", "joints", "centre", "to ntu25: copied / interpolated / zero", "description"):
        table.add_column(col)
    for row in rows:
        rep = row.get("to_ntu25")
        mapping = f"{len(rep['shared'])} / {len(rep['interpolated'])} / {len(rep['zero_filled'])}" if rep else "-"
        table.add_row(row["name"], str(row["joints"]), row["center"], mapping, row["description"])
    Console(stderr=False).print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("show")(show)
    app.command("plot-log")(plot_log)
    app.command("layouts")(layouts)
