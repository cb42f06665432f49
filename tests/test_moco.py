"""MoCo / inter-skeleton contrast: every part of the loss against hand computations, the EMA, the
queue (wrap-around, gathering under DDP with two real gloo processes)."""

from __future__ import annotations

import math
import os

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from skelzoo.errors import SkelzooError
from skelzoo.train.moco import MoCo, contrastive_logits, isc_loss, pair_terms


class TinyEncoder(nn.Module):
    """Stand-in encoder for the algebra tests: mean over (T, V, M) then a linear map."""

    def __init__(self, feature_dim: int = 4):
        super().__init__()
        self.feature_dim = feature_dim
        self.fc = nn.Linear(3, feature_dim)

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3, 4)))


def _ce_row(logits_row: list[float]) -> float:
    """-log softmax(row)[0], by hand."""
    return math.log(sum(math.exp(v) for v in logits_row)) - logits_row[0]


def _dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def _hand_term(q, k, queue, tau):
    """Mean over rows of CE([q_i.k_i, q_i.queue_j] / tau, label 0), in plain Python."""
    rows = [[_dot(qi, ki) / tau] + [_dot(qi, n) / tau for n in queue] for qi, ki in zip(q, k)]
    return sum(_ce_row(r) for r in rows) / len(rows), rows


def test_contrastive_logits_and_loss_hand_example():
    q = [[1.0, 0.0], [0.0, 1.0]]
    k = [[0.6, 0.8], [1.0, 0.0]]
    queue = [[1.0, 0.0], [0.0, -1.0], [0.6, -0.8]]
    tau = 0.5
    logits, labels = contrastive_logits(torch.tensor(q), torch.tensor(k), torch.tensor(queue), tau)
    # Row 0: q0.k0 = 0.6, q0.queue = (1, 0, 0.6); row 1: q1.k1 = 0, q1.queue = (0, -1, -0.8); all / 0.5.
    assert torch.allclose(logits, torch.tensor([[1.2, 2.0, 0.0, 1.2], [0.0, 0.0, -2.0, -1.6]]), atol=1e-6)
    assert labels.tolist() == [0, 0]
    expected = (
        (math.log(math.exp(1.2) + math.exp(2.0) + math.exp(0.0) + math.exp(1.2)) - 1.2)
        + (math.log(math.exp(0.0) + math.exp(0.0) + math.exp(-2.0) + math.exp(-1.6)) - 0.0)
    ) / 2
    loss = nn.functional.cross_entropy(logits, labels)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    # The shared hand helper agrees with the spelled-out numbers above.
    assert _hand_term(q, k, queue, tau)[0] == pytest.approx(expected, abs=1e-12)


def _unit_rows(gen, n, d=3):
    return nn.functional.normalize(torch.randn(n, d, generator=gen), dim=1)


def test_isc_loss_pair_is_the_two_cross_terms():
    g = torch.Generator().manual_seed(0)
    qa, qb, ka, kb = (_unit_rows(g, 2) for _ in range(4))
    qua, qub = _unit_rows(g, 3), _unit_rows(g, 3)
    tau = 0.07
    total, terms = isc_loss({"seq": qa, "stg": qb}, {"seq": ka, "stg": kb}, {"seq": qua, "stg": qub}, tau)
    assert set(terms) == {"seq->stg", "stg->seq"}
    # seq query against the stg key and the stg queue, and vice versa (paper eq. 6-8).
    t1 = _hand_term(qa.tolist(), kb.tolist(), qub.tolist(), tau)[0]
    t2 = _hand_term(qb.tolist(), ka.tolist(), qua.tolist(), tau)[0]
    assert terms["seq->stg"].item() == pytest.approx(t1, rel=1e-5)
    assert terms["stg->seq"].item() == pytest.approx(t2, rel=1e-5)
    assert total.item() == pytest.approx(t1 + t2, rel=1e-5)
    # Swapping which queue is used changes the value: the pairing is really cross-representation.
    wrong = _hand_term(qa.tolist(), kb.tolist(), qua.tolist(), tau)[0]
    assert abs(wrong - t1) > 1e-3


def test_isc_loss_three_representations_and_intra():
    g = torch.Generator().manual_seed(1)
    reps = ["seq", "stg", "img"]
    q = {r: _unit_rows(g, 2) for r in reps}
    k = {r: _unit_rows(g, 2) for r in reps}
    Q = {r: _unit_rows(g, 4) for r in reps}
    total, terms = isc_loss(q, k, Q, 0.2)
    assert pair_terms(reps) == [("seq", "stg"), ("seq", "img"), ("stg", "seq"), ("stg", "img"), ("img", "seq"), ("img", "stg")]
    hand = {f"{a}->{b}": _hand_term(q[a].tolist(), k[b].tolist(), Q[b].tolist(), 0.2)[0] for a, b in pair_terms(reps)}
    assert set(terms) == set(hand)
    for name in hand:
        assert terms[name].item() == pytest.approx(hand[name], rel=1e-5)
    assert total.item() == pytest.approx(sum(hand.values()), rel=1e-5)
    # One representation: plain MoCo, the query against its own key and queue.
    total1, terms1 = isc_loss({"seq": q["seq"]}, {"seq": k["seq"]}, {"seq": Q["seq"]}, 0.2)
    assert list(terms1) == ["seq->seq"]
    assert total1.item() == pytest.approx(_hand_term(q["seq"].tolist(), k["seq"].tolist(), Q["seq"].tolist(), 0.2)[0], rel=1e-5)


