"""Weights on the Hugging Face Hub: save_pretrained / from_pretrained / push_to_hub.

A saved model is a folder (= a Hub repo):

- ``model.safetensors``: every encoder of the pair, keys prefixed by the encoder name
  (``seq.gru.weight_ih_l0``, ``stg.l1.gcn1.PA``); metadata ``{"format": "skelzoo", "format_version"}``.
- ``config.json``: per encoder its arch and constructor kwargs, the default encoder, the input spec,
  the recipe, dataset/benchmark, measured metrics and the skelzoo version.
- ``README.md``: the model card (``model-index`` results, input spec, citation).

Downloads go through ``hf_hub_download``, so the Hub cache and ``HF_HUB_OFFLINE`` work as usual;
a file whose sha256 differs from the manifest's is refused, and weights load strictly.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from skelzoo import __version__
from skelzoo.checkpoint import file_sha256
from skelzoo.errors import SkelzooError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"
FORMAT_VERSION = 1
DEFAULT_INPUT_SPEC = {"layout": "ntu25", "frames": 64, "bodies": 2, "channels": 3,
                      "preprocessing": "ntu-reference"}


# --------------------------------------------------------------------------- save


def as_checkpoint(source: Any) -> dict[str, Any]:
    """A checkpoint-format dict from a checkpoint path, a checkpoint dict, one encoder or
    ``{name: encoder}``; modules contribute their arch, config, state_dict and input_spec."""
    from skelzoo.checkpoint import load_checkpoint

    if isinstance(source, (str, Path)):
        return load_checkpoint(source)
    if isinstance(source, torch.nn.Module):
        source = {getattr(source, "arch", "encoder"): source}
    if isinstance(source, Mapping) and "encoders" in source:
        return dict(source)
    if isinstance(source, Mapping) and source and all(isinstance(m, torch.nn.Module) for m in source.values()):
        first = next(iter(source.values()))
        spec = getattr(first, "input_spec", None) or {
            **DEFAULT_INPUT_SPEC, "layout": first.config.get("layout", "ntu25"),
            "bodies": first.config.get("num_bodies", 2), "channels": first.config.get("in_channels", 3),
        }
        return {
            "encoders": {k: {"arch": m.arch, "kwargs": dict(m.config), "state_dict": m.state_dict()}
                         for k, m in source.items()},
            "default_encoder": next(iter(source)),
            "input_spec": dict(spec),
        }
    raise SkelzooError(
        f"cannot save {type(source).__name__}: give a checkpoint path, a checkpoint dict, an "
        "encoder or a {name: encoder} mapping."
    )


def make_config(ckpt: dict[str, Any], name: str | None = None, entry: dict | None = None,
                metrics: dict | None = None, license: str | None = None) -> dict[str, Any]:
    recipe = ckpt.get("recipe")
    recipe_name = entry.get("recipe") if entry else None
    if recipe_name is None and isinstance(recipe, Mapping):
        recipe_name = recipe.get("name")
    elif recipe_name is None and isinstance(recipe, str):
        recipe_name = recipe
    data = recipe.get("data", {}) if isinstance(recipe, Mapping) else {}
    return {
        "format": "skelzoo", "format_version": FORMAT_VERSION, "skelzoo_version": __version__,
        "name": name or (entry or {}).get("name") or recipe_name,
        "encoders": {k: {"arch": e["arch"], "kwargs": dict(e.get("kwargs", {}))}
                     for k, e in ckpt["encoders"].items()},
        "default_encoder": ckpt.get("default_encoder") or next(iter(ckpt["encoders"])),
        "input_spec": dict(ckpt.get("input_spec") or DEFAULT_INPUT_SPEC),
        "recipe": recipe_name,
        "dataset": (entry or {}).get("dataset") or (data.get("dataset") if isinstance(data, Mapping) else None),
        "benchmark": (entry or {}).get("benchmark") or (data.get("benchmark") if isinstance(data, Mapping) else None),
        "license": license or (entry or {}).get("license") or "mit",
        "metrics": metrics if metrics is not None else ((entry or {}).get("metrics") or ckpt.get("metrics") or {}),
    }


def save_pretrained(source: Any, out_dir: str | Path, *, name: str | None = None,
                    entry: dict | None = None, metrics: dict | None = None,
                    license: str | None = None, repo_id: str | None = None) -> Path:
    """Write ``model.safetensors`` + ``config.json`` + ``README.md`` for `source` into `out_dir`.

    `metrics` is ``{encoder: {protocol: top-1 %}}`` measured on these weights (see
    :func:`skelzoo.zoo.card.metrics_from_results`); `entry` is a manifest entry to take names from.
    """
    from safetensors.torch import save_file

    from skelzoo.zoo.card import build_card
    from skelzoo.zoo.manifest import PROTOCOLS

    ckpt = as_checkpoint(source)
    config = make_config(ckpt, name, entry, metrics, license)
    for enc, per in config["metrics"].items():
        bad = [p for p in per if p not in PROTOCOLS]
        if enc not in config["encoders"] or bad:
            raise SkelzooError(f"metrics for {enc!r} {bad or ''}: encoders are {list(config['encoders'])}, "
                               f"protocols {', '.join(PROTOCOLS)}.")
    tensors = {}
    for enc, e in ckpt["encoders"].items():
        for key, value in e["state_dict"].items():
            # safetensors refuses shared or strided storage; weights are small enough to copy
            tensors[f"{enc}.{key}"] = value.detach().cpu().contiguous().clone()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / WEIGHTS), metadata={"format": "skelzoo", "format_version": str(FORMAT_VERSION)})
    (out / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    build_card(config, repo_id=repo_id, paper=(entry or {}).get("paper")).save(out / CARD)
    return out


# --------------------------------------------------------------------------- load


def read_pretrained(folder: str | Path, expected_sha256: Mapping[str, str] | str | None = None) -> dict[str, Any]:
    """A checkpoint-format dict from a ``save_pretrained`` folder (after checking hashes)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    folder = Path(folder)
    for fname in (WEIGHTS, CONFIG):
        if not (folder / fname).is_file():
            raise SkelzooError(f"{folder}: no {fname}; not a skelzoo save_pretrained folder.")
    verify_sha256(folder, expected_sha256)
    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SkelzooError(f"{folder / CONFIG}: not valid JSON ({err}).") from None
    if config.get("format") != "skelzoo" or not isinstance(config.get("encoders"), dict):
        raise SkelzooError(f"{folder / CONFIG}: not a skelzoo model config (no 'format: skelzoo').")
    if int(config.get("format_version", 0)) > FORMAT_VERSION:
        raise SkelzooError(f"{folder}: format version {config['format_version']} is newer than this "
                           f"skelzoo reads ({FORMAT_VERSION}); upgrade skelzoo.")
    try:
        with safe_open(str(folder / WEIGHTS), framework="pt") as fh:
            meta = fh.metadata() or {}
        tensors = load_file(str(folder / WEIGHTS))
    except Exception as err:  # safetensors' own header errors: name the file
        raise SkelzooError(f"{folder / WEIGHTS}: not a readable safetensors file ({err}).") from None
    if meta.get("format") != "skelzoo":
        raise SkelzooError(f"{folder / WEIGHTS}: safetensors metadata lacks format=skelzoo.")
    encoders = {k: {**v, "state_dict": {}} for k, v in config["encoders"].items()}
    for key, value in tensors.items():
        enc, _, rest = key.partition(".")
        if enc not in encoders:
            raise SkelzooError(f"{folder / WEIGHTS}: tensor {key!r} belongs to no encoder of {list(encoders)}.")
        encoders[enc]["state_dict"][rest] = value
    return {
        "format": "skelzoo-checkpoint", "version": 1, "encoders": encoders,
        "default_encoder": config.get("default_encoder"), "input_spec": config.get("input_spec", {}),
        "recipe": config.get("recipe"), "metrics": config.get("metrics", {}), "config": config,
    }


