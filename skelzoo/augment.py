"""Skeleton augmentations of the paper (section 3.1), batched on the training device.

Every function takes a whole batch ``x`` of shape (N, C, T, V, M) and, where it matters, the valid
frame counts ``num_frames`` (N,), and draws from a ``torch.Generator`` on ``x``'s device. There is
no per-sample Python loop: per-sample choices (crop ratio, start, shear matrix, jittered joints)
are drawn as tensors and applied with gathers and batched matrix products, so a GPU batch never
goes back to the host.
"""

from __future__ import annotations

import torch

from skelzoo.errors import SkelzooError

OUT_FRAMES = 64


def _check(x: torch.Tensor, num_frames: torch.Tensor | None = None) -> None:
    if x.ndim != 5:
        raise SkelzooError(f"augmentations expect a batch (N, C, T, V, M); got shape {tuple(x.shape)}.")
    if num_frames is not None:
        if num_frames.shape != (x.shape[0],):
            raise SkelzooError(f"num_frames has shape {tuple(num_frames.shape)}; expected ({x.shape[0]},).")
        if bool((num_frames < 1).any()) or bool((num_frames > x.shape[2]).any()):
            raise SkelzooError(
                f"valid frame counts must lie in [1, {x.shape[2]}]; got min {int(num_frames.min())}, "
                f"max {int(num_frames.max())} (an empty clip, or counts from another dataset?)."
            )


