"""One way in: ``load_model(spec)`` for a zoo name or alias, a checkpoint, a saved folder or a Hub id."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from skelzoo.errors import SkelzooError

_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+(@[\w./-]+)?$")


def describe_source(spec: str | Path) -> tuple[str, Any]:
    """What `spec` names: ("checkpoint", path), ("folder", path), ("zoo", entry), ("hub", repo spec)."""
    from skelzoo.zoo.manifest import get_entry, resolve_name

    path = Path(spec)
    if path.is_file():
        if path.suffix == ".onnx":
            raise SkelzooError(f"{path}: an ONNX file; use it with `--backend onnx` (skelzoo extract) "
                               "or skelzoo.export.runtime.OnnxEncoder, not the PyTorch loader.")
        return "checkpoint", path
    if path.is_dir():
        return "folder", path
    text = str(spec)
    if resolve_name(text):
        return "zoo", get_entry(text)
    if text.endswith((".pt", ".pth", ".tar", ".onnx", ".safetensors")) or text.startswith((".", "~")) or "\\" in text:
        raise SkelzooError(f"{text}: no such file. Give an existing checkpoint, a zoo name "
                           "(`skelzoo list`) or a Hub repo id.")
    if _REPO_ID.match(text) and text.count("/") == 1:
        return "hub", text
    get_entry(text)  # raises the "unknown model, did you mean" error
    raise AssertionError("unreachable")


def load_model(spec: str | Path, encoder: str | None = None,
               device: str | torch.device = "cpu") -> torch.nn.Module:
    """An encoder in eval mode with ``.input_spec`` (and ``.source``) attached.

    `spec`: a zoo entry name or alias (``ntu60-xview-seq-stg``, ``ntu60-seq-stg``), a skelzoo
    checkpoint (``runs/x/checkpoint.pt``), a folder written by ``save_pretrained``, or a Hub repo id
    (``org/name`` or ``org/name@revision``). `encoder` picks one of the pair (default: the
    entry's default). A zoo entry that is not trained yet raises an error saying how to train it.
    """
    from skelzoo.checkpoint import load_encoder
    from skelzoo.device import resolve_device
    from skelzoo.zoo.hub import from_pretrained
    from skelzoo.zoo.manifest import not_trained_message

    dev = resolve_device(device)
    kind, target = describe_source(spec)
    if kind == "checkpoint":
        model = load_encoder(target, encoder, device=dev)
    elif kind == "folder":
        model = from_pretrained(target, encoder=encoder, device=dev)
    elif kind == "hub":
        model = from_pretrained(target, encoder=encoder, device=dev)
    else:
        entry = target
        if entry["status"] != "published":
            raise SkelzooError(not_trained_message(entry))
        hub = entry["hub"]
        which = encoder or entry["default_encoder"]
        if which not in entry["encoders"]:
            from skelzoo.errors import unknown

            raise unknown(f"encoder of {entry['name']}", which, entry["encoders"])
        model = from_pretrained(hub["repo_id"], revision=hub["revision"], encoder=which,
                                expected_sha256=hub["files"], device=dev)
        _check_against_entry(model, entry, which)
    model.eval()
    model.source = str(spec)
    return model


def _check_against_entry(model: torch.nn.Module, entry: dict, which: str) -> None:
    """Downloaded config must build what the manifest promises (guards a stale pinned revision)."""
    want = entry["encoders"][which]
    params = sum(p.numel() for p in model.parameters())
    if getattr(model, "arch", None) != want["arch"] or params != want["params"]:
        raise SkelzooError(
            f"zoo model {entry['name']}: the weights at {entry['hub']['repo_id']}@{entry['hub']['revision']} "
            f"build a {getattr(model, 'arch', '?')} encoder with {params} parameters, but the manifest "
            f"promises {want['arch']} with {want['params']}; the manifest entry is out of date."
        )
