"""What both exporters share: the input spec written into exported files, dtypes, output paths,
the optional projection head, and a quiet export context.

The *input spec* is the contract an exported file carries: the skeleton layout, joint / body /
coordinate counts, the frame count (and whether any other is accepted), the feature size and the
encoder that produced it. ``OnnxEncoder`` checks inputs against it and ``skelzoo extract`` checks it
against the zoo entry, so a file never silently meets data it was not trained for.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from skelzoo import __version__
from skelzoo.errors import SkelzooError, unknown
from skelzoo.layouts import get_layout

SPEC_FORMAT = "skelzoo-export"
SPEC_VERSION = 1
INPUT_NAME = "clips"
TENSOR_LAYOUT = "NCTVM"
# Smallest clip length a dynamic-time export accepts: the graph encoder strides time by 4, and
# torch.export needs a range in which every shape formula holds; 8 is comfortably inside it.
MIN_FRAMES = 8
DEFAULT_FRAMES = 64  # the evaluation crop

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Parity tolerance per dtype: fp32 is an absolute bound on |torch - export|; the reduced
# precisions are relative to the largest reference feature magnitude (the inputs themselves are
# rounded to 16 bits, so an absolute bound would depend on the feature scale).
DEFAULT_TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 5e-2}


def check_dtype(dtype: str) -> torch.dtype:
    if dtype not in DTYPES:
        raise unknown("dtype", dtype, DTYPES)
    return DTYPES[dtype]


def check_output_path(path: str | Path, suffixes: tuple[str, ...], fmt: str) -> Path:
    """The output path, refused (before any slow work) when its folder is missing or its
    extension does not say what the file is."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise SkelzooError(
            f"{path}: a {fmt} export must end in {' or '.join(suffixes)} "
            f"(got {path.suffix or 'no extension'!r}); e.g. {path.with_suffix(suffixes[0]).name}."
        )
    if not path.parent.is_dir():
        raise SkelzooError(f"{path}: the folder {path.parent} does not exist; create it first (mkdir -p {path.parent}).")
    if path.is_dir():
        raise SkelzooError(f"{path}: is a folder; give a file name such as {path / ('model' + suffixes[0])}.")
    return path


