"""Body selection and the reference normalisation shared by the NTU and PKU-MMD readers.

The reference pipeline (ST-GCN / 2s-AGCN data preparation, as the ISC authors used it) keeps the
two bodies whose joints spread the most, centres every clip on the first body's spine and rotates
it into a body-aligned frame. Two deliberate differences, both documented in the README:

- the rotation is one orthonormal frame built from the first frame (z = hip->spine, x = the
  right->left shoulder bone made orthogonal to z), so hip->spine is exactly +z afterwards; the
  reference applies two successive axis-angle rotations, the second of which tilts z slightly;
- frames after `num_frames` stay zero (the array-format contract) instead of repeating the clip;
  `repeat_pad=True` gives the reference's repeated padding for tools that ignore `num_frames`.
"""

from __future__ import annotations

import numpy as np

SPINE_BASE, SPINE_MID, LEFT_SHOULDER, RIGHT_SHOULDER = 0, 1, 4, 8


def body_spread(body: np.ndarray) -> float:
    """Sum over x, y, z of the std of a body's joints over the frames where it is present.

    `body` is (T, V, 3). This is the reference "energy": a real person moving in front of the
    camera spreads wider than a flicker, and an absent body scores 0.
    """
    present = np.abs(body).sum(axis=(1, 2)) > 0
    if not present.any():
        return 0.0
    kept = body[present]
    return float(sum(kept[..., c].std() for c in range(kept.shape[-1])))


def wide_frame_fraction(body: np.ndarray, ratio: float = 0.8) -> float:
    """Fraction of present frames where the body is wider (x extent) than `ratio` x its height (y).

    People stand upright, so their joints span more in y than in x; Kinect "bodies" fitted on
    furniture or on a wall are flat and wide. (Threshold 0.8 is the one the NTU denoising literature
    uses; a frame-fraction above 0.69 marks the body as noise.)
    """
    present = np.abs(body).sum(axis=(1, 2)) > 0
    if not present.any():
        return 1.0
    b = body[present]
    width = b[..., 0].max(1) - b[..., 0].min(1)
    height = b[..., 1].max(1) - b[..., 1].min(1)
    return float((width > ratio * height).mean())


def select_bodies(
    bodies: np.ndarray, max_bodies: int = 2, denoise: bool = True, min_frames: int = 11
) -> tuple[np.ndarray, list[int]]:
    """Pick up to `max_bodies` tracks from `bodies` (B, T, V, 3), most spread first; zero-pad to M.

    With `denoise`, tracks seen in fewer than `min_frames` frames or that are wide-and-flat in most
    frames are dropped first (unless that would drop every track). Returns ((M, T, V, 3), kept indices).
    """
    num, t, v, c = bodies.shape
    candidates = list(range(num))
    if denoise and num > 1:
        frames = (np.abs(bodies).sum(axis=(2, 3)) > 0).sum(axis=1)
        clean = [i for i in candidates
                 if frames[i] >= min(min_frames, frames.max()) and wide_frame_fraction(bodies[i]) <= 0.69]
        if clean:
            candidates = clean
    order = sorted(candidates, key=lambda i: -body_spread(bodies[i]))[:max_bodies]
    out = np.zeros((max_bodies, t, v, c), dtype=np.float32)
    for slot, i in enumerate(order):
        out[slot] = bodies[i]
    return out, order


def _rotation(x: np.ndarray) -> np.ndarray | None:
    """The 3x3 matrix whose rows are the body frame of the first frame where body 0 is present."""
    present = np.flatnonzero(np.abs(x[0]).sum(axis=(1, 2)) > 0)
    if present.size == 0:
        return None
    f = x[0, present[0]].astype(np.float64)
    z = f[SPINE_MID] - f[SPINE_BASE]
    across = f[LEFT_SHOULDER] - f[RIGHT_SHOULDER]
    if np.linalg.norm(z) < 1e-6:
        return None
    z = z / np.linalg.norm(z)
    across = across - across.dot(z) * z
    if np.linalg.norm(across) < 1e-6:
        return None
    xa = across / np.linalg.norm(across)
    ya = np.cross(z, xa)
    return np.stack([xa, ya, z])


def reference_preprocess(
    bodies: np.ndarray, max_frames: int = 300, repeat_pad: bool = False
) -> tuple[np.ndarray, int]:
    """(M, T, V, 3) selected bodies -> ((3, max_frames, V, M) float32, valid frame count).

    Frames where no body is present are dropped (the clip starts at its first tracked frame and
    holds no empty gaps); clips longer than `max_frames` are resampled to it at evenly spaced frames.
    Every joint that is present is centred on body 0's spine (joint 1) of the same frame and rotated
    into the first frame's body frame; absent joints stay exactly zero.
    """
    x = np.asarray(bodies, dtype=np.float64)
    m, _, v, _ = x.shape
    present_joint = np.abs(x).sum(axis=-1) > 0  # (M, T, V)
    frame_has_body = present_joint.any(axis=(0, 2))
    x = x[:, frame_has_body]
    present_joint = present_joint[:, frame_has_body]
    n = x.shape[1]
    if n == 0:
        return np.zeros((3, max_frames, v, m), dtype=np.float32), 0
    if n > max_frames:
        keep = np.linspace(0, n - 1, max_frames).round().astype(int)
        x, present_joint, n = x[:, keep], present_joint[:, keep], max_frames
    # Body 0 may be missing for a few frames; those are centred on its next seen spine (or last).
    spine = x[0, :, SPINE_MID]  # (T, 3)
    seen = np.abs(spine).sum(-1) > 0
    if seen.any():
        idx = np.flatnonzero(seen)
        nearest = idx[np.clip(np.searchsorted(idx, np.arange(n)), 0, idx.size - 1)]
        spine = spine[nearest]
    x = (x - spine[None, :, None, :]) * present_joint[..., None]
    rot = _rotation(x)
    if rot is not None:
        x = np.einsum("ij,mtvj->mtvi", rot, x) * present_joint[..., None]
    out = np.zeros((3, max_frames, v, m), dtype=np.float32)
    out[:, :n] = x.transpose(3, 1, 2, 0)
    if repeat_pad and n < max_frames:
        reps = -(-max_frames // n)
        out[:] = np.tile(out[:, :n], (1, reps, 1, 1))[:, :max_frames]
    return out, n
