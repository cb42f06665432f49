"""Adjacency matrices of a skeleton layout for the graph encoder (2s-AGCN's spatial partition)."""

from __future__ import annotations

import torch

from skelzoo.layouts import Layout, get_layout


def column_normalise(a: torch.Tensor) -> torch.Tensor:
    """A @ D^-1 with D the column sums (in-degree); all-zero columns stay zero."""
    deg = a.sum(dim=0)
    return a / torch.where(deg > 0, deg, torch.ones_like(deg))


def spatial_adjacency(layout: str | Layout) -> torch.Tensor:
    """(3, V, V) float32: identity, inward and outward subsets, each column-normalised.

    Layout bones are (child, parent) pointing towards the centre. Features are aggregated as
    ``out[:, j] = sum_i x[:, i] * A[i, j]``, so the inward subset has ``A[parent, child] = 1`` and
    the outward subset is its transpose. This reproduces the partition 2s-AGCN builds for NTU.
    """
    lay = get_layout(layout)
    v = lay.num_joints
    inward = torch.zeros(v, v)
    for child, parent in lay.bones:
        inward[parent, child] = 1.0
    outward = inward.t().contiguous()
    return torch.stack([torch.eye(v), column_normalise(inward), column_normalise(outward)])
