"""Training curves from a run's `log.jsonl` (docs/ARCHITECTURE.md, "Training run directory").

Each line is one JSON object: a logged step ``{"epoch", "step", "loss", "lr", "clips_per_s",
"time"}`` or a kNN monitor result ``{"epoch", "knn_top1"}``. Unknown keys are ignored, so newer
logs still plot.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.viz import _mpl

LOG_NAME = "log.jsonl"
STEP_KEYS = ("loss", "lr", "clips_per_s")


def find_log(run: str | Path) -> Path:
    """`run` is a run directory (holding log.jsonl) or the log file itself."""
    run = Path(run)
    path = run / LOG_NAME if run.is_dir() else run
    if not path.is_file():
        hint = f" (is {run} a training run directory? `skelzoo train` writes {LOG_NAME} there)" if run.is_dir() else ""
        raise SkelzooError(f"{path}: no such file{hint}.")
    return path


def read_log(path: str | Path) -> list[dict]:
    """The log's records, in order. A line that is not a JSON object is an error naming it."""
    path = find_log(path)
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise SkelzooError(f"{path}, line {number}: not valid JSON ({err.msg}); the log is damaged.") from None
            if not isinstance(rec, dict):
                raise SkelzooError(f"{path}, line {number}: expected a JSON object per line, got {type(rec).__name__}.")
            records.append(rec)
    if not records:
        raise SkelzooError(f"{path}: the log is empty; nothing to plot (has the run logged a step yet?).")
    return records


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def series(records: list[dict]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Curves as (x, y) arrays: step-level keys against the step (or record order when a log has
    no steps), kNN top-1 against the epoch."""
    out: dict[str, tuple[list, list]] = {}
    order = 0
    for rec in records:
        if _number(rec.get("knn_top1")) is not None and _number(rec.get("epoch")) is not None:
            xs, ys = out.setdefault("knn_top1", ([], []))
            xs.append(_number(rec["epoch"]))
            ys.append(_number(rec["knn_top1"]))
        if any(_number(rec.get(k)) is not None for k in STEP_KEYS):
            step = _number(rec.get("step"))
            x = step if step is not None else float(order)
            order += 1
            for key in STEP_KEYS:
                if _number(rec.get(key)) is not None:
                    xs, ys = out.setdefault(key, ([], []))
                    xs.append(x)
                    ys.append(_number(rec[key]))
    return {k: (np.array(x), np.array(y)) for k, (x, y) in out.items()}


_PANELS = {
    "loss": ("contrastive loss", "step"),
    "lr": ("learning rate", "step"),
    "clips_per_s": ("throughput (clips/s)", "step"),
    "knn_top1": ("kNN top-1 (monitor)", "epoch"),
}


def training_curves_png(path: str | Path, run: str | Path, width: int = 900, height: int = 600, dpi: int = 100,
                        title: str | None = None) -> Path:
    """Plot loss, learning rate, throughput and (when logged) kNN top-1 of a run to a picture."""
    _mpl.check_suffix(path)
    log = find_log(run)
    curves = series(read_log(log))
    if not curves:
        raise SkelzooError(
            f"{log}: no loss, lr, clips_per_s or knn_top1 values in any line; is this a skelzoo training log?"
        )
    keys = [k for k in _PANELS if k in curves]
    cols = 2 if len(keys) > 1 else 1
    rows = math.ceil(len(keys) / cols)
    fig = _mpl.figure(width, height, dpi)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        x, y = curves[key]
        name, xlabel = _PANELS[key]
        ax.plot(x, y, lw=1.2, marker="o" if len(x) <= 30 else None, ms=3, color="#1f77b4")
        if key == "knn_top1":
            best = int(np.argmax(y))
            right = best > len(x) / 2  # keep the note inside the panel
            ax.annotate(f"best {y[best]:.3g} (epoch {x[best]:g})", (x[best], y[best]), fontsize=7,
                        xytext=(-4 if right else 4, -12), textcoords="offset points", ha="right" if right else "left")
        if key == "lr" and (y > 0).all() and y.max() / y.min() > 100:
            ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"training curves: {log.parent.name or log.name}", fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.09, top=0.9, wspace=0.25, hspace=0.45)
    return _mpl.save(fig, path)
