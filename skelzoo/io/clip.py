"""Read single clips (`.npy`/`.npz`) for `extract` and friends, whatever axis order they were saved in.

Accepted orders and how they are told apart (V = the layout's joint count, C = 2 or 3 coordinates):

- 3-D `(T, V, C)`: one body;
- 4-D `(M, T, V, C)`: bodies first (pyskl keypoints); the last axis is C;
- 4-D `(C, T, V, M)`: skelzoo's canonical single clip; the first axis is C.

Both 4-D orders keep joints on axis 2, so the rule only has to place C: it is the end axis whose
size is 2 or 3. When both end axes could be C, C = 3 wins over C = 2 (so `(3, T, 25, 2)` is
(C, T, V, M) and `(2, T, 25, 3)` is (M, T, V, C)); `(3, T, V, 3)` and `(2, T, V, 2)` stay ambiguous
and need an explicit `order=`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from skelzoo.errors import SkelzooError, unknown
from skelzoo.layouts import check_joint_count, get_layout
from skelzoo.io.preprocess import body_spread

ORDERS = ("TVC", "MTVC", "CTVM")


def _read_array(path: Path) -> np.ndarray:
    if not path.exists():
        raise SkelzooError(f"{path}: no such file")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                if len(keys) != 1:
                    raise SkelzooError(
                        f"{path}: a clip .npz must hold exactly one array, found {len(keys)} ({', '.join(keys)}); "
                        "save the clip alone with np.save(path, clip)"
                    )
                return z[keys[0]]
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise SkelzooError(
                f"{path}: holds a Python-object array, which skelzoo does not unpickle; save a numeric "
                "array instead (np.save(path, np.asarray(clip, dtype=np.float32)))"
            ) from None
        raise SkelzooError(f"{path}: not a readable .npy/.npz file ({err})") from None
    except (OSError, EOFError) as err:
        raise SkelzooError(f"{path}: not a readable .npy/.npz file, truncated? ({err})") from None


def _infer_order(shape: tuple[int, ...], layout: str, source: str) -> str:
    if len(shape) == 3:
        check_joint_count(shape[1], layout, f"{source} (read as (T, V, C), shape {shape})")
        return "TVC"
    if len(shape) != 4:
        raise SkelzooError(
            f"{source}: a clip must be 3-D (T, V, C) or 4-D (M, T, V, C) / (C, T, V, M); got shape {shape}"
        )
    check_joint_count(shape[2], layout, f"{source} (joints on axis 2, shape {shape})")
    first_c, last_c = shape[0] in (2, 3), shape[3] in (2, 3)
    if first_c and last_c and shape[0] != shape[3]:
        return "CTVM" if shape[0] == 3 else "MTVC"
    if first_c and not last_c:
        return "CTVM"
    if last_c and not first_c:
        return "MTVC"
    if first_c and last_c:
        raise SkelzooError(
            f"{source}: shape {shape} is ambiguous: both (C, T, V, M) and (M, T, V, C) fit. "
            "Pass order='CTVM' or order='MTVC' (CLI: --order)."
        )
    raise SkelzooError(
        f"{source}: shape {shape} has no coordinate axis of size 2 or 3 at either end; expected "
        "(M, T, V, C) or (C, T, V, M)"
    )


def to_ctvm(array: np.ndarray, order: str) -> np.ndarray:
    if order == "TVC":
        return array.transpose(2, 0, 1)[..., None]
    if order == "MTVC":
        return array.transpose(3, 1, 2, 0)
    return array


def _pad_bodies(x: np.ndarray, max_bodies: int) -> np.ndarray:
    """(C, T, V, M) -> (C, T, V, max_bodies): the most active bodies first, zero bodies added."""
    c, t, v, m = x.shape
    if m > max_bodies:
        order = sorted(range(m), key=lambda i: -body_spread(x[..., i].transpose(1, 2, 0)))[:max_bodies]
        x = x[..., order]
    elif m < max_bodies:
        x = np.concatenate([x, np.zeros((c, t, v, max_bodies - m), dtype=x.dtype)], axis=-1)
    return x


def load_clip(
    path: str | Path, layout: str = "ntu25", max_bodies: int = 2, order: str | None = None
) -> tuple[np.ndarray, int]:
    """Read one clip as ((C, T, V, max_bodies) float32, valid frames).

    Valid frames = last frame with any non-zero joint + 1. `order` ('TVC', 'MTVC', 'CTVM') overrides
    the shape rule of the module docstring. Bad shapes, joint counts, NaN/inf, empty or all-zero
    clips raise SkelzooError naming the file.
    """
    path = Path(path)
    lay = get_layout(layout)
    array = _read_array(path)
    if array.dtype.kind not in "fiu":
        raise SkelzooError(f"{path}: dtype {array.dtype} is not numeric; save float32 coordinates")
    if order is None:
        order = _infer_order(array.shape, lay.name, str(path))
    else:
        if order not in ORDERS:
            raise unknown("clip axis order", order, ORDERS)
        if array.ndim != len(order):
            raise SkelzooError(f"{path}: order={order!r} needs a {len(order)}-D array, got shape {array.shape}")
        check_joint_count(array.shape[order.index("V")], lay, f"{path} (order {order}, shape {array.shape})")
    x = to_ctvm(array, order).astype(np.float32)
    if x.shape[0] not in (2, 3):
        raise SkelzooError(f"{path}: {x.shape[0]} coordinates per joint (order {order}); expected 2 or 3")
    if x.shape[1] == 0:
        raise SkelzooError(f"{path}: the clip has zero frames")
    bad = ~np.isfinite(x)
    if bad.any():
        frames = np.flatnonzero(bad.any(axis=(0, 2, 3)))
        raise SkelzooError(
            f"{path}: {int(bad.sum())} NaN/inf values, first in frame {int(frames[0])} "
            "(0-based); fill missing joints with 0, which skelzoo treats as 'not tracked'"
        )
    moving = np.flatnonzero(np.abs(x).sum(axis=(0, 2, 3)) > 0)
    if moving.size == 0:
        raise SkelzooError(f"{path}: every coordinate is zero; there is no skeleton in this clip")
    x = _pad_bodies(x, max_bodies)
    return np.ascontiguousarray(x), int(moving[-1]) + 1


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; directories become their sorted *.npy files."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.glob("*.npy"))
            if not found:
                raise SkelzooError(f"{p}: directory holds no .npy clips")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise SkelzooError(f"{p}: no such file or directory")
    return out


def load_clips(
    paths: Iterable[str | Path], layout: str = "ntu25", max_bodies: int = 2, order: str | None = None
) -> list[tuple[str, np.ndarray, int]]:
    """(name, clip, valid frames) for every file, directories expanded to their sorted *.npy."""
    return [(p.stem, *load_clip(p, layout, max_bodies, order)) for p in expand_paths(paths)]
