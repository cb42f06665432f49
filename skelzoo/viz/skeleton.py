"""Skeleton geometry for drawing: which frames and bodies are real, and which way is up.

Clips come in several coordinate frames: Kinect's camera frame (y up), prepared NTU data (the
reference preprocessing turns the spine onto the z axis), image coordinates of 2D detectors (y
down) and MediaPipe world landmarks (y down). Rather than trust one convention, the view is read
from the body itself: "up" is the axis the hips -> shoulders vector mostly points along, and the
viewer stands in front of the subject (the subject's left on the right of the picture). The view
is a signed permutation of the axes, so nothing is stretched or sheared by it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.layouts import Layout, check_joint_count, get_layout


def as_clip(x: Any, layout: str | Layout, source: str = "clip") -> np.ndarray:
    """A float32 numpy clip (C, T, V, M) from an array or tensor (C, T, V) / (C, T, V, M)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise SkelzooError(f"{source}: expected a clip (C, T, V, M); got shape {x.shape}.")
    if x.shape[0] not in (2, 3):
        raise SkelzooError(
            f"{source}: {x.shape[0]} coordinates per joint; pictures take 2D (x, y) or 3D (x, y, z) "
            "clips (drop a confidence channel first)."
        )
    check_joint_count(x.shape[2], layout, source)
    if not np.isfinite(x).all():
        raise SkelzooError(f"{source}: the clip holds NaN or infinite coordinates; replace them (e.g. by 0 = missing).")
    return x


def present(clip: np.ndarray) -> np.ndarray:
    """(T, M) bool: the body has at least one non-zero coordinate in that frame."""
    return (clip != 0).any(axis=(0, 2))


def valid_frames(clip: np.ndarray) -> int:
    """Frames up to the last one with any body in it (padding is all zeros); at least 1."""
    rows = np.flatnonzero(present(clip).any(axis=1))
    return int(rows[-1]) + 1 if len(rows) else 1


def key_frames(num_frames: int, k: int) -> np.ndarray:
    """`k` frame indices spread evenly over [0, num_frames), first and last included."""
    k = max(1, min(k, num_frames))
    return np.unique(np.linspace(0, num_frames - 1, k).round().astype(int))


def _midpoint(clip: np.ndarray, lay: Layout, a: str, b: str, mask: np.ndarray) -> np.ndarray | None:
    if a not in lay.joints or b not in lay.joints:
        return None
    pts = (clip[:, :, lay.index(a), :] + clip[:, :, lay.index(b), :]) / 2  # (C, T, M)
    return pts[:, mask]


def view_matrix(clip: np.ndarray, layout: str | Layout) -> np.ndarray:
    """The signed permutation that maps clip coordinates to picture axes.

    3D clips: rows are (picture right, away from the viewer, up), matplotlib's (X, Y, Z), a proper
    rotation. 2D clips: rows are (right, up); an image whose y runs down stays as it was seen.
    """
    lay = get_layout(layout)
    c = clip.shape[0]
    mask = present(clip)
    up = left = None
    hips = _midpoint(clip, lay, "left_hip", "right_hip", mask)
    shoulders = _midpoint(clip, lay, "left_shoulder", "right_shoulder", mask)
    if hips is not None and shoulders is not None and hips.size:
        up = (shoulders - hips).mean(axis=1)
        ls, rs = lay.index("left_shoulder"), lay.index("right_shoulder")
        left = (clip[:, :, ls, :] - clip[:, :, rs, :])[:, mask].mean(axis=1)
    if up is None or not np.abs(up).max() > 0:
        up = np.eye(c)[1] * (-1 if c == 2 else 1)  # y up in 3D; image y runs down in 2D
    up_axis = int(np.argmax(np.abs(up)))
    up_sign = 1.0 if up[up_axis] >= 0 else -1.0
    if c == 2:
        m = np.zeros((2, 2))
        m[0, 1 - up_axis] = 1.0
        m[1, up_axis] = up_sign
        return m
    rest = [a for a in range(3) if a != up_axis]
    if left is None or not np.abs(left[rest]).max() > 0:
        left = np.eye(3)[rest[0]]
    right_axis = rest[int(np.argmax(np.abs(left[rest])))]
    right_sign = 1.0 if left[right_axis] >= 0 else -1.0  # the subject's left on the picture's right
    x = np.zeros(3)
    x[right_axis] = right_sign
    z = np.zeros(3)
    z[up_axis] = up_sign
    y = np.cross(z, x)  # completes a right-handed frame: the viewer looks along +y at the front
    return np.stack([x, y, z])


def to_view(clip: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(D, T, V, M) picture coordinates."""
    return np.einsum("dc,ctvm->dtvm", matrix, clip)


def bounds(views: list[np.ndarray], masks: list[np.ndarray], margin: float = 0.08) -> tuple[np.ndarray, float]:
    """Centre (D,) and half side of one cube holding every present joint of every view, so the
    axis limits stay fixed across frames and panels."""
    pts = [v.transpose(0, 1, 3, 2)[:, m].reshape(v.shape[0], -1) for v, m in zip(views, masks) if m.any()]
    if not pts:
        d = views[0].shape[0]
        return np.zeros(d), 1.0
    allp = np.concatenate(pts, axis=1)
    lo, hi = allp.min(axis=1), allp.max(axis=1)
    half = float((hi - lo).max()) / 2 * (1 + margin)
    return (lo + hi) / 2, half if half > 0 else 1.0


def bone_segments(frame: np.ndarray, lay: Layout, body_present: np.ndarray) -> list[np.ndarray]:
    """Per body, an array (bones, 2, D) of bone end points of one frame (D, V, M); empty when absent.

    Joints at 0 are drawn where they are: prepared data puts the centre joint at the origin, so 0
    cannot mean "lost" here, and the picture shows what a model sees."""
    child = np.array([c for c, _ in lay.bones])
    parent = np.array([p for _, p in lay.bones])
    out = []
    for m in range(frame.shape[-1]):
        if not body_present[m]:
            out.append(np.zeros((0, 2, frame.shape[0])))
            continue
        pts = frame[:, :, m].T  # (V, D)
        out.append(np.stack([pts[child], pts[parent]], axis=1))
    return out
