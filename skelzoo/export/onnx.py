"""ONNX export with torch.export (``torch.onnx.export(..., dynamo=True)``) and a parity check.

The batch axis is always dynamic, the time axis too unless the encoder is built for one clip
length (HCN) or cannot be captured with a symbolic length (the reference-compatible GRU). The
traps this module guards against, each checked on the exported graph, not assumed:

- an example batch of 1 lets the exporter specialise the batch axis: the example batch is >= 2
  and the graph input must carry a symbolic ``dim_param`` for batch (and time where claimed);
- the exporter may silently "refine" a dynamic axis to the example's size when the model code
  specialises it: the graph is inspected, and the file says what it really accepts;
- GRUs: ONNX's GRU defaults to ``linear_before_reset=0``, PyTorch's recurrence is ``=1``; every
  GRU node is checked, and parity at several shapes catches any other numerical mismatch.

The file appears under its name only after parity passed; a failed export leaves nothing behind.
"""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from skelzoo.errors import SkelzooError
from skelzoo.export.common import (
    DEFAULT_TOLERANCE,
    INPUT_NAME,
    MIN_FRAMES,
    EncoderWithHead,
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
from skelzoo.export.parity import check_parity, parity_shapes
from skelzoo.export.runtime import SPEC_KEY, OnnxEncoder

DEFAULT_OPSET = 18
MIN_OPSET = 18  # the torch.export-based exporter's own opset; older ones go through a converter


class CastIO(nn.Module):
    """Runs a reduced-precision copy of a model behind float32 input and output, so every export
    is called the same way (numpy has no bfloat16) and only the inside changes precision."""

    def __init__(self, model: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.model = model.to(dtype)
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.to(self.dtype)).float()


def check_opset(opset: int) -> int:
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise SkelzooError(f"--opset {opset}: use {MIN_OPSET}..{newest} (the exporter writes opset {MIN_OPSET}+ graphs).")
    return int(opset)


def graph_checks(model_proto, dynamic_frames: bool, path: Path) -> dict[str, Any]:
    """Inspect the exported graph: symbolic input axes, GRU semantics. Returns what was found."""
    from onnx import helper

    dims = model_proto.graph.input[0].type.tensor_type.shape.dim
    symbolic = [bool(d.dim_param) for d in dims]
    if not symbolic[0]:
        raise SkelzooError(
            f"{path}: the exporter fixed the batch axis to {dims[0].dim_value}; the file would only "
            "take that batch. Export with an example --batch of 2 or more."
        )
    gru = []
    for node in model_proto.graph.node:
        if node.op_type == "GRU":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            lbr = int(attrs.get("linear_before_reset", 0))
            if lbr != 1:
                raise SkelzooError(
                    f"{path}: GRU node {node.name!r} has linear_before_reset={lbr}; PyTorch's GRU "
                    "applies the reset gate after the hidden-state matmul (=1), so this graph "
                    "would compute a different recurrence. Please report this exporter problem."
                )
            gru.append(node.name)
    return {"input_dims": [d.dim_param or d.dim_value for d in dims],
            "dynamic_frames": bool(dynamic_frames and symbolic[2]), "gru_nodes": len(gru)}


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    batch: int = 2,
    frames: int | None = None,
    opset: int = DEFAULT_OPSET,
    dtype: str = "fp32",
    tolerance: float | None = None,
    parity_devices: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Export `model` (an fp32 encoder in eval mode, ``input_spec`` attached) to `path` and check
    it against PyTorch with ONNX Runtime. Returns a report (spec, parity per provider, timings).

    ``parity_devices``: ONNX Runtime devices to check on (default: CPU, plus CUDA when the GPU
    build of onnxruntime is installed). Raises SkelzooError, leaving no file, when parity fails."""
    path = check_output_path(path, (".onnx",), "ONNX")
    tdtype = check_dtype(dtype)
    opset = check_opset(opset)
    batch = check_example_batch(batch)
    frames = example_frames(model, frames)
    why_fixed = fixed_frames(model)
    tol = float(DEFAULT_TOLERANCE[dtype] if tolerance is None else tolerance)
    model = model.float().eval()
    net = model if dtype == "fp32" else CastIO(copy.deepcopy(model), tdtype).eval()

    axes: dict[int, Any] = {0: torch.export.Dim("batch", min=1)}
    if why_fixed is None:
        axes[2] = torch.export.Dim("frames", min=MIN_FRAMES)
    x = example_input(model, batch, frames, torch.float32)
    t0 = time.perf_counter()
    with quiet_export(), torch.no_grad():
        program = torch.onnx.export(
            net, (x,), dynamo=True, dynamic_shapes=(axes,), input_names=[INPUT_NAME],
            output_names=["embedding" if isinstance(model, EncoderWithHead) else "features"],
            opset_version=opset, optimize=True, verbose=False,
        )
    export_s = time.perf_counter() - t0

    checks = graph_checks(program.model_proto, why_fixed is None, path)
    if why_fixed is None and not checks["dynamic_frames"]:
        why_fixed = "the exporter specialised the time axis to the example length"
    spec = build_spec(model, fmt="onnx", frames=frames, dynamic_frames=checks["dynamic_frames"],
                      dtype=dtype, extra={"opset": opset})
    props = {SPEC_KEY: json.dumps(spec, sort_keys=True)}
    props.update({f"skelzoo.{k}": json.dumps(v) if isinstance(v, (dict, list, bool)) else str(v)
                  for k, v in spec.items()})  # flat copies, readable in Netron
    program.model.metadata_props.update(props)
    program.model.doc_string = f"skelzoo {spec['arch']} encoder ({spec['output']}, {dtype})"

    tmp = tmp_sibling(path)
    try:
        with quiet_export():
            program.save(str(tmp), external_data=False)
        parity = run_parity(model, tmp, spec, batch, frames, dtype, tol, parity_devices)
        failed = [p for p in parity if not p.passed]
        if failed:
            raise SkelzooError(
                f"{path}: parity check failed, file not written: {failed[0].summary()}. "
                + ("Try --dtype fp32." if dtype != "fp32" else "This is an exporter problem; please report it.")
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    for p in parity:
        log(f"parity ok: {p.summary()}")
    return {
        "path": str(path), "format": "onnx", "size_bytes": path.stat().st_size,
        "input_spec": spec, "graph": checks, "fixed_frames_reason": why_fixed,
        "parity": [p.to_dict() for p in parity], "export_seconds": round(export_s, 2),
    }


def run_parity(model, onnx_path: Path, spec, batch, frames, dtype, tol, devices) -> list:
    import onnxruntime as ort

    if devices is None:
        devices = ("cpu", "cuda") if "CUDAExecutionProvider" in ort.get_available_providers() else ("cpu",)
    shapes = parity_shapes(batch, frames, spec["dynamic_frames"])
    reports = []
    for device in devices:
        try:
            # tf32 off: parity must measure the export, not TF32 rounding.
            runner = OnnxEncoder(onnx_path, device=device, tf32=False)
        except SkelzooError as err:
            if dtype != "fp32":
                reason = str(err).split("failed:")[-1].split(". Is it an .onnx")[0].strip()
                raise SkelzooError(
                    f"ONNX Runtime on {device} cannot load the {dtype} graph, so it cannot be "
                    f"checked here ({reason}). Export {dtype} where ONNX Runtime runs it "
                    "(onnxruntime-gpu with CUDA; bf16 Conv needs --opset 22), or use fp16/fp32."
                ) from None
            raise
        try:
            report = check_parity(model, runner, backend=f"onnxruntime:{runner.providers[0]}",
                                  dtype=dtype, shapes=shapes, tolerance=tol)
        except SkelzooError:
            raise
        except Exception as err:  # e.g. NOT_IMPLEMENTED: a kernel missing for this dtype here
            raise SkelzooError(
                f"ONNX Runtime on {device} cannot run the {dtype} export ({str(err).strip().splitlines()[0][:300]}), "
                "so it cannot be checked here. Export fp16/bf16 where ONNX Runtime runs it "
                "(onnxruntime-gpu with CUDA), or use fp32."
            ) from None
        reports.append(report)
    return reports
