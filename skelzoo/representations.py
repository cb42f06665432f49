"""The three input representations of the paper, as views of one canonical tensor.

Canonical clip batch: ``(N, C, T, V, M)`` float32, C = coordinates (x, y, z), T = frames,
V = joints of the layout, M = bodies (NTU: 2, the second all zeros for one-person actions).

- ``seq`` (N, T, M*V*C): one vector per frame, ordered body-major, then joint, then coordinate,
  i.e. feature ``m*V*C + v*C + c`` is coordinate c of joint v of body m (150 for NTU).
- ``stg`` and ``img``: the canonical tensor itself; the graph encoder (2s-AGCN) and the image
  encoder (HCN) arrange it internally.

Every encoder takes the canonical tensor and converts it itself, so one augmented batch feeds any
pair of encoders, and exported models all share one input signature.
"""

from __future__ import annotations

import torch

REPRESENTATIONS = ("seq", "stg", "img")


def to_seq(x: torch.Tensor) -> torch.Tensor:
    """(N, C, T, V, M) -> (N, T, M*V*C)."""
    n, c, t, v, m = x.shape
    return x.permute(0, 2, 4, 3, 1).reshape(n, t, m * v * c)


def from_seq(s: torch.Tensor, channels: int, joints: int) -> torch.Tensor:
    """Inverse of :func:`to_seq`: (N, T, M*V*C) -> (N, C, T, V, M)."""
    n, t, f = s.shape
    m = f // (channels * joints)
    return s.reshape(n, t, m, joints, channels).permute(0, 4, 1, 3, 2)


def to_stg(x: torch.Tensor) -> torch.Tensor:
    """Graph view: the canonical (N, C, T, V, M) tensor."""
    return x


def to_img(x: torch.Tensor) -> torch.Tensor:
    """Image view (HCN): the canonical (N, C, T, V, M) tensor; HCN puts joints on channels itself."""
    return x
