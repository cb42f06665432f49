"""Exact cosine k-nearest-neighbour search and k-NN classification, in bounded memory.

The similarity matrix of a 100k-query x 100k-gallery problem would take 40 GB, so it is never
built: queries and gallery are cut into chunks, each (query chunk x gallery chunk) block is one
matrix product, and a running top-k per query is merged block by block. Peak extra memory is one
block (``query_chunk * gallery_chunk`` floats) plus the normalised query chunk; the gallery is
never copied on the CPU (its inverse norms scale each block instead).

Ties are broken deterministically: among equal similarities the **lower gallery index wins**
(both for which neighbours make the top k and for their order). ``torch.topk`` does not promise
that, so blocks whose k-th score is tied with an element it left out are re-ranked with a stable
sort (rare with real features, where exact ties almost never happen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from skelzoo.device import resolve_device
from skelzoo.errors import SkelzooError
from skelzoo.progress import progress_bar

DEFAULT_QUERY_CHUNK = 2048
DEFAULT_GALLERY_CHUNK = 16384


@dataclass
class Neighbours:
    """Top-k result: ``scores`` (Q, k) cosine similarities, best first; ``indices`` (Q, k) gallery rows."""

    scores: np.ndarray
    indices: np.ndarray


def _as_tensor(x, name: str) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    if t.ndim != 2:
        raise SkelzooError(f"{name} features must be a 2-d array (N, D); got shape {tuple(t.shape)}.")
    if t.shape[0] == 0:
        raise SkelzooError(f"{name} features are empty (0 rows): is the split empty?")
    return t


def check_features(query, gallery) -> tuple[torch.Tensor, torch.Tensor]:
    """Both as 2-d tensors with the same width, finite; a clear error otherwise."""
    q = _as_tensor(query, "query")
    g = _as_tensor(gallery, "gallery")
    if q.shape[1] != g.shape[1]:
        raise SkelzooError(
            f"feature dimensions differ: gallery {g.shape[1]}-d, query {q.shape[1]}-d. Both sides "
            "must come from the same encoder (same checkpoint and --encoder)."
        )
    for name, t in (("query", q), ("gallery", g)):
        if not t.is_floating_point():
            continue
        for r0 in range(0, t.shape[0], 1024):  # in chunks: isfinite on the whole gallery costs a copy of it
            finite = torch.isfinite(t[r0 : r0 + 1024]).all(1)
            if not bool(finite.all()):
                bad = r0 + int((~finite).nonzero()[0])
                raise SkelzooError(f"{name} features contain NaN/inf (row {bad}); the encoder output is broken.")
    return q, g


def _normalise(x: torch.Tensor) -> torch.Tensor:
    x = x.float()
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _stage_gallery(g: torch.Tensor, dev: torch.device) -> torch.Tensor:
    """On a GPU, copy the gallery over once when it takes under a quarter of the free memory (it is
    read once per query chunk); otherwise chunks are copied as they are used."""
    if dev.type != "cuda" or g.device == dev:
        return g
    free, _ = torch.cuda.mem_get_info(dev)
    if g.numel() * 4 < free // 4:
        return g.to(dev, torch.float32, non_blocking=True)
    return g


def _block_topk(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of each row of a block, ordered by (score desc, column asc)."""
    vals, idx = scores.topk(k, dim=1, largest=True, sorted=True)
    # Order ties inside the top k by column: sort by column, then stable-sort by score.
    order = idx.argsort(dim=1)
    vals, idx = vals.gather(1, order), idx.gather(1, order)
    order = vals.argsort(dim=1, descending=True, stable=True)
    vals, idx = vals.gather(1, order), idx.gather(1, order)
    # Rows where the k-th score is tied with an element left out: topk may have kept the wrong one.
    kth = vals[:, -1:]
    left_out_ties = (scores == kth).sum(1) > (vals == kth).sum(1)
    if bool(left_out_ties.any()):
        rows = left_out_ties.nonzero().squeeze(1)
        v, i = scores[rows].sort(dim=1, descending=True, stable=True)
        vals[rows], idx[rows] = v[:, :k], i[:, :k]
    return vals, idx


