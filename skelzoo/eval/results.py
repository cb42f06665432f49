"""Evaluation results files: what the zoo's manifest and model cards take their metrics from.

Schema (docs/ARCHITECTURE.md)::

    {"model", "checkpoint_sha256", "encoder", "dataset", "benchmark", "protocol",
     "metrics": {...}, "settings": {...}, "date", "skelzoo_version"}

Metric names say what they are: ``top1`` (final epoch), ``best_epoch_top1`` (best epoch on the
test set, as the reference reported), ``knn1_top1`` (1-NN), ``knn5_top1``, ``semi1_top1_mean`` /
``semi1_top1_std`` (1 % labels, over seeds). All accuracies are percentages.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from skelzoo import __version__
from skelzoo.errors import SkelzooError

REQUIRED = ("model", "checkpoint_sha256", "encoder", "dataset", "benchmark", "protocol", "metrics", "settings", "date", "skelzoo_version")
PROTOCOLS = ("linear", "knn", "semi", "transfer")


def make_results(
    *,
    model: str,
    encoder: str,
    dataset: str,
    benchmark: str,
    protocol: str,
    metrics: dict[str, float],
    settings: dict[str, Any] | None = None,
    checkpoint_sha256: str | None = None,
) -> dict[str, Any]:
    """A results document with every schema key, today's date (UTC) and this skelzoo's version."""
    doc = {
        "model": model,
        "checkpoint_sha256": checkpoint_sha256,
        "encoder": encoder,
        "dataset": dataset,
        "benchmark": benchmark,
        "protocol": protocol,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "settings": settings or {},
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "skelzoo_version": __version__,
    }
    validate_results(doc, "results")
    return doc


def validate_results(doc: Any, source: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise SkelzooError(f"{source}: a results file holds one JSON object; got {type(doc).__name__}.")
    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        raise SkelzooError(f"{source}: not a skelzoo results file, missing {', '.join(missing)}.")
    if doc["protocol"] not in PROTOCOLS:
        raise SkelzooError(f"{source}: unknown protocol {doc['protocol']!r} (known: {', '.join(PROTOCOLS)}).")
    if not isinstance(doc["metrics"], dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in doc["metrics"].values()
    ):
        raise SkelzooError(f"{source}: 'metrics' must map names to finite numbers.")
    return doc


def write_results(path: str | Path, doc: dict[str, Any]) -> Path:
    """Validate and write `doc` atomically (pretty JSON, trailing newline)."""
    validate_results(doc, str(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_results(path: str | Path) -> dict[str, Any]:
    """Read and validate a results file."""
    path = Path(path)
    if not path.is_file():
        raise SkelzooError(f"{path}: no such results file.")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SkelzooError(f"{path}: not valid JSON ({err}).") from None
    return validate_results(doc, str(path))
