"""What every encoder shares: its identity attributes and a cheap, export-safe input check."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from skelzoo.errors import SkelzooError
from skelzoo.layouts import get_layout


def scaled(channels: int, width: float, minimum: int = 1) -> int:
    """`channels` scaled by `width`, rounded, never below `minimum`."""
    return max(minimum, int(round(channels * width)))


def check_common(width: float, num_bodies: int, in_channels: int) -> None:
    if not width > 0:
        raise SkelzooError(f"width must be > 0 (got {width}); 1.0 is the paper size.")
    if num_bodies < 1:
        raise SkelzooError(f"num_bodies must be >= 1 (got {num_bodies}).")
    if in_channels < 1:
        raise SkelzooError(f"in_channels must be >= 1 (got {in_channels}).")


class Encoder(nn.Module):
    """Base of the skeleton encoders: (N, C, T, V, M) float tensor in, (N, feature_dim) out.

    Subclasses set ``arch`` (the registry name), ``representation`` and ``feature_dim``, and pass
    the plain keyword arguments that rebuild them to ``__init__`` as ``config``, so that
    ``create_encoder(m.arch, **m.config)`` gives the same architecture.
    """

    arch: str = ""
    representation: str = ""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        lay = get_layout(config["layout"])
        self.num_joints = lay.num_joints
        self.num_bodies = int(config["num_bodies"])
        self.in_channels = int(config["in_channels"])
        self.feature_dim = 0

    def check_input(self, x: torch.Tensor) -> None:
        """Shape checks only: plain Python comparisons on static dims, so tracing and
        torch.export see no data-dependent branch and no guard on the batch or time dims."""
        if x.dim() != 5:
            raise SkelzooError(
                f"{self.arch} encoder expects a (N, C, T, V, M) tensor, got {x.dim()} dims "
                f"{tuple(x.shape)}; add the batch dim with x[None] for a single clip."
            )
        _, c, _, v, m = x.shape
        if c != self.in_channels or v != self.num_joints or m != self.num_bodies:
            raise SkelzooError(
                f"{self.arch} encoder expects C={self.in_channels} coordinates, "
                f"V={self.num_joints} joints (layout {self.config['layout']!r}) and "
                f"M={self.num_bodies} bodies, got (C, V, M) = ({c}, {v}, {m}) from input "
                f"{tuple(x.shape)}. Build the encoder with the layout, num_bodies and "
                "in_channels of the data, or convert the data."
            )

    def extra_repr(self) -> str:
        return f"arch={self.arch!r}, feature_dim={self.feature_dim}"
