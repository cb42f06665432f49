"""Evaluation pictures: a 2D map of the features, the confusion matrix and per-class accuracy.

The feature map is a PCA (numpy SVD): deterministic, no extra dependency, and its axes mean
something (the directions of largest variance). It shows coarse structure only; classes that
overlap in two principal components may still be separable in the full feature space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.viz import _mpl


def _labels(y: Any, n: int | None, what: str, num_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or (n is not None and len(y) != n):
        raise SkelzooError(f"{what}: expected {n if n is not None else 'a 1-D array of'} labels, got shape {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        raise SkelzooError(f"{what}: labels must be class indices (integers), got {y.dtype}.")
    bad = (y < 0) | (y >= num_classes)
    if bad.any():
        raise SkelzooError(f"{what}: label {int(y[bad][0])} is outside 0..{num_classes - 1} ({num_classes} class names given).")
    return y.astype(np.int64)


def pca_2d(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) coordinates on the first two principal components and the variance share of each."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise SkelzooError(f"feature map: expected features (N >= 2, D), got shape {x.shape}.")
    if not np.isfinite(x).all():
        raise SkelzooError("feature map: the features hold NaN or infinite values.")
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    total = float((s**2).sum())
    coords = np.zeros((x.shape[0], 2))
    k = min(2, len(s))
    coords[:, :k] = u[:, :k] * s[:k]
    share = np.zeros(2)
    if total > 0:
        share[:k] = s[:k] ** 2 / total
    return coords, share


def feature_map_png(path: str | Path, features: Any, labels: Any, class_names: Sequence[str],
                    width: int = 720, height: int = 540, dpi: int = 100, title: str | None = None) -> Path:
    """Scatter the features (N, D) on their first two principal components, coloured by class."""
    _mpl.check_suffix(path)
    coords, share = pca_2d(features)
    names = list(class_names)
    y = _labels(labels, coords.shape[0], "feature map", len(names))
    colours = _mpl.class_colours(len(names))
    fig = _mpl.figure(width, height, dpi)
    legend = len(names) <= 30
    ax = fig.add_axes((0.08, 0.1, 0.62 if legend else 0.88, 0.8))
    size = float(np.clip(3000 / len(y), 4, 30))
    for c in range(len(names)):
        sel = y == c
        if sel.any():
            ax.scatter(coords[sel, 0], coords[sel, 1], s=size, color=colours[c], label=names[c], alpha=0.8, linewidths=0)
    ax.set_xlabel(f"PC 1 ({share[0]:.0%} of variance)", fontsize=8)
    ax.set_ylabel(f"PC 2 ({share[1]:.0%} of variance)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title or f"PCA of {len(y)} feature vectors ({np.asarray(features).shape[1]}-d)", fontsize=9)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False, markerscale=1.5,
                  ncol=1 if len(names) <= 15 else 2)
    return _mpl.save(fig, path)


def confusion(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class."""
    t = _labels(y_true, None, "confusion matrix (true labels)", num_classes)
    p = _labels(y_pred, len(t), "confusion matrix (predictions)", num_classes)
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


def confusion_matrix_png(path: str | Path, y_true: Any, y_pred: Any, class_names: Sequence[str],
                         width: int | None = None, height: int | None = None, dpi: int = 100,
                         title: str | None = None) -> Path:
    """The confusion matrix, each row normalised by the true class's count (numbers shown up to
    20 classes). Default size grows with the class count."""
    _mpl.check_suffix(path)
    names = list(class_names)
    n = len(names)
    counts = confusion(y_true, y_pred, n)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    side = max(420, 16 * n + 220)
    fig = _mpl.figure(width or side, height or side, dpi)
    ax = fig.add_axes((0.26, 0.26, 0.66, 0.66))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    fontsize = 7 if n <= 30 else 5
    ax.set_xticks(range(n), names, rotation=90, fontsize=fontsize)
    ax.set_yticks(range(n), names, fontsize=fontsize)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    ax.text(j, i, f"{share[i, j]:.2f}".lstrip("0") if share[i, j] < 1 else "1", ha="center",
                            va="center", fontsize=6, color="white" if share[i, j] > 0.5 else "black")
    acc = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(title or f"confusion (rows: true class), accuracy {acc:.1%} of {counts.sum()}", fontsize=9)
    return _mpl.save(fig, path)


def per_class_accuracy_png(path: str | Path, y_true: Any, y_pred: Any, class_names: Sequence[str],
                           width: int = 640, height: int | None = None, dpi: int = 100,
                           title: str | None = None) -> Path:
    """One bar per class (in class order): the share of its test clips predicted correctly;
    the dashed line is the mean over classes. Classes without test clips are marked."""
    _mpl.check_suffix(path)
    names = list(class_names)
    n = len(names)
    counts = confusion(y_true, y_pred, n)
    support = counts.sum(axis=1)
    acc = np.divide(np.diag(counts), support, out=np.zeros(n), where=support > 0)
    height = height or max(260, 14 * n + 90)
    fig = _mpl.figure(width, height, dpi)
    # Margins in pixels, so the labels fit whatever the class count makes the height.
    bottom, top = 45 / height, 28 / height
    ax = fig.add_axes((0.3, bottom, 0.62, 1 - bottom - top))
    from matplotlib import colormaps

    cmap = colormaps["RdYlGn"]
    ax.barh(range(n), acc, color=[cmap(a) if s else "0.8" for a, s in zip(acc, support)])
    for i in np.flatnonzero(support == 0):
        ax.text(0.01, i, "no test clips", va="center", fontsize=6, color="0.3")
    mean = float(acc[support > 0].mean()) if (support > 0).any() else 0.0
    ax.axvline(mean, color="0.2", ls="--", lw=1)
    ax.set_yticks(range(n), names, fontsize=7 if n <= 40 else 5)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title or f"per-class accuracy (mean over classes {mean:.1%})", fontsize=9)
    return _mpl.save(fig, path)
