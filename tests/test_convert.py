"""`skelzoo convert isc-checkpoint`: the authors' MoCo checkpoints, rebuilt here by hand from the
reference model definitions (key names and shapes), converted, and checked tensor by tensor."""

from __future__ import annotations

import pytest
import torch

import skelzoo
import skelzoo.cli
from skelzoo.checkpoint import load_checkpoint
from skelzoo.errors import SkelzooError
from skelzoo.representations import to_seq
from skelzoo.zoo.convert import convert_isc_checkpoint

G = torch.Generator().manual_seed(0)


def rnd(*shape):
    return torch.randn(*shape, generator=G) * 0.1


def bn(prefix: str, c: int) -> dict:
    return {f"{prefix}.weight": rnd(c) + 1, f"{prefix}.bias": rnd(c), f"{prefix}.running_mean": rnd(c),
            f"{prefix}.running_var": rnd(c).abs() + 0.5, f"{prefix}.num_batches_tracked": torch.tensor(7)}


def ref_seq(hidden: int = 16, layers: int = 3) -> dict:
    """moco/GRU.py BIGRU: encoder.gru (input 150, bidirectional) + MLP head fc.0 / fc.2."""
    sd = {}
    for k in range(layers):
        for sfx in ("", "_reverse"):
            sd[f"encoder.gru.weight_ih_l{k}{sfx}"] = rnd(3 * hidden, 150 if k == 0 else 2 * hidden)
            sd[f"encoder.gru.weight_hh_l{k}{sfx}"] = rnd(3 * hidden, hidden)
            sd[f"encoder.gru.bias_ih_l{k}{sfx}"] = rnd(3 * hidden)
            sd[f"encoder.gru.bias_hh_l{k}{sfx}"] = rnd(3 * hidden)
    sd.update({"fc.0.weight": rnd(2 * hidden, 2 * hidden), "fc.0.bias": rnd(2 * hidden),
               "fc.2.weight": rnd(128, 2 * hidden), "fc.2.bias": rnd(128)})
    return sd


