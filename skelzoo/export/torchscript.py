"""TorchScript export by tracing, with the input spec in the archive and a parity check.

Tracing (not scripting): the encoders' forward passes are straight-line tensor code (the input
check compares static dims in Python), so a trace records the whole computation, and it records
shapes as values read from the input, so batch and time stay free. That is verified, not assumed:
parity runs the saved archive at a batch of 1 and at other clip lengths. ``torch.jit.script``
would need every helper to be TorchScript-typed and gains nothing here.

Load with ``skelzoo.export.torchscript.load_torchscript(path)`` (spec attached as ``.input_spec``)
or plainly ``torch.jit.load(path)`` in C++ / Python without skelzoo.
"""

from __future__ import annotations

import copy
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from skelzoo.errors import SkelzooError
from skelzoo.export.common import (
    DEFAULT_TOLERANCE,
    build_spec,
    check_dtype,
    check_example_batch,
    check_output_path,
    example_frames,
    example_input,
    fixed_frames,
    log,
    quiet_export,
    tmp_sibling,
)
from skelzoo.export.onnx import CastIO
from skelzoo.export.parity import check_parity, parity_shapes

SUFFIXES = (".pt", ".ts", ".torchscript")
SPEC_FILE = "skelzoo_input_spec.json"


def load_torchscript(path: str | Path, device: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """A TorchScript encoder written by ``skelzoo export`` with its ``input_spec`` attached."""
    path = Path(path)
    if not path.is_file():
        raise SkelzooError(f"{path}: no such TorchScript file.")
    extra = {SPEC_FILE: ""}
    try:
        with warnings.catch_warnings():  # torch.jit's deprecation notice: the archive format stays
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as err:
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise SkelzooError(f"{path}: not a TorchScript archive ({first}). Export one with `skelzoo export --format torchscript`.") from None
    if not extra[SPEC_FILE]:
        raise SkelzooError(f"{path}: a TorchScript archive without skelzoo's input spec ({SPEC_FILE}); export it with `skelzoo export`.")
    spec = json.loads(extra[SPEC_FILE])
    module.eval()
    # ScriptModule attributes must be set through the Python object, not the C++ one.
    object.__setattr__(module, "input_spec", spec)
    return module


def export_torchscript(
    model: nn.Module,
    path: str | Path,
    *,
    batch: int = 2,
    frames: int | None = None,
    dtype: str = "fp32",
    tolerance: float | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Trace `model` (fp32, eval mode), save it with its input spec, and check the saved archive
    against PyTorch on `device` at several shapes. Raises SkelzooError, leaving no file, on a
    parity failure."""
    path = check_output_path(path, SUFFIXES, "TorchScript")
    tdtype = check_dtype(dtype)
    batch = check_example_batch(batch)
    frames = example_frames(model, frames)
    why_fixed = fixed_frames(model, "torchscript")
    tol = float(DEFAULT_TOLERANCE[dtype] if tolerance is None else tolerance)
    model = model.float().eval()
    net = model if dtype == "fp32" else CastIO(copy.deepcopy(model), tdtype).eval()
    x = example_input(model, batch, frames, torch.float32)
    t0 = time.perf_counter()
    with quiet_export(), torch.no_grad():
        traced = torch.jit.trace(net, (x,), check_trace=False)
    export_s = time.perf_counter() - t0
    spec = build_spec(model, fmt="torchscript", frames=frames, dynamic_frames=why_fixed is None, dtype=dtype)

    tmp = tmp_sibling(path)
    try:
        with quiet_export():
            torch.jit.save(traced, str(tmp), _extra_files={SPEC_FILE: json.dumps(spec, sort_keys=True)})
        loaded = load_torchscript(tmp, device=device)
        dev = torch.device(device)

        def run(clips: np.ndarray) -> np.ndarray:
            # The profiling executor re-optimises for every new shape (seconds each); parity
            # checks the recorded graph, so run it as recorded.
            with torch.inference_mode(), torch.jit.optimized_execution(False):
                return loaded(torch.from_numpy(clips).to(dev)).float().cpu().numpy()

        try:
            report = check_parity(model, run, backend=f"torchscript:{dev.type}", dtype=dtype,
                                  shapes=parity_shapes(batch, frames, spec["dynamic_frames"]), tolerance=tol)
        except RuntimeError as err:  # the trace baked in a size, or a kernel is missing for dtype
            raise SkelzooError(
                f"{path}: the traced module fails on other input shapes or on {dev.type} "
                f"({str(err).strip().splitlines()[0][:300]}); file not written."
            ) from None
        if not report.passed:
            raise SkelzooError(f"{path}: parity check failed, file not written: {report.summary()}.")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log(f"parity ok: {report.summary()}")
    return {
        "path": str(path), "format": "torchscript", "size_bytes": path.stat().st_size,
        "input_spec": spec, "fixed_frames_reason": why_fixed, "parity": [report.to_dict()],
        "export_seconds": round(export_s, 2),
    }