def cosine_topk(
    query,
    gallery,
    k: int = 1,
    *,
    query_chunk: int = DEFAULT_QUERY_CHUNK,
    gallery_chunk: int = DEFAULT_GALLERY_CHUNK,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> Neighbours:
    """The `k` gallery rows most cosine-similar to each query row (exact, chunked, on `device`).

    Features are L2-normalised chunk by chunk (inputs are never copied whole). Among equal
    similarities the lower gallery index wins.
    """
    q, g = check_features(query, gallery)
    if k < 1:
        raise SkelzooError(f"k must be at least 1; got {k}.")
    if k > g.shape[0]:
        raise SkelzooError(f"k={k} neighbours asked for, but the gallery holds only {g.shape[0]} clips.")
    if query_chunk < 1 or gallery_chunk < 1:
        raise SkelzooError("chunk sizes must be positive.")
    dev = resolve_device(device)
    nq, ng = q.shape[0], g.shape[0]
    g = _stage_gallery(g, dev)
    # Gallery norms once; a block's scores are divided by them instead of normalising (copying)
    # each gallery chunk, so the only per-block allocation is the score block itself.
    inv_norm = torch.cat([
        g[i : i + gallery_chunk].to(dev).float().norm(dim=1).clamp_min(1e-12).reciprocal()
        for i in range(0, ng, gallery_chunk)
    ])
    out_vals = torch.empty(nq, k, dtype=torch.float32)
    out_idx = torch.empty(nq, k, dtype=torch.int64)
    with torch.inference_mode(), progress_bar(nq, "searching", enabled=progress, unit="queries") as advance:
        for q0 in range(0, nq, query_chunk):
            qc = _normalise(q[q0 : q0 + query_chunk].to(dev))
            best_v = torch.empty(qc.shape[0], 0, device=dev)
            best_i = torch.empty(qc.shape[0], 0, dtype=torch.int64, device=dev)
            for g0 in range(0, ng, gallery_chunk):
                gc = g[g0 : g0 + gallery_chunk].to(dev).float()
                block = (qc @ gc.T).mul_(inv_norm[g0 : g0 + gallery_chunk])
                v, i = _block_topk(block, min(k, gc.shape[0]))
                # Running merge. Everything kept so far has a lower gallery index than this block
                # and each part is already ordered, so a stable sort on the score keeps the
                # lower-index-wins rule.
                cat_v = torch.cat([best_v, v], 1)
                cat_i = torch.cat([best_i, i + g0], 1)
                order = cat_v.argsort(dim=1, descending=True, stable=True)[:, :k]
                best_v, best_i = cat_v.gather(1, order), cat_i.gather(1, order)
            out_vals[q0 : q0 + len(qc)] = best_v.cpu()
            out_idx[q0 : q0 + len(qc)] = best_i.cpu()
            advance(len(qc))
    return Neighbours(out_vals.numpy(), out_idx.numpy())


def knn_vote(neighbour_labels: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Majority vote over each row of neighbour labels (Q, k), nearest first.

    A tie between labels goes to the tied label whose neighbour is nearest.
    """
    nl = torch.as_tensor(np.asarray(neighbour_labels), dtype=torch.int64)
    if nl.ndim != 2 or nl.shape[1] == 0:
        raise SkelzooError(f"neighbour labels must be (Q, k) with k >= 1; got {tuple(nl.shape)}.")
    if bool((nl < 0).any()):
        raise SkelzooError("neighbour labels must be non-negative class indices.")
    c = int(nl.max()) + 1 if num_classes is None else num_classes
    votes = torch.zeros(nl.shape[0], c, dtype=torch.int64).scatter_add_(1, nl, torch.ones_like(nl))
    tied = votes == votes.max(1, keepdim=True).values
    first = tied.gather(1, nl).to(torch.int8).argmax(1)  # the nearest neighbour with a top-voted label
    return nl.gather(1, first[:, None]).squeeze(1).numpy()


def knn_classify(
    query,
    gallery,
    gallery_labels,
    ks: int | tuple[int, ...] = 1,
    **search_kwargs,
) -> dict[int, np.ndarray]:
    """k-NN predictions for each k in `ks` (one search with the largest k)."""
    ks = (ks,) if isinstance(ks, int) else tuple(ks)
    labels = np.asarray(gallery_labels, dtype=np.int64)
    if labels.shape != (len(gallery),):
        raise SkelzooError(f"{len(gallery)} gallery features but {labels.shape[0] if labels.ndim else 0} labels.")
    nb = cosine_topk(query, gallery, k=max(ks), **search_kwargs)
    neighbour_labels = labels[nb.indices]
    return {k: knn_vote(neighbour_labels[:, :k]) for k in ks}