class EncoderWithHead(nn.Module):
    """An encoder followed by its pre-training projection head: (N, C, T, V, M) -> unit-norm (N, d)."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.input_spec = dict(getattr(encoder, "input_spec", {}) or {})
        self.feature_dim = int(getattr(head, "out_dim"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def base_encoder(model: nn.Module) -> nn.Module:
    return model.encoder if isinstance(model, EncoderWithHead) else model


def head_from_checkpoint(ckpt: dict[str, Any], which: str, source: str) -> nn.Module:
    """The projection head trained with encoder `which`, rebuilt strictly from the checkpoint.

    Heads are looked for where skelzoo writes them: an encoder entry's ``"head"`` (``{"state_dict"}``)
    or the trainer's MoCo state (``trainer.moco``, keys ``query.heads.<which>.*``). Published
    checkpoints usually drop the trainer state, and with it the heads."""
    from skelzoo.checkpoint import load_state_strict
    from skelzoo.models import ProjectionHead

    state = None
    entry = ckpt.get("encoders", {}).get(which, {})
    if isinstance(entry.get("head"), dict):
        state = entry["head"].get("state_dict", entry["head"])
    else:
        moco = (ckpt.get("trainer") or {}).get("moco") or {}
        prefix = f"query.heads.{which}."
        state = {k[len(prefix):]: v for k, v in moco.items() if k.startswith(prefix)} or None
    if not state or "net.0.weight" not in state or "net.2.weight" not in state:
        raise SkelzooError(
            f"{source}: no projection head for encoder {which!r} in this checkpoint (it keeps only "
            "the query encoder; heads live in the trainer state of a training run's checkpoint.pt, "
            "which published checkpoints drop). Export without --with-head to get the feature."
        )
    d_in, d_out = state["net.0.weight"].shape[1], state["net.2.weight"].shape[0]
    head = ProjectionHead(d_in, d_out)
    load_state_strict(head, state, f"{source} (projection head of {which!r})")
    return head.eval()


def load_for_export(
    model: str | None, checkpoint: str | None, encoder: str | None, with_head: bool
) -> nn.Module:
    """The module to export, in eval mode on CPU, with ``input_spec`` attached."""
    if bool(model) == bool(checkpoint):
        raise SkelzooError("give exactly one of --model (a zoo name, checkpoint, folder or Hub id) or --checkpoint FILE.pt.")
    if checkpoint is None and Path(str(model)).suffix == ".pt" and Path(str(model)).is_file():
        checkpoint = model  # a checkpoint passed as --model: the head, if any, is only reachable here
    if checkpoint is not None:
        from skelzoo.checkpoint import encoder_from_checkpoint, load_checkpoint

        ckpt = load_checkpoint(checkpoint)
        which = encoder or ckpt.get("default_encoder") or next(iter(ckpt["encoders"]))
        net = encoder_from_checkpoint(ckpt, which, source=str(checkpoint))
        if with_head:
            net = EncoderWithHead(net, head_from_checkpoint(ckpt, which, str(checkpoint)))
        return net.eval()
    from skelzoo.zoo.load import load_model  # the zoo is only needed for names, folders and Hub ids

    net = load_model(str(model), encoder=encoder, device="cpu")
    if with_head:
        raise SkelzooError(
            f"{model}: zoo models ship the encoder without its projection head; --with-head needs "
            "a training checkpoint (--checkpoint runs/<name>/checkpoint.pt)."
        )
    return net.eval()


def fixed_frames(model: nn.Module, fmt: str = "onnx") -> str | None:
    """Why this encoder cannot be exported to `fmt` with a dynamic time axis, or None when it can."""
    enc = base_encoder(model)
    if getattr(enc, "arch", "") == "img" or hasattr(enc, "frames"):
        return f"the {enc.arch} encoder (HCN) is built for {enc.frames} frames: its feature size depends on the clip length"
    if fmt == "onnx" and getattr(enc, "config", {}).get("reference_compat"):
        return ("the reference-compatible GRU (one torch.gru call per layer and direction) is "
                "captured by torch.export at the example's length only")
    return None


def build_spec(model: nn.Module, *, fmt: str, frames: int, dynamic_frames: bool, dtype: str,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The input spec stored in an exported file (plain JSON types)."""
    enc = base_encoder(model)
    config = dict(getattr(enc, "config", {}))
    base = dict(getattr(model, "input_spec", {}) or {})
    layout = get_layout(config.get("layout", base.get("layout", "ntu25")))
    head = isinstance(model, EncoderWithHead)
    spec = {
        "format": SPEC_FORMAT,
        "version": SPEC_VERSION,
        "export_format": fmt,
        "tensor_layout": TENSOR_LAYOUT,
        "input": INPUT_NAME,
        "output": "embedding" if head else "features",
        "layout": layout.name,
        "joints": layout.num_joints,
        "channels": int(getattr(enc, "in_channels", config.get("in_channels", 3))),
        "bodies": int(getattr(enc, "num_bodies", config.get("num_bodies", 2))),
        # The clip length the model was trained on (what extract crops to); a dynamic-time export
        # accepts others, a fixed one only this.
        "frames": int(base.get("frames") or frames) if dynamic_frames else int(frames),
        "example_frames": int(frames),
        "dynamic_batch": True,
        "dynamic_frames": bool(dynamic_frames),
        "min_frames": MIN_FRAMES if dynamic_frames else int(frames),
        "preprocessing": base.get("preprocessing", ""),
        "arch": getattr(enc, "arch", type(enc).__name__),
        "encoder_config": config,
        "feature_dim": int(model.feature_dim),
        "with_head": head,
        "dtype": dtype,
        "skelzoo_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
    }
    spec.update(extra or {})
    return spec


def example_frames(model: nn.Module, frames: int | None) -> int:
    """The example clip length: --frames, else the model's training length, else 64."""
    enc = base_encoder(model)
    fixed = getattr(enc, "frames", None)
    if frames is None:
        frames = int(fixed or (getattr(model, "input_spec", {}) or {}).get("frames") or DEFAULT_FRAMES)
    if fixed is not None and int(frames) != int(fixed):
        raise SkelzooError(
            f"--frames {frames}: the {enc.arch} encoder takes exactly {fixed} frames (its feature "
            f"size depends on the clip length); use --frames {fixed}."
        )
    if frames < MIN_FRAMES:
        raise SkelzooError(f"--frames {frames}: the example clip needs at least {MIN_FRAMES} frames.")
    return int(frames)


def check_example_batch(batch: int) -> int:
    if batch < 2:
        raise SkelzooError(
            f"--batch {batch}: the example batch must be >= 2. With a batch of 1 the exporter may "
            "specialise the batch axis to 1; the exported model accepts any batch, 1 included."
        )
    return int(batch)


def example_input(model: nn.Module, batch: int, frames: int, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    spec_like = base_encoder(model)
    g = torch.Generator().manual_seed(seed)
    shape = (batch, int(spec_like.in_channels), frames, int(spec_like.num_joints), int(spec_like.num_bodies))
    return torch.randn(shape, generator=g).to(dtype)


@contextlib.contextmanager
def quiet_export() -> Iterator[io.StringIO]:
    """Exporters print progress on stdout and warn loudly; keep stdout clean for --json and
    collect the chatter (returned, for error messages)."""
    buf = io.StringIO()
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
            warnings.simplefilter("ignore")
            yield buf
    finally:
        for lg, lvl in zip(loggers, levels):
            lg.setLevel(lvl)


def tmp_sibling(path: Path) -> Path:
    """A temporary name next to `path`: the file appears under its real name only after parity."""
    return path.with_name(f".{path.name}.partial{path.suffix}")


def log(msg: str) -> None:
    print(msg, file=sys.stderr)