def verify_sha256(folder: Path, expected: Mapping[str, str] | str | None) -> None:
    if not expected:
        return
    if isinstance(expected, str):
        expected = {WEIGHTS: expected}
    for fname, want in expected.items():
        path = folder / fname
        if not path.is_file():
            raise SkelzooError(f"{path}: missing, but the manifest pins its sha256 {want}.")
        got = file_sha256(path)
        if got != want.lower():
            raise SkelzooError(
                f"{path}: sha256 mismatch, refusing to load it. Expected {want} (manifest), got {got}. "
                "The file is corrupt or was replaced; delete it from the cache and download it again."
            )


def parse_repo_spec(spec: str) -> tuple[str, str | None]:
    """``"org/name@rev"`` -> ``("org/name", "rev")``."""
    repo, _, rev = spec.partition("@")
    return repo, (rev or None)


def fetch(repo_id: str, revision: str | None = None, files: tuple[str, ...] = (WEIGHTS, CONFIG)) -> Path:
    """Download (or find in the Hub cache) `files` of `repo_id` at `revision`; the folder holding them."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub import errors as hf_errors

    where = f"{repo_id}@{revision}" if revision else repo_id
    how = (f"run once online, or fetch it into the cache with `hf download {repo_id}"
           f"{f' --revision {revision}' if revision else ''}` (older huggingface_hub: "
           "`huggingface-cli download ...`)")
    paths = []
    for fname in files:
        try:
            paths.append(Path(hf_hub_download(repo_id, fname, revision=revision,
                                              library_name="skelzoo", library_version=__version__)))
        except hf_errors.HFValidationError as err:
            raise SkelzooError(f"{repo_id!r}: not a valid Hub repo id ({err}).") from None
        except hf_errors.RepositoryNotFoundError:
            raise SkelzooError(f"Hub repo {repo_id!r} not found (or private: log in with `hf auth login`).") from None
        except hf_errors.RevisionNotFoundError:
            raise SkelzooError(f"Hub repo {repo_id!r} has no revision {revision!r}.") from None
        except hf_errors.LocalEntryNotFoundError:  # before EntryNotFoundError: it is a subclass
            if constants.HF_HUB_OFFLINE:
                raise SkelzooError(
                    f"{where}: {fname} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and "
                    f"HF_HUB_OFFLINE is set. To fetch it, {how}."
                ) from None
            raise SkelzooError(f"{where}: could not reach the Hub for {fname} and it is not cached; "
                               f"check the connection, or {how}.") from None
        except hf_errors.EntryNotFoundError:
            raise SkelzooError(f"Hub repo {where} has no {fname}; is it a skelzoo model repo?") from None
        except hf_errors.HfHubHTTPError as err:
            raise SkelzooError(f"{where}: Hub request for {fname} failed ({err}).") from None
    folder = paths[0].parent
    if any(p.parent != folder for p in paths):
        raise SkelzooError(f"{where}: files resolved to different snapshots; clear the cache entry and retry.")
    return folder


def load_pretrained_checkpoint(repo_or_dir: str | Path, revision: str | None = None,
                               expected_sha256: Mapping[str, str] | str | None = None) -> dict[str, Any]:
    """The checkpoint-format dict of a local folder or a Hub repo (``org/name[@revision]``)."""
    path = Path(repo_or_dir)
    if path.is_dir():
        return read_pretrained(path, expected_sha256)
    repo_id, rev = parse_repo_spec(str(repo_or_dir))
    folder = fetch(repo_id, revision or rev)
    return read_pretrained(folder, expected_sha256)


def from_pretrained(repo_or_dir: str | Path, revision: str | None = None, encoder: str | None = None,
                    expected_sha256: Mapping[str, str] | str | None = None,
                    device: str | torch.device = "cpu") -> torch.nn.Module:
    """One encoder (default: the folder's default) in eval mode, ``.input_spec`` attached."""
    from skelzoo.checkpoint import encoder_from_checkpoint

    ckpt = load_pretrained_checkpoint(repo_or_dir, revision, expected_sha256)
    model = encoder_from_checkpoint(ckpt, encoder, source=str(repo_or_dir))
    return model.to(device)


# --------------------------------------------------------------------------- push


def manifest_entry(config: dict[str, Any], repo_id: str, revision: str, files: dict[str, str],
                   entry: dict | None = None) -> dict[str, Any]:
    """The weights_manifest.yaml entry for an uploaded folder."""
    from skelzoo.models import create_encoder

    encoders = {}
    for k, e in config["encoders"].items():
        model = create_encoder(e["arch"], **e["kwargs"])
        encoders[k] = {"arch": e["arch"], "kwargs": e["kwargs"],
                       "params": sum(p.numel() for p in model.parameters()),
                       "feature_dim": int(model.feature_dim)}
    dataset, bench = config.get("dataset") or "unknown", config.get("benchmark") or "unknown"
    return {
        "description": (entry or {}).get("description")
        or f"ISC {'+'.join(encoders)} pretrained on {dataset} {bench}.",
        "dataset": dataset, "benchmark": bench,
        "pair": list(encoders), "default_encoder": config["default_encoder"], "encoders": encoders,
        "input_spec": config["input_spec"], "recipe": config.get("recipe") or "unknown",
        "license": config.get("license", "mit"), "status": "published",
        "hub": {"repo_id": repo_id, "revision": revision, "files": files},
        "metrics": config.get("metrics", {}),
        **({"paper": entry["paper"]} if entry and entry.get("paper") else {}),
    }


def push_to_hub(source: Any, repo_id: str, *, private: bool = False, results: list[str | Path] = (),
                name: str | None = None, token: str | None = None,
                commit_message: str | None = None) -> tuple[str, dict[str, Any]]:
    """Create `repo_id` (if needed), upload a ``save_pretrained`` folder, and return
    ``(entry name, manifest entry)`` with the pinned commit sha and file hashes."""
    from huggingface_hub import HfApi

    from skelzoo.zoo.card import metrics_from_results
    from skelzoo.zoo.manifest import get_entry, resolve_name

    if repo_id.count("/") != 1:
        raise SkelzooError(f"--repo {repo_id!r}: give the Hub repo as ORG/NAME.")
    ckpt = as_checkpoint(source)
    metrics = metrics_from_results(list(results)) if results else None
    recipe = ckpt.get("recipe")
    guess = name or (recipe.get("name") if isinstance(recipe, Mapping) else None) or repo_id.split("/")[1]
    entry = get_entry(guess) if resolve_name(guess) else None
    entry_name = entry["name"] if entry else guess
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="skelzoo-push-") as tmp:
        folder = save_pretrained(ckpt, tmp, name=entry_name, entry=entry, metrics=metrics, repo_id=repo_id)
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        files = {WEIGHTS: file_sha256(folder / WEIGHTS), CONFIG: file_sha256(folder / CONFIG)}
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                                 commit_message=commit_message or f"skelzoo {__version__}: upload {entry_name}")
    revision = getattr(info, "oid", None)
    if not revision:
        raise SkelzooError(f"upload to {repo_id} returned no commit sha; check the repo on the Hub.")
    return entry_name, manifest_entry(config, repo_id, revision, files, entry)
