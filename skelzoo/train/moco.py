"""MoCo with inter-skeleton contrast (ISC, paper section 3.3), and plain MoCo v2 for one representation.

For every representation R of the run (one, two or three of ``seq`` / ``stg`` / ``img``) the model
holds a query encoder + projection head, a momentum (EMA) copy of both as the key network, and a
queue of past normalised key embeddings. With two or more representations each query is contrasted
against every *other* representation's key and queue (eq. 6-8):

    L = sum over ordered pairs (A, B), A != B, of CE([q_A . k_B, q_A . Queue_B] / tau, label 0)

so a pair gives the paper's two terms and all three give six. With one representation the only
"other" is itself: ``CE([q_A . k_A, q_A . Queue_A] / tau)``, i.e. MoCo v2. Keys of representation A
are always enqueued into Queue_A, after the loss is computed (the current keys are the positives,
never their own negatives).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from skelzoo.errors import SkelzooError
from skelzoo.models import ProjectionHead
from skelzoo.train import distributed as dist_utils


def pair_terms(reps: Sequence[str]) -> list[tuple[str, str]]:
    """The (query representation, key representation) terms of the loss, in a fixed order."""
    reps = list(reps)
    if len(reps) == 1:
        return [(reps[0], reps[0])]
    return [(a, b) for a in reps for b in reps if a != b]


def contrastive_logits(
    q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """MoCo logits (N, 1 + K): column 0 is q_i . k_i (the positive), then q_i . queue_j; / tau.

    Labels are all zero (the positive sits in column 0). Computed in float32 whatever the autocast
    dtype, because tau = 0.07 scales bf16 rounding errors into the loss.
    """
    q, k, queue = q.float(), k.float(), queue.float()
    pos = (q * k).sum(dim=1, keepdim=True)
    neg = q @ queue.T
    logits = torch.cat([pos, neg], dim=1) / temperature
    labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    return logits, labels


def isc_loss(
    queries: Mapping[str, torch.Tensor],
    keys: Mapping[str, torch.Tensor],
    queues: Mapping[str, torch.Tensor],
    temperature: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss and its terms, named ``"A->B"`` (query A against keys/queue of B)."""
    terms = {}
    for a, b in pair_terms(list(queries)):
        logits, labels = contrastive_logits(queries[a], keys[b], queues[b], temperature)
        terms[f"{a}->{b}"] = F.cross_entropy(logits, labels)
    return sum(terms.values()), terms


class Branches(nn.Module):
    """Encoder + projection head per representation; forward maps one view to each embedding."""

    def __init__(self, encoders: Mapping[str, nn.Module], head_dim: int = 128) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict(dict(encoders))
        self.heads = nn.ModuleDict({r: ProjectionHead(e.feature_dim, head_dim) for r, e in encoders.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {r: self.heads[r](self.encoders[r](x)) for r in self.encoders}


class MoCo(nn.Module):
    """Query branches (trained), key branches (EMA, no grad) and one queue per representation.

    ``encoders`` maps a representation name (the key used in the loss and in checkpoints) to its
    query encoder. Queues are buffers ``queue_<rep>`` (K, head_dim) and ``queue_ptr_<rep>``, so
    they travel with ``state_dict()`` and resume exactly.
    """

    def __init__(
        self,
        encoders: Mapping[str, nn.Module],
        queue_size: int = 16384,
        momentum: float = 0.999,
        temperature: float = 0.07,
        head_dim: int = 128,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not encoders:
            raise SkelzooError("MoCo needs at least one encoder.")
        if queue_size < 1:
            raise SkelzooError(f"queue size must be at least 1; got {queue_size}.")
        if not 0.0 <= momentum <= 1.0:
            raise SkelzooError(f"key-encoder momentum must lie in [0, 1]; got {momentum}.")
        if not temperature > 0:
            raise SkelzooError(f"temperature must be > 0; got {temperature}.")
        self.reps = list(encoders)
        self.queue_size = int(queue_size)
        self.momentum = float(momentum)
        self.temperature = float(temperature)
        self.head_dim = int(head_dim)
        self.query = Branches(encoders, head_dim)
        self.key = copy.deepcopy(self.query)
        for p in self.key.parameters():
            p.requires_grad_(False)
        for r in self.reps:
            # Random unit vectors, as MoCo: the first K/B steps contrast against noise.
            init = torch.randn(self.queue_size, self.head_dim, generator=generator)
            self.register_buffer(f"queue_{r}", F.normalize(init, dim=1))
            self.register_buffer(f"queue_ptr_{r}", torch.zeros((), dtype=torch.long))

    def queue(self, rep: str) -> torch.Tensor:
        return getattr(self, f"queue_{rep}")

    def queues(self) -> dict[str, torch.Tensor]:
        return {r: self.queue(r) for r in self.reps}

    def queue_ptr(self, rep: str) -> int:
        return int(getattr(self, f"queue_ptr_{rep}"))

    @torch.no_grad()
    def momentum_update(self) -> None:
        """key <- m * key + (1 - m) * query, parameters only (as MoCo: the key branches keep the
        BatchNorm statistics of their own forward passes)."""
        qp = [p.detach() for p in self.query.parameters()]
        kp = list(self.key.parameters())
        torch._foreach_mul_(kp, self.momentum)
        torch._foreach_add_(kp, qp, alpha=1.0 - self.momentum)

    @torch.no_grad()
    def enqueue(self, rep: str, keys: torch.Tensor) -> None:
        """Write `keys` (B, D) at the pointer, wrapping around the end of the queue."""
        queue = self.queue(rep)
        b = keys.shape[0]
        if b > self.queue_size:
            raise SkelzooError(
                f"a global batch of {b} keys does not fit a queue of {self.queue_size}; "
                "use a queue at least as large as the batch (moco.queue_size)."
            )
        ptr = self.queue_ptr(rep)
        idx = (torch.arange(b, device=queue.device) + ptr) % self.queue_size
        queue[idx] = keys.detach().to(queue.dtype)
        getattr(self, f"queue_ptr_{rep}").fill_((ptr + b) % self.queue_size)

    @torch.no_grad()
    def keys(self, x_k: torch.Tensor) -> dict[str, torch.Tensor]:
        """Key embeddings of the key view; the key branches always run in train mode like MoCo."""
        return self.key(x_k)

    def forward(
        self, x_q: torch.Tensor, x_k: torch.Tensor, query_fn=None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """One step's loss on a (query view, key view) pair; returns (loss, terms, keys).

        As MoCo: queries, then the momentum update of the key branches, then the keys. The caller
        enqueues the returned keys after the backward pass (:meth:`dequeue_and_enqueue`).
        ``query_fn`` replaces ``self.query`` (a DDP- or torch.compile-wrapped view of it).
        """
        queries = (query_fn or self.query)(x_q)
        self.momentum_update()
        keys = self.keys(x_k)
        loss, terms = isc_loss(queries, keys, self.queues(), self.temperature)
        return loss, terms, keys

    @torch.no_grad()
    def dequeue_and_enqueue(self, keys: Mapping[str, torch.Tensor]) -> None:
        """Enqueue every rank's keys (all_gather under DDP, identity in one process)."""
        for r in self.reps:
            self.enqueue(r, dist_utils.gather_cat(keys[r].float()))
