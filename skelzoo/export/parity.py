"""Parity: an exported file must compute what the PyTorch module computes, at several shapes.

The shapes always include a batch of 1 (the classic trap: an example batch of 1 freezes the batch
axis) and, where the export claims a dynamic time axis, clip lengths other than the example's.
The reference is the fp32 PyTorch module on CPU; reduced-precision exports are compared against
it with a tolerance relative to the feature scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from skelzoo.errors import SkelzooError
from skelzoo.export.common import MIN_FRAMES, base_encoder


@dataclass
class ShapeResult:
    batch: int
    frames: int
    max_abs_diff: float
    ref_max_abs: float


@dataclass
class ParityReport:
    backend: str  # "onnxruntime:CPUExecutionProvider", "torchscript:cpu", ...
    dtype: str
    tolerance: float
    relative: bool
    shapes: list[ShapeResult] = field(default_factory=list)

    @property
    def max_abs_diff(self) -> float:
        return max(s.max_abs_diff for s in self.shapes)

    @property
    def error(self) -> float:
        """What is compared with the tolerance: the absolute difference, or relative to the scale."""
        if not self.relative:
            return self.max_abs_diff
        return max(s.max_abs_diff / max(s.ref_max_abs, 1e-12) for s in self.shapes)

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(max_abs_diff=self.max_abs_diff, error=self.error, passed=self.passed)
        return d

    def summary(self) -> str:
        shapes = ", ".join(f"({s.batch}, T={s.frames})" for s in self.shapes)
        kind = "relative" if self.relative else "absolute"
        return (f"{self.backend} [{self.dtype}]: max |torch - export| = {self.max_abs_diff:.3g} "
                f"({kind} error {self.error:.3g}, tolerance {self.tolerance:g}) over shapes {shapes}")


def parity_shapes(batch: int, frames: int, dynamic_frames: bool) -> list[tuple[int, int]]:
    """(batch, frames) pairs to check: batch 1, a batch other than the example's, and (when the
    time axis is dynamic) a longer and a shorter clip than the example."""
    if not dynamic_frames:
        return [(1, frames), (batch + 1, frames), (batch + 3, frames)]
    shorter = max(MIN_FRAMES, frames // 2 + 1)
    if shorter == frames:
        shorter = frames + 3
    return [(1, frames), (batch + 1, frames + 7), (3, shorter)]


def reference_outputs(model: nn.Module, inputs: list[torch.Tensor]) -> list[np.ndarray]:
    """fp32 CPU outputs of the (fp32) PyTorch `model`."""
    if next(model.parameters()).dtype != torch.float32:
        raise SkelzooError("internal: parity needs the fp32 module as the reference")
    model.eval()
    with torch.inference_mode():
        return [model(x.float()).float().numpy() for x in inputs]


def check_parity(
    model: nn.Module,
    run: Callable[[np.ndarray], np.ndarray],
    *,
    backend: str,
    dtype: str,
    shapes: list[tuple[int, int]],
    tolerance: float,
    seed: int = 1,
) -> ParityReport:
    """Run the fp32 reference and the exported `run` (numpy float32 in, numpy out) on random clips
    of each shape and record the largest absolute difference."""
    enc = base_encoder(model)
    g = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randn((b, int(enc.in_channels), t, int(enc.num_joints), int(enc.num_bodies)), generator=g)
        for b, t in shapes
    ]
    refs = reference_outputs(model, inputs)
    report = ParityReport(backend=backend, dtype=dtype, tolerance=float(tolerance), relative=dtype != "fp32")
    for (b, t), x, ref in zip(shapes, inputs, refs):
        out = np.asarray(run(x.numpy()), dtype=np.float32)
        if out.shape != ref.shape:
            diff = float("inf")
        else:
            diff = float(np.abs(out - ref).max())
            if not np.isfinite(diff):
                diff = float("inf")
        report.shapes.append(ShapeResult(b, t, diff, float(np.abs(ref).max())))
    return report
