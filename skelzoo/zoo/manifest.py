"""The weights manifest: read it, resolve names and aliases, and check its schema.

``skelzoo/weights_manifest.yaml`` is the single source of truth for the zoo (a copy sits at the
repository root for readers; a test keeps them equal). ``$SKELZOO_MANIFEST`` points skelzoo at
another file, e.g. a private zoo. Reading it needs only PyYAML, so ``skelzoo list`` stays fast.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import yaml

from skelzoo.errors import SkelzooError, closest

PACKAGED = Path(__file__).resolve().parent.parent / "weights_manifest.yaml"
STATUSES = ("published", "not-yet-trained")
PROTOCOLS = ("linear", "knn1", "semi1", "semi5", "semi10", "semi20", "finetune", "transfer")
PROTOCOL_TITLES = {
    "linear": "linear probe top-1",
    "knn1": "1-NN retrieval top-1",
    "semi1": "semi-supervised (1% labels) top-1",
    "semi5": "semi-supervised (5% labels) top-1",
    "semi10": "semi-supervised (10% labels) top-1",
    "semi20": "semi-supervised (20% labels) top-1",
    "finetune": "fine-tuned top-1",
    "transfer": "transfer top-1",
}
DATASETS = {
    "ntu60": "NTU RGB+D 60",
    "ntu120": "NTU RGB+D 120",
    "pku1": "PKU-MMD I",
    "pku2": "PKU-MMD II",
    "synth": "skelzoo synthetic actions",
}
REQUIRED = {
    "description": str, "dataset": str, "benchmark": str, "pair": list, "default_encoder": str,
    "encoders": dict, "input_spec": dict, "recipe": str, "license": str, "status": str,
    "metrics": dict,
}
INPUT_SPEC_KEYS = {"layout": str, "frames": int, "bodies": int, "channels": int, "preprocessing": str}
HEX40 = re.compile(r"^[0-9a-f]{40}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

_cache: dict[tuple[str, float], dict[str, Any]] = {}


def manifest_path() -> Path:
    """``$SKELZOO_MANIFEST`` when set, else the manifest shipped inside the package."""
    env = os.environ.get("SKELZOO_MANIFEST")
    return Path(env) if env else PACKAGED


def load_manifest(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed manifest ``{"version", "aliases", "models"}`` (a fresh copy: safe to modify)."""
    path = Path(path) if path else manifest_path()
    if not path.is_file():
        raise SkelzooError(f"{path}: weights manifest not found (check $SKELZOO_MANIFEST).")
    key = (str(path), path.stat().st_mtime)
    if key not in _cache:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise SkelzooError(f"{path}: not valid YAML ({err}).") from None
        if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
            raise SkelzooError(f"{path}: a weights manifest needs a 'models:' mapping.")
        data.setdefault("aliases", {})
        _cache[key] = data
    # deep copy: YAML anchors share dicts between entries, and callers may edit what they get
    return copy.deepcopy(_cache[key])


def model_names(manifest: dict[str, Any] | None = None) -> list[str]:
    return sorted((manifest or load_manifest())["models"])


def resolve_name(name: str, manifest: dict[str, Any] | None = None) -> str | None:
    """The entry name for `name` or one of its aliases; None when it is neither."""
    manifest = manifest or load_manifest()
    if name in manifest["models"]:
        return name
    return manifest["aliases"].get(name)


