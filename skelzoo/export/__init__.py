"""Export encoders to ONNX and TorchScript, each checked against PyTorch before it is kept.

- ``export_onnx(model, "seq.onnx")`` / ``export_torchscript(model, "seq.pt")``: dynamic batch (and
  time where the encoder allows), the input spec stored in the file, parity at >= 3 shapes.
- ``skelzoo.export.runtime.OnnxEncoder(path)``: run an exported ONNX file on numpy clips.
- ``skelzoo.export.runtime.check_matches_spec``: compare a file's input spec with what a caller
  expects (a zoo entry).
"""

from __future__ import annotations

from skelzoo.export.common import EncoderWithHead, head_from_checkpoint, load_for_export
from skelzoo.export.onnx import export_onnx
from skelzoo.export.runtime import OnnxEncoder, check_matches_spec, read_spec
from skelzoo.export.torchscript import export_torchscript, load_torchscript

__all__ = [
    "EncoderWithHead", "OnnxEncoder", "check_matches_spec", "export_onnx", "export_torchscript",
    "head_from_checkpoint", "load_for_export", "load_torchscript", "read_spec",
]
