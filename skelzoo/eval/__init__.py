"""Evaluation: kNN retrieval, the linear probe, semi-supervised fine-tuning, transfer, results files.

- :func:`cosine_topk` / :func:`knn_classify` — exact chunked cosine k-NN (lower gallery index wins ties);
- :func:`train_linear_probe` — on feature arrays or on a frozen encoder with per-epoch random crops;
- :func:`semi_supervised`, :func:`transfer`, :func:`balanced_subset` — fine-tuning protocols;
- :func:`extract_features` — frozen-encoder features, cached under ``$SKELZOO_CACHE/features``;
- :func:`write_results` / :func:`read_results` — the results file the zoo takes metrics from;
- :func:`skelzoo.eval.protocols.evaluate` — what ``skelzoo eval`` runs.
"""

from __future__ import annotations

from skelzoo.eval.features import extract_features
from skelzoo.eval.knn import Neighbours, cosine_topk, knn_classify, knn_vote
from skelzoo.eval.linear import ProbeConfig, ProbeResult, train_linear_probe
from skelzoo.eval.results import make_results, read_results, write_results
from skelzoo.eval.semi import FinetuneConfig, balanced_subset, finetune, semi_supervised
from skelzoo.eval.transfer import transfer

__all__ = [
    "FinetuneConfig", "Neighbours", "ProbeConfig", "ProbeResult", "balanced_subset", "cosine_topk",
    "extract_features", "finetune", "knn_classify", "knn_vote", "make_results", "read_results",
    "semi_supervised", "train_linear_probe", "transfer", "write_results",
]