def get_entry(name: str, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest entry for a name or alias, with its canonical ``name`` added."""
    manifest = manifest or load_manifest()
    canonical = resolve_name(name, manifest)
    if canonical is None or canonical not in manifest["models"]:
        known = list(manifest["models"]) + list(manifest["aliases"])
        raise SkelzooError(
            f"unknown model {name!r}.{closest(name, known)} Known zoo models: "
            f"{', '.join(sorted(manifest['models']))} (see `skelzoo list`). A model can also be a "
            "local checkpoint (.pt), a save_pretrained directory or a Hub repo id (org/name[@revision])."
        )
    entry = manifest["models"][canonical]
    entry["name"] = canonical
    entry["aliases"] = sorted(a for a, t in manifest["aliases"].items() if t == canonical)
    return entry


def not_trained_message(entry: dict[str, Any]) -> str:
    """What to tell someone who asks for weights that do not exist yet."""
    recipe = entry.get("recipe", entry["name"])
    dataset = entry.get("dataset", "ntu60")
    bench = entry.get("benchmark", "xsub")
    return (
        f"zoo model {entry['name']!r} is listed but not trained yet: no weights are published for it "
        f"(status: {entry.get('status')}). Train it yourself: prepare the raw "
        f"{DATASETS.get(dataset, dataset)} files with `skelzoo data prepare {dataset} --raw RAW_DIR "
        f"--out data/{dataset}` (see `skelzoo data prepare --help`), then "
        f"`skelzoo train --recipe {recipe} --data data/{dataset}/{bench}`, and load the resulting "
        "checkpoint (`skelzoo.load('runs/<run>/checkpoint.pt')` or `--model runs/<run>/checkpoint.pt`)."
    )


def validate_entry(name: str, entry: Any) -> list[str]:
    """Schema problems of one entry (cheap: builds no model). Empty list when it is well formed."""
    if not isinstance(entry, dict):
        return [f"{name}: entry must be a mapping"]
    problems: list[str] = []
    for key, typ in REQUIRED.items():
        if key not in entry:
            problems.append(f"{name}: missing key {key!r}")
        elif not isinstance(entry[key], typ):
            problems.append(f"{name}: {key!r} must be a {typ.__name__}, got {type(entry[key]).__name__}")
    if problems:
        return problems
    encoders = entry["encoders"]
    if list(entry["pair"]) != list(encoders):
        problems.append(f"{name}: 'pair' {entry['pair']} must list the encoders in order {list(encoders)}")
    if entry["default_encoder"] not in encoders:
        problems.append(f"{name}: default_encoder {entry['default_encoder']!r} is not one of {list(encoders)}")
    for enc, spec in encoders.items():
        if not isinstance(spec, dict) or not {"arch", "kwargs", "params", "feature_dim"} <= set(spec):
            problems.append(f"{name}: encoder {enc!r} needs arch, kwargs, params, feature_dim")
            continue
        if not isinstance(spec["kwargs"], dict):
            problems.append(f"{name}: encoder {enc!r} kwargs must be a mapping")
        if not isinstance(spec["params"], int) or not isinstance(spec["feature_dim"], int):
            problems.append(f"{name}: encoder {enc!r} params and feature_dim must be integers")
    spec = entry["input_spec"]
    for key, typ in INPUT_SPEC_KEYS.items():
        if not isinstance(spec.get(key), typ):
            problems.append(f"{name}: input_spec.{key} must be a {typ.__name__}")
    if entry["status"] not in STATUSES:
        problems.append(f"{name}: status {entry['status']!r} is not one of {STATUSES}")
    hub = entry.get("hub")
    if entry["status"] == "published":
        if not isinstance(hub, dict):
            problems.append(f"{name}: a published entry needs hub: {{repo_id, revision, files}}")
        else:
            if not isinstance(hub.get("repo_id"), str) or hub["repo_id"].count("/") != 1:
                problems.append(f"{name}: hub.repo_id must be 'org/name'")
            if not HEX40.match(str(hub.get("revision", ""))):
                problems.append(f"{name}: hub.revision must be a pinned 40-hex commit sha")
            files = hub.get("files")
            if not isinstance(files, dict) or "model.safetensors" not in files:
                problems.append(f"{name}: hub.files must give the sha256 of model.safetensors")
            else:
                for fname, sha in files.items():
                    if not HEX64.match(str(sha)):
                        problems.append(f"{name}: hub.files[{fname!r}] must be a 64-hex sha256")
    elif hub not in (None, {}):
        problems.append(f"{name}: hub must be empty until the entry is published")
    problems += _check_metrics(name, "metrics", entry["metrics"], encoders)
    paper = entry.get("paper")
    if paper is not None:
        if not isinstance(paper, dict) or not isinstance(paper.get("source"), str):
            problems.append(f"{name}: paper needs a 'source' string and 'metrics'")
        else:
            problems += _check_metrics(name, "paper.metrics", paper.get("metrics", {}), encoders)
    return problems


def _check_metrics(name: str, where: str, metrics: Any, encoders: dict) -> list[str]:
    if not isinstance(metrics, dict):
        return [f"{name}: {where} must be a mapping encoder -> protocol -> top-1 %"]
    problems = []
    for enc, per in metrics.items():
        if enc not in encoders:
            problems.append(f"{name}: {where} names encoder {enc!r}, not one of {list(encoders)}")
            continue
        if not isinstance(per, dict):
            problems.append(f"{name}: {where}.{enc} must map protocol -> top-1 %")
            continue
        for proto, value in per.items():
            if proto not in PROTOCOLS:
                problems.append(f"{name}: {where}.{enc}: unknown protocol {proto!r} (known: {', '.join(PROTOCOLS)})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
                problems.append(f"{name}: {where}.{enc}.{proto} must be a top-1 % in [0, 100]")
    return problems


def validate_manifest(manifest: dict[str, Any] | None = None) -> list[str]:
    """Schema problems of the whole manifest, aliases included."""
    manifest = manifest or load_manifest()
    problems = []
    for name, entry in manifest["models"].items():
        problems += validate_entry(name, entry)
    for alias, target in manifest["aliases"].items():
        if alias in manifest["models"]:
            problems.append(f"alias {alias!r} shadows a model name")
        if target not in manifest["models"]:
            problems.append(f"alias {alias!r} points at unknown model {target!r}")
    return problems
