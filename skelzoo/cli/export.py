"""``skelzoo export``: an encoder to ONNX or TorchScript, checked against PyTorch before it is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from skelzoo.cli.common import JsonOpt, ModelOpt
from skelzoo.errors import SkelzooError, unknown

FORMATS = {"onnx": (".onnx",), "torchscript": (".pt", ".ts", ".torchscript")}


def _format_for(fmt: str | None, out: Path) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise unknown("export format", fmt, FORMATS)
        return fmt
    for name, suffixes in FORMATS.items():
        if out.suffix.lower() in suffixes:
            return name
    raise SkelzooError(
        f"{out}: cannot tell the format from the extension {out.suffix or '(none)'!r}; "
        "use --format onnx (.onnx) or --format torchscript (.pt / .ts)."
    )


def export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .onnx for ONNX, .pt or .ts for TorchScript. Its folder must exist.")],
    model: ModelOpt = None,
    checkpoint: Annotated[Optional[Path], typer.Option("--checkpoint", "-c", help="A skelzoo checkpoint (.pt), e.g. runs/<name>/checkpoint.pt.")] = None,
    encoder: Annotated[Optional[str], typer.Option("--encoder", "-e", help="Which encoder of the checkpoint or zoo entry (seq, stg, img); default: its default encoder.")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="'onnx' or 'torchscript' (default: from the extension of --out).")] = None,
    with_head: Annotated[bool, typer.Option("--with-head", help="Include the pre-training projection head: outputs the unit-norm contrastive embedding instead of the feature. Needs a training checkpoint that holds the head.")] = False,
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (18 or newer).")] = 18,
    dtype: Annotated[str, typer.Option("--dtype", help="Precision inside the model: fp32, or fp16/bf16 for GPU deployment (input and output stay float32; parity tolerance is then relative).")] = "fp32",
    batch: Annotated[int, typer.Option("--batch", min=1, help="Example batch used for tracing (>= 2, so the batch axis stays dynamic).")] = 2,
    frames: Annotated[Optional[int], typer.Option("--frames", help="Example clip length (default: the model's training length, 64). The img encoder takes exactly its own length.")] = None,
    tolerance: Annotated[Optional[float], typer.Option("--tolerance", help="Parity tolerance: absolute for fp32 (default 1e-4), relative to the feature scale for fp16 (1e-2) / bf16 (5e-2).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Export an encoder to ONNX or TorchScript, then check the file against PyTorch.

    The batch axis is always dynamic; the time axis is too, except for the img encoder (HCN,
    built for 64 frames) and, in ONNX, the reference-compatible GRU. The model's input spec
    (layout, joints, bodies, coordinates, frames, feature size, encoder) is stored in the file.

    After writing, the file is run (ONNX Runtime on CPU, and on CUDA when onnxruntime-gpu is
    installed; or the saved TorchScript archive) on 3 input shapes, batch 1 and other clip
    lengths included, and compared with the PyTorch encoder. If the largest difference is
    above the tolerance the file is deleted and the command fails.

    Examples:

      skelzoo export -c runs/isc/checkpoint.pt -e seq -o seq.onnx

      skelzoo export -m ntu60-xview-seq-stg -e stg -o stg.pt --json
    """
    from skelzoo.export.common import check_dtype, check_example_batch, check_output_path, example_frames, load_for_export
    from skelzoo.export.onnx import check_opset

    # Every cheap check first: a typo should not cost a model load or a minute of tracing.
    fmt = _format_for(fmt, out)
    check_output_path(out, FORMATS[fmt], "ONNX" if fmt == "onnx" else "TorchScript")
    check_dtype(dtype)
    check_example_batch(batch)
    if fmt == "onnx":
        check_opset(opset)
    if tolerance is not None and not tolerance > 0:
        raise SkelzooError(f"--tolerance {tolerance}: must be > 0.")
    net = load_for_export(model, str(checkpoint) if checkpoint else None, encoder, with_head)
    example_frames(net, frames)
    typer.echo(f"exporting the {getattr(getattr(net, 'encoder', net), 'arch', '?')} encoder to {fmt} "
               f"({'torch.export: about a minute on CPU' if fmt == 'onnx' else 'tracing'}) ...", err=True)
    if fmt == "onnx":
        from skelzoo.export.onnx import export_onnx

        report = export_onnx(net, out, batch=batch, frames=frames, opset=opset, dtype=dtype, tolerance=tolerance)
    else:
        from skelzoo.export.torchscript import export_torchscript

        report = export_torchscript(net, out, batch=batch, frames=frames, dtype=dtype, tolerance=tolerance)
    report["source"] = str(checkpoint or model)
    if json_out:
        typer.echo(json.dumps(report, indent=2))
        return
    spec = report["input_spec"]
    time_axis = "any length >= {}".format(spec["min_frames"]) if spec["dynamic_frames"] else f"exactly {spec['frames']} frames"
    worst = max(p["max_abs_diff"] for p in report["parity"])
    typer.echo(
        f"wrote {report['path']} ({report['size_bytes'] / 1e6:.1f} MB, {fmt}, {spec['dtype']}): "
        f"{spec['arch']} {spec['output']} of size {spec['feature_dim']}; input (N, {spec['channels']}, T, "
        f"{spec['joints']}, {spec['bodies']}) layout {spec['layout']}, any batch, T {time_axis}. "
        f"Parity: max |diff| {worst:.2g} on {len(report['parity'][0]['shapes'])} shapes "
        f"({', '.join(p['backend'] for p in report['parity'])})."
    )
    if report.get("fixed_frames_reason"):
        typer.echo(f"note: fixed time axis: {report['fixed_frames_reason']}.", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("export")(export_cmd)
