"""``skelzoo extract``: features of a frozen encoder for clip files, folders or a prepared dataset.

Clips go through exactly what evaluation does (skelzoo.inference.encode: eval mode, the centre
crop of 95 % of the valid frames resized to the model's frame count), so features extracted here
match the ones the linear probe and retrieval see.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelzoo import __version__
from skelzoo.errors import SkelzooError

OUTPUT_SUFFIXES = (".npy", ".safetensors")


@dataclass
class Source:
    """One batch of clips to encode: an array (N, C, T, V, M), valid frames and names."""

    label: str
    data: Any
    num_frames: np.ndarray
    names: list[str] = field(default_factory=list)


class OnnxModule(torch.nn.Module):
    """Wraps an ONNX runtime encoder so skelzoo.inference.encode can drive it (crop included)."""

    def __init__(self, runner: Any) -> None:
        super().__init__()
        self.runner = runner
        self.input_spec = dict(getattr(runner, "input_spec", {}) or {})
        self.arch = getattr(runner, "arch", "onnx")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self.runner(x.detach().cpu().numpy()), dtype=np.float32))


def load_for_extract(model: str, encoder: str | None, backend: str, device: str) -> torch.nn.Module:
    if backend == "torch":
        from skelzoo.zoo.load import load_model

        return load_model(model, encoder=encoder, device=device)
    if backend == "onnx":
        if not (Path(model).is_file() and Path(model).suffix == ".onnx"):
            raise SkelzooError(f"--backend onnx needs --model FILE.onnx (made by `skelzoo export`), got {model!r}.")
        from skelzoo.export.runtime import OnnxEncoder

        return OnnxModule(OnnxEncoder(model, device=device))
    raise SkelzooError(f"unknown backend {backend!r}; use 'torch' or 'onnx'.")


def expected_shape(spec: dict[str, Any]) -> str:
    return (f"(C={spec.get('channels', '?')} coordinates, V joints of layout {spec.get('layout', '?')!r}, "
            f"up to M={spec.get('bodies', '?')} bodies)")


def clip_files(path: Path) -> list[Path]:
    files = sorted(p for p in path.rglob("*.npy") if p.is_file())
    if not files:
        raise SkelzooError(f"{path}: a folder with no .npy clip files (and no prepared dataset split).")
    return files


def is_dataset_dir(path: Path, split: str) -> bool:
    return path.is_dir() and (path / f"{split}_data_joint.npy").is_file()


def gather_sources(inputs: list[str | Path], spec: dict[str, Any], split: str,
                   layout: str | None, lift: str | None = None) -> list[Source]:
    """Group the inputs into sources; loose clips are stacked into one padded array.

    Clips recorded in another layout than the model's (`layout`, e.g. mediapipe33) are mapped
    onto the model's layout with :func:`skelzoo.layout_mapping.adapt_clip`; 2D clips are lifted
    only when `lift` says how. What was interpolated is reported once on stderr.
    """
    from skelzoo.io.clip import load_clip
    from skelzoo.layout_mapping import adapt_clip

    sources: list[Source] = []
    clips: list[tuple[str, np.ndarray, int]] = []
    model_layout = spec.get("layout", "ntu25")
    lay = layout or model_layout
    bodies = int(spec.get("bodies", 2))
    reported: set[str] = set()

    def add_clip(path: Path, name: str) -> None:
        try:
            # load_clip zero-pads missing bodies and keeps the most active ones when there are more
            clip, frames = load_clip(path, lay, max_bodies=bodies)
        except SkelzooError as err:
            raise SkelzooError(f"{err} The model expects {expected_shape(spec)}; give clips as "
                               "(T, V, C), (M, T, V, C) or (C, T, V, M) .npy arrays.") from None
        clip = np.asarray(clip, dtype=np.float32)
        channels = int(spec.get("channels", clip.shape[0]))
        if lay != model_layout or (clip.shape[0] != channels and lift):
            clip, report = adapt_clip(clip, lay, model_layout, lift=lift, channels=channels, source=str(path))
            clip = np.asarray(clip, dtype=np.float32)
            summary = report.summary()
            if summary not in reported:
                reported.add(summary)
                print(f"{path}: {summary}", file=sys.stderr)
        if clip.shape[0] != channels:
            raise SkelzooError(f"{path}: {clip.shape[0]} coordinates per joint; the model expects {expected_shape(spec)}.")
        clips.append((name, clip, int(frames)))

    for item in inputs:
        path = Path(item)
        if is_dataset_dir(path, split):
            sources.append(dataset_source(path, split, spec))
        elif path.is_dir():
            for f in clip_files(path):
                add_clip(f, str(f.relative_to(path).with_suffix("")))
        elif path.is_file():
            if path.suffix != ".npy":
                raise SkelzooError(f"{path}: clips are .npy arrays; for a dataset give its folder (with --split).")
            add_clip(path, path.stem)
        else:
            raise SkelzooError(f"{path}: no such file or folder.")
    if clips:
        t = max(c.shape[1] for _, c, _ in clips)
        batch = np.zeros((len(clips), *clips[0][1].shape[:1], t, *clips[0][1].shape[2:]), dtype=np.float32)
        for i, (_, c, _) in enumerate(clips):
            if c.shape[2:] != batch.shape[3:]:
                raise SkelzooError(f"clip {clips[i][0]!r} has (V, M) = {c.shape[2:]}, others {batch.shape[3:]}.")
            batch[i, :, : c.shape[1]] = c
        sources.append(Source("clips", batch, np.array([f for *_, f in clips], dtype=np.int64),
                              [n for n, *_ in clips]))
    if not sources:
        raise SkelzooError("no input clips given.")
    return sources


def dataset_source(path: Path, split: str, spec: dict[str, Any]) -> Source:
    from skelzoo.data.dataset import open_dataset

    ds = open_dataset(path, split)
    meta = getattr(ds, "meta", None) or {}
    layout = meta.get("layout") or getattr(ds, "layout", None)
    layout = getattr(layout, "name", layout)
    if layout and spec.get("layout") and layout != spec["layout"]:
        raise SkelzooError(f"{path}: dataset layout {layout!r}, but the model expects {expected_shape(spec)}.")
    data = ds.data
    _, c, _, v, m = data.shape
    if c != spec.get("channels", c) or m > spec.get("bodies", m):
        raise SkelzooError(f"{path}: clips are (C, V, M) = ({c}, {v}, {m}); the model expects {expected_shape(spec)}.")
    if m < spec.get("bodies", m):
        data = np.concatenate([np.asarray(data), np.zeros((*data.shape[:4], spec["bodies"] - m), np.float32)], -1)
    names = list(getattr(ds, "names", None) or [f"{split}/{i}" for i in range(len(data))])
    return Source(f"{path} ({split})", data, np.asarray(ds.num_frames, dtype=np.int64), names)


def write_features(out: Path, features: np.ndarray, names: list[str], meta: dict[str, Any]) -> list[Path]:
    """``.npy`` + ``<stem>.names.txt`` sidecar, or ``.safetensors`` with names in its metadata."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, features)
        names_file = out.with_suffix(".names.txt")
        names_file.write_text("".join(n + "\n" for n in names), encoding="utf-8")
        return [out, names_file]
    if out.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({"features": torch.from_numpy(np.ascontiguousarray(features))}, str(out),
                  metadata={"names": json.dumps(names), **{k: json.dumps(v) for k, v in meta.items()}})
        return [out]
    raise SkelzooError(f"{out}: output must end in {' or '.join(OUTPUT_SUFFIXES)}.")


