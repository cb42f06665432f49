"""Exact chunked cosine k-NN: equals brute force (ties included), chunking-invariant, voting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelzoo.errors import SkelzooError
from skelzoo.eval.knn import cosine_topk, knn_classify, knn_vote


def brute_force(query: np.ndarray, gallery: np.ndarray, k: int):
    """float64 reference: full similarity matrix, order by (score desc, gallery index asc)."""
    q = query / np.linalg.norm(query, axis=1, keepdims=True)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    sims = q.astype(np.float64) @ g.astype(np.float64).T
    cols = np.arange(len(gallery))
    idx = np.stack([np.lexsort((cols, -row))[:k] for row in sims])
    return np.take_along_axis(sims, idx, 1), idx


def tied_features(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors with four entries of +-0.5: normalisation and dot products are exact in float32,
    and with few distinct vectors most similarities tie exactly."""
    out = np.zeros((n, d), np.float32)
    for i in range(n):
        cols = rng.choice(d, 4, replace=False)
        out[i, cols] = rng.choice([-0.5, 0.5], 4)
    return out


@pytest.mark.parametrize("k", [1, 5, 17])
def test_random_features_match_brute_force(k):
    rng = np.random.default_rng(0)
    q = rng.normal(size=(150, 24)).astype(np.float32)
    g = rng.normal(size=(300, 24)).astype(np.float32) * rng.uniform(0.1, 10, size=(300, 1)).astype(np.float32)
    ref_s, ref_i = brute_force(q, g, k)
    nb = cosine_topk(q, g, k=k, query_chunk=64, gallery_chunk=70, device="cpu")
    np.testing.assert_array_equal(nb.indices, ref_i)
    np.testing.assert_allclose(nb.scores, ref_s, atol=1e-5)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_exact_ties_lower_gallery_index_wins(k):
    rng = np.random.default_rng(1)
    g = tied_features(200, 6, rng)  # 6 dims, 4 non-zeros: few distinct vectors, many duplicates
    q = tied_features(60, 6, rng)
    ref_s, ref_i = brute_force(q, g, k)
    full_s, _ = brute_force(q, g, len(g))
    assert (full_s[:, 0] == full_s[:, 1]).mean() > 0.5  # the test really has ties at the top
    for qc, gc in [(7, 13), (60, 200), (1, 1), (16, 64)]:
        nb = cosine_topk(q, g, k=k, query_chunk=qc, gallery_chunk=gc, device="cpu")
        np.testing.assert_array_equal(nb.indices, ref_i, err_msg=f"chunks {qc}x{gc}")
        np.testing.assert_array_equal(nb.scores, ref_s.astype(np.float32))


def test_chunked_equals_one_big_product():
    rng = np.random.default_rng(2)
    q = rng.normal(size=(97, 32)).astype(np.float32)
    g = rng.normal(size=(501, 32)).astype(np.float32)
    whole = cosine_topk(q, g, k=8, query_chunk=10_000, gallery_chunk=10_000, device="cpu")
    for qc, gc in [(1, 3), (13, 50), (32, 128), (97, 500), (5, 501)]:
        part = cosine_topk(q, g, k=8, query_chunk=qc, gallery_chunk=gc, device="cpu")
        np.testing.assert_array_equal(part.indices, whole.indices)
        np.testing.assert_allclose(part.scores, whole.scores, atol=1e-6)


def test_gallery_chunk_smaller_than_k():
    rng = np.random.default_rng(3)
    q, g = rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(20, 4)).astype(np.float32)
    _, ref_i = brute_force(q, g, 9)
    np.testing.assert_array_equal(cosine_topk(q, g, k=9, gallery_chunk=4, device="cpu").indices, ref_i)


def test_accepts_torch_tensors_and_identical_vectors_score_one():
    g = torch.randn(10, 8)
    nb = cosine_topk(g[3:4] * 5, g, k=1, device="cpu")
    assert nb.indices[0, 0] == 3 and nb.scores[0, 0] == pytest.approx(1.0, abs=1e-6)


def test_vote_majority_and_tie_goes_to_nearest():
    labels = np.array([
        [2, 1, 1, 0, 0],  # 1 and 0 have two votes each: 1 is nearer
        [2, 0, 0, 1, 1],  # 0 nearer than 1
        [3, 3, 1, 1, 1],  # 1 has three votes
        [4, 5, 6, 7, 8],  # all tied: the nearest
    ])
    np.testing.assert_array_equal(knn_vote(labels), [1, 0, 1, 4])


def test_knn_classify_several_k():
    gallery = np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0, 1], [0.1, 0.9]], np.float32)
    labels = np.array([0, 1, 1, 2, 2])
    preds = knn_classify(np.array([[1, 0.01]], np.float32), gallery, labels, ks=(1, 3), device="cpu")
    assert preds[1].tolist() == [0] and preds[3].tolist() == [1]


def test_errors():
    g = np.ones((4, 8), np.float32)
    with pytest.raises(SkelzooError, match="dimensions differ"):
        cosine_topk(np.ones((2, 16), np.float32), g)
    with pytest.raises(SkelzooError, match="empty"):
        cosine_topk(np.ones((0, 8), np.float32), g)
    with pytest.raises(SkelzooError, match="only 4"):
        cosine_topk(g, g, k=5)
    with pytest.raises(SkelzooError, match="NaN"):
        cosine_topk(np.full((1, 8), np.nan, np.float32), g)
    with pytest.raises(SkelzooError, match="labels"):
        knn_classify(g, g, [0, 1])