def _uniform(shape: tuple[int, ...], low: float, high: float, gen: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(shape, generator=gen, device=like.device, dtype=torch.float32) * (high - low) + low


def resample(x: torch.Tensor, start: torch.Tensor, length: torch.Tensor, out_frames: int = OUT_FRAMES) -> torch.Tensor:
    """Linearly resample frames [start, start + length) of each clip to `out_frames` frames.

    The first and last output frames are the first and last cropped frames (end points included), so
    a crop of `out_frames` frames comes back unchanged. Each (clip, coordinate, frame) row of V*M
    values is contiguous, so the frames below and above every sample point are two index_selects
    of whole rows (much faster than a gather or advanced indexing), then one lerp; the output is
    written channels-first directly.
    """
    n, c, t, v, m = x.shape
    steps = torch.arange(out_frames, device=x.device, dtype=torch.float32) / max(out_frames - 1, 1)
    pos = start.float()[:, None] + steps[None, :] * (length.float() - 1)[:, None]  # (N, out)
    lo = pos.floor().long().clamp_(0, t - 1)
    hi = (lo + 1).minimum(start[:, None] + length[:, None] - 1).clamp_(0, t - 1)
    frac = (pos - lo.float()).to(x.dtype)[:, None, :, None].expand(n, c, out_frames, 1).reshape(-1, 1)
    rows = x.reshape(n * c * t, v * m)
    base = ((torch.arange(n, device=x.device)[:, None] * c + torch.arange(c, device=x.device)[None, :]) * t)[:, :, None]
    out = torch.lerp(
        rows.index_select(0, (base + lo[:, None, :]).reshape(-1)),
        rows.index_select(0, (base + hi[:, None, :]).reshape(-1)),
        frac,
    )
    return out.reshape(n, c, out_frames, v, m)


def temporal_crop_resize(
    x: torch.Tensor,
    num_frames: torch.Tensor,
    gen: torch.Generator | None = None,
    min_ratio: float = 0.1,
    out_frames: int = OUT_FRAMES,
) -> torch.Tensor:
    """Random temporal crop of the valid frames, resampled to `out_frames` (paper eq. 3).

    ratio ~ U[min_ratio, 1]; crop length = clamp(floor(n * ratio), min(out_frames, n), n); start ~
    U{0, ..., n - length}. Clips shorter than `out_frames` are used whole and upsampled.
    """
    _check(x, num_frames)
    start, length = _random_crops(num_frames.to(x.device).long(), gen, min_ratio, out_frames)
    return resample(x, start, length, out_frames)


def _random_crops(n_valid: torch.Tensor, gen: torch.Generator | None, min_ratio: float, out_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    ratio = _uniform((n_valid.shape[0],), min_ratio, 1.0, gen, n_valid)
    length = (n_valid.float() * ratio).floor().long()
    length = torch.maximum(length, n_valid.clamp(max=out_frames)).minimum(n_valid)
    start = (_uniform((n_valid.shape[0],), 0.0, 1.0, gen, n_valid) * (n_valid - length + 1).float()).floor().long()
    return start.minimum(n_valid - length), length


def center_crop(x: torch.Tensor, num_frames: torch.Tensor, ratio: float = 0.95, out_frames: int = OUT_FRAMES) -> torch.Tensor:
    """The evaluation crop: the centre `ratio` of the valid frames, resampled to `out_frames`."""
    _check(x, num_frames)
    n_valid = num_frames.to(x.device).long()
    start, length = _center_crops(n_valid, ratio)
    return resample(x, start, length, out_frames)


def _center_crops(n_valid: torch.Tensor, ratio: float) -> tuple[torch.Tensor, torch.Tensor]:
    length = (n_valid.float() * ratio).floor().long().clamp(min=1).minimum(n_valid)
    return (n_valid - length) // 2, length


def probe_crop(x: torch.Tensor, num_frames: torch.Tensor, gen: torch.Generator | None = None, min_ratio: float = 0.5, out_frames: int = OUT_FRAMES) -> torch.Tensor:
    """The linear-probe training crop: a temporal crop-resize with ratio ~ U[0.5, 1]."""
    return temporal_crop_resize(x, num_frames, gen, min_ratio=min_ratio, out_frames=out_frames)


def shear_matrices(n: int, gen: torch.Generator | None, like: torch.Tensor, magnitude: float = 1.0) -> torch.Tensor:
    """(n, 3, 3): identity plus six off-diagonal entries ~ U(-magnitude, magnitude) (paper eq. 1)."""
    s = _uniform((n, 3, 3), -magnitude, magnitude, gen, like)
    eye = torch.eye(3, device=like.device, dtype=s.dtype)
    return s * (1 - eye) + eye


def shear(x: torch.Tensor, gen: torch.Generator | None = None, magnitude: float = 1.0) -> torch.Tensor:
    """Pose augmentation: one shear per clip, the same for every joint, frame and body."""
    _check(x)
    s = shear_matrices(x.shape[0], gen, x, magnitude).to(x.dtype)
    return torch.einsum("nij,njtvm->nitvm", s, x)


def jitter_masks(n: int, num_joints: int, pick: int, gen: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """(n, V) bool: exactly `pick` joints per clip, uniformly without replacement."""
    scores = _uniform((n, num_joints), 0.0, 1.0, gen, like)
    picked = scores.topk(pick, dim=1).indices
    return torch.zeros(n, num_joints, dtype=torch.bool, device=like.device).scatter_(1, picked, True)


def joint_jitter(x: torch.Tensor, gen: torch.Generator | None = None, num_joints: int = 15) -> torch.Tensor:
    """Joint jittering (paper eq. 2): `num_joints` joints per clip (same for all frames and bodies)
    are, with probability 1/2, set to zero, and otherwise multiplied by a random 3x3 matrix with
    entries ~ U(-1, 1)."""
    _check(x)
    n, c, t, v, m = x.shape
    if not 0 < num_joints < v:
        raise SkelzooError(f"joint jitter picks {num_joints} joints but clips have {v}; choose 1..{v - 1}.")
    mask = jitter_masks(n, v, num_joints, gen, x)
    r = _uniform((n, c, c), -1.0, 1.0, gen, x).to(x.dtype)
    zero = _uniform((n,), 0.0, 1.0, gen, x) < 0.5
    r = r * (~zero).to(x.dtype)[:, None, None]  # the "set to zero" half: a zero matrix
    moved = torch.einsum("nij,njtvm->nitvm", r, x)
    return torch.where(mask[:, None, None, :, None], moved, x)


def _spatial_params(n: int, v: int, gen: torch.Generator | None, like: torch.Tensor, jitter_joints: int = 15) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-clip 3x3 matrix and per-joint mask of the 50/50 shear-or-jitter choice.

    Both augmentations are "multiply some joints by a 3x3 matrix": shear multiplies all joints by
    S, jitter multiplies `jitter_joints` joints by R (or by zero). So one matrix product and one
    select apply either, and a batch never computes both.
    """
    use_shear = _uniform((n,), 0.0, 1.0, gen, like) < 0.5
    s = shear_matrices(n, gen, like)
    mask = jitter_masks(n, v, jitter_joints, gen, like)
    r = _uniform((n, 3, 3), -1.0, 1.0, gen, like)
    zero = _uniform((n,), 0.0, 1.0, gen, like) < 0.5
    r = r * (~zero).float()[:, None, None]
    matrix = torch.where(use_shear[:, None, None], s, r)
    mask = mask | use_shear[:, None]
    return matrix, mask


def _apply_spatial(x: torch.Tensor, matrix: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x: (N, C, T, V, M) channels first; matrix (N, C, C); mask (N, V). One batched matrix
    product over all frames, joints and bodies of a clip, then a select of the masked joints."""
    n, c, t, v, m = x.shape
    flat = x.reshape(n, c, t, v * m)
    moved = torch.bmm(matrix.to(x.dtype), flat.reshape(n, c, t * v * m)).reshape(n, c, t, v * m)
    # lerp(x, moved, w) with w in {0, 1} per joint: an arithmetic select. w is materialised over
    # (V, M) so the innermost dimension isn't a stride-0 broadcast (3-5x faster than where()).
    weight = mask.to(x.dtype)[:, :, None].expand(n, v, m).reshape(n, 1, 1, v * m)
    return torch.lerp(flat, moved, weight).reshape(n, c, t, v, m)


def random_spatial(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """Exactly one spatial augmentation per clip, shear or joint jitter, chosen 50/50."""
    _check(x)
    return _apply_spatial(x, *_spatial_params(x.shape[0], x.shape[3], gen, x))


def isc_views(
    x: torch.Tensor,
    num_frames: torch.Tensor,
    gen: torch.Generator | None = None,
    spatial: bool = True,
    temporal: bool = True,
    min_ratio: float = 0.1,
    out_frames: int = OUT_FRAMES,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independently augmented views (query, key) of a batch: temporal crop-resize, then one
    random spatial augmentation (paper eq. 4). With ``temporal=False`` every valid frame is
    resampled to `out_frames`; with ``spatial=False`` no spatial augmentation is applied."""
    _check(x, num_frames)
    n_valid = num_frames.to(x.device).long()
    views = []
    for _ in range(2):
        if temporal:
            start, length = _random_crops(n_valid, gen, min_ratio, out_frames)
        else:
            start, length = _center_crops(n_valid, 1.0)
        y = resample(x, start, length, out_frames)
        if spatial:
            y = _apply_spatial(y, *_spatial_params(x.shape[0], x.shape[3], gen, x))
        views.append(y)
    return views[0], views[1]
