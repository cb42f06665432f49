"""Model cards: the README.md of a Hub repo, with our measured results as ``model-index``.

Only metrics measured on these weights go into ``model-index`` (the Hub's results table, parsed by
``ModelCard.load(...).data.eval_results``); the paper's figures are a separate, labelled table in
the text, so nobody mistakes them for a measurement of this checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skelzoo.errors import SkelzooError
from skelzoo.zoo.manifest import DATASETS, PROTOCOL_TITLES, PROTOCOLS

TASK_TYPE = "skeleton-action-recognition"
CITATION = """@inproceedings{thoker2021skeleton,
  title     = {Skeleton-Contrastive 3D Action Representation Learning},
  author    = {Thoker, Fida Mohammad and Doughty, Hazel and Snoek, Cees G. M.},
  booktitle = {Proceedings of the 29th ACM International Conference on Multimedia (ACM MM)},
  year      = {2021}
}"""


def eval_results(metrics: dict[str, dict[str, float]], dataset: str, benchmark: str) -> list:
    """``EvalResult`` objects for metrics ``{encoder: {protocol: top-1 %}}``."""
    from huggingface_hub import EvalResult

    results = []
    for enc, per in metrics.items():
        for proto, value in per.items():
            results.append(EvalResult(
                task_type=TASK_TYPE,
                task_name="Skeleton-based action recognition",
                dataset_type=dataset,
                dataset_name=f"{DATASETS.get(dataset, dataset)} ({benchmark})",
                dataset_split=benchmark,
                metric_type="accuracy",
                metric_name=f"{PROTOCOL_TITLES.get(proto, proto)} ({enc} encoder)",
                metric_value=float(value),
                metric_args={"encoder": enc, "protocol": proto},
            ))
    return results


def metrics_from_card(path_or_card) -> dict[str, dict[str, float]]:
    """Read ``{encoder: {protocol: value}}`` back from a model card's ``model-index``."""
    from huggingface_hub import ModelCard

    card = path_or_card if isinstance(path_or_card, ModelCard) else ModelCard.load(path_or_card)
    out: dict[str, dict[str, float]] = {}
    for res in card.data.eval_results or []:
        args = res.metric_args or {}
        if "encoder" in args and "protocol" in args:
            out.setdefault(args["encoder"], {})[args["protocol"]] = float(res.metric_value)
    return out


def _table(metrics: dict[str, dict[str, float]]) -> str:
    if not metrics:
        return "_none measured yet_\n"
    lines = ["| encoder | protocol | top-1 (%) |", "| --- | --- | --- |"]
    for enc, per in metrics.items():
        for proto, value in per.items():
            lines.append(f"| {enc} | {PROTOCOL_TITLES.get(proto, proto)} | {value:.1f} |")
    return "\n".join(lines) + "\n"


def build_card(config: dict[str, Any], repo_id: str | None = None, paper: dict | None = None):
    """A ``huggingface_hub.ModelCard`` for a ``save_pretrained`` folder's ``config.json`` dict."""
    from huggingface_hub import ModelCard, ModelCardData

    name = config.get("name") or (repo_id or "skelzoo-model").split("/")[-1]
    dataset = config.get("dataset") or "unknown"
    benchmark = config.get("benchmark") or "unknown"
    metrics = config.get("metrics") or {}
    data = ModelCardData(
        model_name=name,
        license=config.get("license") or "mit",
        library_name="skelzoo",
        tags=["skeleton", "action-recognition", "self-supervised", "contrastive-learning", "skelzoo"],
        eval_results=eval_results(metrics, dataset, benchmark) or None,
    )
    spec = config.get("input_spec", {})
    encoders = config.get("encoders", {})
    enc_lines = "\n".join(
        f"| `{k}` | `{v['arch']}` | `{json.dumps(v.get('kwargs', {}), sort_keys=True)}` |"
        for k, v in encoders.items()
    )
    load_id = repo_id or name
    paper_part = ""
    if paper and paper.get("metrics"):
        paper_part = (
            f"\n### Published figures (the paper, not this checkpoint)\n\n"
            f"Source: {paper.get('source', 'Thoker et al. 2021')}.\n\n{_table(paper['metrics'])}"
        )
    body = f"""
# {name}

Self-supervised skeleton action encoders trained with **inter-skeleton contrastive learning**
(ISC; Thoker, Doughty & Snoek, ACM MM 2021) using [skelzoo](https://pypi.org/project/skelzoo/).
Pair: {' + '.join(encoders) or 'n/a'}; default encoder: `{config.get('default_encoder')}`.
Dataset: {DATASETS.get(dataset, dataset)}, benchmark `{benchmark}`.

## Use

```python
import skelzoo
encoder = skelzoo.load("{load_id}")        # eval mode, encoder.input_spec attached
```

```bash
skelzoo extract --model {load_id} clips/ -o features.npy
```

## Input

| key | value |
| --- | --- |
""" + "\n".join(f"| {k} | `{v}` |" for k, v in spec.items()) + f"""

Clips are (N, C, T, V, M) float32: coordinates, frames, joints, bodies. skelzoo's evaluation crop
(centre 95 % of the valid frames, resized to {spec.get('frames', 64)}) is applied by
`skelzoo extract` and `skelzoo.inference.encode`.

## Encoders

| name | arch | kwargs |
| --- | --- | --- |
{enc_lines}

Weights: `model.safetensors`, keys prefixed by the encoder name (`seq.`, `stg.`, `img.`).
Training recipe: `{config.get('recipe') or 'n/a'}` (skelzoo/recipes). skelzoo {config.get('skelzoo_version', '?')}.

**Difference from the reference implementation.** The authors' code feeds its GRU one frame at a
time, so its "backward" direction also runs forward in time. skelzoo's `seq` encoder is a true
bidirectional GRU over the whole clip (faster and exportable); converted reference checkpoints use
`reference_compat=True` to reproduce the original recurrence.

## Results (measured on these weights)

{_table(metrics)}{paper_part}
## Licence

{config.get('license') or 'mit'}

## Citation

```bibtex
{CITATION}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def metrics_from_results(paths: list[str | Path]) -> dict[str, dict[str, float]]:
    """``{encoder: {protocol: top-1 %}}`` from ``skelzoo evaluate`` results.json files.

    Results protocols map to manifest protocols: linear -> linear (``top1``, the final epoch),
    knn -> knn1 (``knn1_top1``), semi -> semi1/semi5/... (``semiN_top1_mean``), transfer ->
    transfer (``top1``).
    """
    from skelzoo.eval.results import read_results

    out: dict[str, dict[str, float]] = {}
    for path in paths:
        doc = read_results(path)
        enc, proto, m = str(doc["encoder"]), doc["protocol"], doc["metrics"]
        found: dict[str, float] = {}
        if proto in ("linear", "transfer") and "top1" in m:
            found[proto] = m["top1"]
        elif proto == "knn" and "knn1_top1" in m:
            found["knn1"] = m["knn1_top1"]
        elif proto == "semi":
            for key, value in m.items():
                head, _, tail = key.partition("_")
                if tail == "top1_mean" and head in PROTOCOLS:
                    found[head] = value
        if not found:
            raise SkelzooError(
                f"{path}: no headline metric for protocol {proto!r} in {sorted(m)} "
                "(expected top1, knn1_top1 or semiN_top1_mean)."
            )
        out.setdefault(enc, {}).update({k: round(float(v), 2) for k, v in found.items()})
    return out
