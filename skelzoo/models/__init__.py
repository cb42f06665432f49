"""Skeleton encoders, one registry: ``create_encoder("seq" | "stg" | "img", **kwargs)``.

Every encoder takes the canonical (N, C, T, V, M) float batch and returns (N, feature_dim); it has
``.arch``, ``.representation``, ``.feature_dim`` and ``.config`` (``create_encoder(m.arch,
**m.config)`` rebuilds it). ``width`` scales channels / hidden units (1.0 = the paper's size).
"""

from __future__ import annotations

# Importing the model modules registers their builders.
from skelzoo.models import img, seq, stg  # noqa: F401
from skelzoo.models.base import Encoder
from skelzoo.models.head import ProjectionHead
from skelzoo.models.registry import create_encoder, list_encoders, register_encoder

__all__ = ["Encoder", "ProjectionHead", "create_encoder", "list_encoders", "register_encoder"]