def _moco(reps=("seq", "stg"), **kw):
    torch.manual_seed(0)
    return MoCo({r: TinyEncoder() for r in reps}, head_dim=kw.pop("head_dim", 2), **kw)


def test_momentum_update_is_exact_ema_of_parameters():
    m = _moco(queue_size=4, momentum=0.5)
    for p in m.query.parameters():
        p.data.fill_(1.0)
    for p in m.key.parameters():
        p.data.zero_()
        assert not p.requires_grad
    m.momentum_update()  # 0.5 * 0 + 0.5 * 1
    assert all(torch.equal(p, torch.full_like(p, 0.5)) for p in m.key.parameters())
    for p in m.query.parameters():
        p.data.fill_(3.0)
    m.momentum_update()  # 0.5 * 0.5 + 0.5 * 3
    assert all(torch.equal(p, torch.full_like(p, 1.75)) for p in m.key.parameters())
    assert all(torch.equal(p, torch.full_like(p, 3.0)) for p in m.query.parameters())  # queries untouched


def test_key_branches_start_as_copies_and_get_no_gradient():
    m = _moco(queue_size=8, momentum=0.999)
    for qp, kp in zip(m.query.parameters(), m.key.parameters()):
        assert torch.equal(qp, kp) and qp.data_ptr() != kp.data_ptr()
    x = torch.randn(3, 3, 8, 25, 2)
    loss, _, keys = m(x, x.flip(2))
    loss.backward()
    assert all(p.grad is None for p in m.key.parameters())
    assert all(p.grad is not None for p in m.query.parameters())
    assert all(not k.requires_grad for k in keys.values())


def test_enqueue_wraps_around_and_tracks_the_pointer():
    m = _moco(reps=("seq",), queue_size=5)
    rows = lambda vals: torch.tensor([[v, -v] for v in vals], dtype=torch.float32)  # noqa: E731
    m.enqueue("seq", rows([1, 2, 3]))
    assert m.queue_ptr("seq") == 3
    assert torch.equal(m.queue("seq")[:3], rows([1, 2, 3]))
    m.enqueue("seq", rows([4, 5, 6]))  # slots 3, 4, then wraps to 0
    assert m.queue_ptr("seq") == 1
    assert torch.equal(m.queue("seq"), rows([6, 2, 3, 4, 5]))
    m.enqueue("seq", rows([7, 8, 9, 10, 11]))  # exactly one full turn: back to the same pointer
    assert m.queue_ptr("seq") == 1
    assert torch.equal(m.queue("seq"), rows([11, 7, 8, 9, 10]))
    with pytest.raises(SkelzooError, match="does not fit a queue of 5"):
        m.enqueue("seq", rows(range(6)))


def test_keys_of_each_representation_go_into_its_own_queue():
    m = _moco(reps=("seq", "stg"), queue_size=6)
    x = torch.randn(2, 3, 8, 25, 2)
    before = {r: m.queue(r).clone() for r in m.reps}
    loss, terms, keys = m(x, x + 0.1)
    assert torch.isfinite(loss) and set(terms) == {"seq->stg", "stg->seq"}
    # The loss used the queues as they were; enqueueing happens after, and only into the own queue.
    assert all(torch.equal(m.queue(r), before[r]) for r in m.reps)
    m.dequeue_and_enqueue(keys)
    for r in m.reps:
        assert torch.equal(m.queue(r)[:2], keys[r])
        assert torch.equal(m.queue(r)[2:], before[r][2:])
        assert m.queue_ptr(r) == 2
    assert not torch.equal(keys["seq"], keys["stg"])


def test_queue_is_normalised_and_saved_with_the_state_dict():
    m = _moco(queue_size=7, head_dim=3)
    for r in m.reps:
        assert m.queue(r).shape == (7, 3)
        assert torch.allclose(m.queue(r).norm(dim=1), torch.ones(7), atol=1e-6)
    sd = m.state_dict()
    assert {"queue_seq", "queue_stg", "queue_ptr_seq", "queue_ptr_stg"} <= set(sd)


@pytest.mark.parametrize("bad", [dict(queue_size=0), dict(momentum=1.5), dict(temperature=0.0)])
def test_bad_moco_settings_are_user_errors(bad):
    with pytest.raises(SkelzooError):
        _moco(**bad)


# ------------------------------------------------------------------------------- DDP, 2 processes


def _ddp_worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        m = _moco(reps=("seq", "stg"), queue_size=8)
        # Rank-specific keys: rank r contributes rows filled with 10*r + i.
        keys = {r: torch.stack([torch.full((2,), 10.0 * rank + i + (100 if r == "stg" else 0)) for i in range(3)])
                for r in m.reps}
        m.dequeue_and_enqueue(keys)
        torch.save({r: m.queue(r).clone() for r in m.reps} | {"ptr": m.queue_ptr("seq")},
                   os.path.join(out_dir, f"queue{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_ddp_two_processes_enqueue_the_gathered_keys(tmp_path):
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    q0 = torch.load(tmp_path / "queue0.pt", weights_only=True)
    q1 = torch.load(tmp_path / "queue1.pt", weights_only=True)
    for r, offset in (("seq", 0), ("stg", 100)):
        expected = torch.tensor([[offset + v] * 2 for v in (0.0, 1.0, 2.0, 10.0, 11.0, 12.0)])
        assert torch.equal(q0[r][:6], expected)  # rank 0's keys, then rank 1's, in rank order
        assert torch.equal(q0[r], q1[r])  # and every rank holds the same queue
    assert q0["ptr"] == q1["ptr"] == 6