def read_features(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Features and clip names written by :func:`write_features`."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as fh:
            return fh.get_tensor("features"), json.loads(fh.metadata()["names"])
    names = path.with_suffix(".names.txt").read_text(encoding="utf-8").splitlines()
    return np.load(path), names


def extract_features(model: str, inputs: list[str | Path], out: str | Path | None = None, *,
                     encoder: str | None = None, backend: str = "torch", batch_size: int = 64,
                     device: str = "cpu", layout: str | None = None, split: str = "train",
                     progress: bool = False, lift: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Encode `inputs` with `model`; write them to `out` when given. Returns (features, names)."""
    from skelzoo.inference import encode

    if out is not None and Path(out).suffix not in OUTPUT_SUFFIXES:
        raise SkelzooError(f"{out}: output must end in {' or '.join(OUTPUT_SUFFIXES)}.")
    net = load_for_extract(model, encoder, backend, device)
    spec = dict(getattr(net, "input_spec", {}) or {})
    sources = gather_sources(inputs, spec, split, layout, lift)
    feats, names = [], []
    for src in sources:
        feats.append(encode(net, src.data, src.num_frames, batch_size=batch_size,
                            device=device if backend == "torch" else "cpu", progress=progress,
                            out_frames=int(spec.get("frames", 64)), source=src.label))
        names += src.names
    features = np.concatenate(feats).astype(np.float32)
    if out is not None:
        write_features(Path(out), features, names, {
            "model": str(model), "encoder": encoder or getattr(net, "arch", None),
            "input_spec": spec, "skelzoo_version": __version__,
        })
    return features, names