def ref_stg(c: int = 16) -> dict:
    """moco/AGCN.py Model: data_bn, l1..l10 (TCN_GCN_unit), fc; 3 subsets over 25 joints."""
    units = [(3, c, 1, False), (c, c, 1, True), (c, c, 1, True), (c, c, 1, True), (c, 2 * c, 2, True),
             (2 * c, 2 * c, 1, True), (2 * c, 2 * c, 1, True), (2 * c, 4 * c, 2, True),
             (4 * c, 4 * c, 1, True), (4 * c, 4 * c, 1, True)]
    sd = bn("data_bn", 150)
    for i, (cin, cout, stride, residual) in enumerate(units, start=1):
        p = f"l{i}"
        sd[f"{p}.gcn1.PA"] = rnd(3, 25, 25)
        for s in range(3):
            for conv, co in (("conv_a", cout // 4), ("conv_b", cout // 4), ("conv_d", cout)):
                sd[f"{p}.gcn1.{conv}.{s}.weight"] = rnd(co, cin, 1, 1)
                sd[f"{p}.gcn1.{conv}.{s}.bias"] = rnd(co)
        if cin != cout:
            sd.update({f"{p}.gcn1.down.0.weight": rnd(cout, cin, 1, 1), f"{p}.gcn1.down.0.bias": rnd(cout)})
            sd.update(bn(f"{p}.gcn1.down.1", cout))
        sd.update(bn(f"{p}.gcn1.bn", cout))
        sd.update({f"{p}.tcn1.conv.weight": rnd(cout, cout, 9, 1), f"{p}.tcn1.conv.bias": rnd(cout)})
        sd.update(bn(f"{p}.tcn1.bn", cout))
        if residual and (cin != cout or stride != 1):
            sd.update({f"{p}.residual.conv.weight": rnd(cout, cin, 1, 1), f"{p}.residual.conv.bias": rnd(cout)})
            sd.update(bn(f"{p}.residual.bn", cout))
    sd.update({"fc.0.weight": rnd(4 * c, 4 * c), "fc.0.bias": rnd(4 * c), "fc.2.weight": rnd(128, 4 * c),
               "fc.2.bias": rnd(128)})
    return sd


def ref_img(c: int = 8, window: int = 64) -> dict:
    """moco/HCN.py HCN: conv1..conv4 (+m motion), conv5, conv6, fc; 25 joints."""
    sd = {}
    for m in ("", "m"):
        sd.update({f"conv1{m}.0.weight": rnd(c, 3, 1, 1), f"conv1{m}.0.bias": rnd(c),
                   f"conv2{m}.weight": rnd(window, c, 3, 1), f"conv2{m}.bias": rnd(window),
                   f"conv3{m}.0.weight": rnd(c // 2, 25, 3, 3), f"conv3{m}.0.bias": rnd(c // 2),
                   f"conv4{m}.0.weight": rnd(c, c // 2, 3, 3), f"conv4{m}.0.bias": rnd(c)})
    sd.update({"conv5.0.weight": rnd(2 * c, 2 * c, 3, 3), "conv5.0.bias": rnd(2 * c),
               "conv6.0.weight": rnd(4 * c, 2 * c, 3, 3), "conv6.0.bias": rnd(4 * c),
               "fc.weight": rnd(128, 4 * c * (window // 16) ** 2), "fc.bias": rnd(128)})
    return sd


REF = {"seq": ref_seq, "stg": ref_stg, "img": ref_img}


def moco_checkpoint(path, first: str, second: str | None, module_prefix: str = "module.", extra=None):
    """What main_moco_inter_skeleton.py saves: epoch, arch, state_dict (DataParallel), optimizer."""
    sd = {}
    q, r = REF[first](), REF[second]() if second else None
    for name, part in (("encoder_q", q), ("encoder_k", q), ("encoder_r", r), ("encoder_l", r)):
        if part is not None:
            sd.update({f"{module_prefix}{name}.{k}": v.clone() for k, v in part.items()})
    sd.update({f"{module_prefix}Queue_S1": rnd(128, 64), f"{module_prefix}queue_ptr_S1": torch.zeros(1, dtype=torch.long),
               f"{module_prefix}Queue_S2": rnd(128, 64), f"{module_prefix}queue_ptr_S2": torch.zeros(1, dtype=torch.long)})
    sd.update(extra or {})
    torch.save({"epoch": 450, "arch": "moco", "state_dict": sd,
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "momentum": 0.9, "params": [0, 1]}]}}, path)
    return q, r


def reference_gru_feature(gru: torch.nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """The reference's recurrence: the bidirectional nn.GRU fed one frame at a time, hidden carried,
    feature = the top layer's output at the last frame."""
    s = to_seq(x)
    hidden, out = None, None
    for t in range(s.shape[1]):
        out, hidden = gru(s[:, t : t + 1], hidden)
    return out[:, -1]


@pytest.mark.parametrize("first, second", [("seq", "stg"), ("seq", "img"), ("stg", "img")])
def test_convert_pairs_tensor_by_tensor(tmp_path, first, second):
    src = tmp_path / "checkpoint_0450.pth.tar"
    q, r = moco_checkpoint(src, first, second)
    summary = convert_isc_checkpoint(src, tmp_path / "out.pt", pair=f"{first}-{second}")
    assert summary["pair"] == f"{first}-{second}" and summary["epoch"] == 450
    ckpt = load_checkpoint(tmp_path / "out.pt")
    assert list(ckpt["encoders"]) == [first, second] and ckpt["default_encoder"] == first
    for arch, ref in ((first, q), (second, r)):
        got = ckpt["encoders"][arch]["state_dict"]
        expect = {(("gru." + k[len("encoder.gru."):]) if k.startswith("encoder.gru.") else k): v
                  for k, v in ref.items() if not k.startswith("fc.")}
        assert set(got) == set(expect), arch
        for k in expect:
            assert torch.equal(got[k], expect[k]), k
        model = skelzoo.load(str(tmp_path / "out.pt"), encoder=arch)  # strict load + forward
        assert model.arch == arch
        x = torch.randn(2, 3, 64 if arch == "img" else 16, 25, 2, generator=G)  # only img needs 64 frames
        with torch.no_grad():
            assert torch.isfinite(model(x)).all()


def test_converted_gru_reproduces_the_reference_recurrence(tmp_path):
    src = tmp_path / "c.pth.tar"
    q, _ = moco_checkpoint(src, "seq", "stg")
    convert_isc_checkpoint(src, tmp_path / "out.pt")
    model = skelzoo.load(str(tmp_path / "out.pt"))
    assert model.config["reference_compat"] is True and model.config["num_layers"] == 3
    gru = torch.nn.GRU(150, 16, num_layers=3, bidirectional=True, batch_first=True)
    gru.load_state_dict({k[len("encoder.gru."):]: v for k, v in q.items() if k.startswith("encoder.gru.")})
    x = torch.randn(2, 3, 20, 25, 2, generator=G)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference_gru_feature(gru, x), rtol=1e-5, atol=1e-6)


def test_without_dataparallel_prefix_and_intra_checkpoint(tmp_path):
    moco_checkpoint(tmp_path / "a.pth.tar", "seq", "stg", module_prefix="")
    assert convert_isc_checkpoint(tmp_path / "a.pth.tar", tmp_path / "a.pt")["pair"] == "seq-stg"
    moco_checkpoint(tmp_path / "b.pth.tar", "img", None)  # intra-skeleton: one encoder
    assert convert_isc_checkpoint(tmp_path / "b.pth.tar", tmp_path / "b.pt")["pair"] == "img"


def test_unknown_keys_and_wrong_pair_are_refused(tmp_path):
    src = tmp_path / "c.pth.tar"
    moco_checkpoint(src, "seq", "stg", extra={"module.encoder_r.l3.gcn1.extra_gate": torch.zeros(3)})
    with pytest.raises(SkelzooError, match="l3.gcn1.extra_gate"):
        convert_isc_checkpoint(src, tmp_path / "o.pt")
    moco_checkpoint(src, "seq", "stg")
    with pytest.raises(SkelzooError, match="holds seq-stg"):
        convert_isc_checkpoint(src, tmp_path / "o.pt", pair="seq-img")
    with pytest.raises(SkelzooError, match="unknown pair"):
        convert_isc_checkpoint(src, tmp_path / "o.pt", pair="seq-gcn")
    assert not (tmp_path / "o.pt").exists()


class Payload:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_arbitrary_pickles_are_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth.tar"
    torch.save({"state_dict": {}, "x": Payload()}, path)
    with pytest.raises(SkelzooError, match="weights_only"):
        convert_isc_checkpoint(path, tmp_path / "o.pt")
    assert "pickled code ran" not in capsys.readouterr().out


def test_cli_convert(tmp_path):
    src = tmp_path / "checkpoint_0450.pth.tar"
    moco_checkpoint(src, "seq", "stg")
    out = tmp_path / "isc.pt"
    try:
        skelzoo.cli.main(["convert", "isc-checkpoint", str(src), "-o", str(out), "--pair", "seq-stg"])
    except SystemExit as exc:
        assert not exc.code
    assert skelzoo.load(str(out), encoder="stg").arch == "stg"
    with pytest.raises(SystemExit) as exc:
        skelzoo.cli.main(["convert", "isc-checkpoint", str(tmp_path / "missing.pth.tar"), "-o", str(out)])
    assert exc.value.code == 2
