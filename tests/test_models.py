"""Encoder registry and encoders, parametrised over every registered encoder (timm style)."""

from __future__ import annotations

import json

import pytest
import torch

from skelzoo.errors import SkelzooError
from skelzoo.models import ProjectionHead, create_encoder, list_encoders, register_encoder
from skelzoo.models.graph import spatial_adjacency
from skelzoo.representations import to_seq

SMALL = 1 / 16
# Paper sizes (docs DESIGN table): parameters without the projection head, and feature size.
PAPER = {"seq": (45.0e6, 2048), "stg": (3.45e6, 256), "img": (0.52e6, 4096)}
ENCODERS = list_encoders()


def small(arch: str, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_encoder(arch, width=SMALL, **kw)


def clip(model: torch.nn.Module, n: int = 2, frames: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    t = model.config.get("frames", frames)
    return torch.randn(n, model.in_channels, t, model.num_joints, model.num_bodies, generator=g)


def test_registry_lists_the_three_paper_encoders():
    assert {"img", "seq", "stg"} <= set(ENCODERS) and ENCODERS == sorted(ENCODERS)
    assert {"seq", "stg"} <= set(list_encoders("s*")) and "img" not in list_encoders("s*")
    assert list_encoders("nothing*") == []


@pytest.mark.parametrize("arch", ENCODERS)
def test_forward_shape_and_attributes(arch):
    m = small(arch).eval()
    f = m(clip(m))
    assert f.shape == (2, m.feature_dim)
    assert torch.isfinite(f).all()
    assert m.arch == arch and m.representation in ("seq", "stg", "img")
    json.dumps(m.config)  # plain types only: it goes into checkpoints and config.json


@pytest.mark.parametrize("arch", ENCODERS)
def test_backward_reaches_every_parameter(arch):
    m = small(arch).train()
    m(clip(m)).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} got an all-zero gradient"


@pytest.mark.parametrize("arch", ENCODERS)
def test_rebuild_from_config(arch):
    m = small(arch)
    again = create_encoder(m.arch, **m.config)
    assert type(again) is type(m) and again.config == m.config
    own, other = m.state_dict(), again.state_dict()
    assert list(own) == list(other)
    assert all(own[k].shape == other[k].shape for k in own)
    again.load_state_dict(own, strict=True)
    m.eval(), again.eval()
    x = clip(m)
    torch.testing.assert_close(again(x), m(x))


@pytest.mark.parametrize("arch", sorted(PAPER))
def test_paper_width_sizes(arch):
    params, feature = PAPER[arch]
    with torch.device("meta"):  # no memory, no init cost: counting only
        m = create_encoder(arch)
    count = sum(p.numel() for p in m.parameters())
    assert abs(count - params) / params < 0.02, count
    assert m.feature_dim == feature


@pytest.mark.parametrize("arch", ENCODERS)
def test_width_scales_the_network(arch):
    a, b = create_encoder(arch, width=1 / 32), create_encoder(arch, width=1 / 16)
    assert a.feature_dim < b.feature_dim
    assert sum(p.numel() for p in a.parameters()) < sum(p.numel() for p in b.parameters())


@pytest.mark.parametrize("arch", ENCODERS)
def test_eval_is_deterministic_and_batch_one_works(arch):
    m = small(arch).eval()
    x = clip(m, n=3)
    with torch.no_grad():
        a, b = m(x), m(x)
        one = m(x[:1])
    assert torch.equal(a, b)
    torch.testing.assert_close(one, a[:1], rtol=1e-4, atol=1e-5)  # no batch coupling in eval
    m.train()
    assert m(x[:1]).shape == (1, m.feature_dim)  # batch norm in training mode with one clip


@pytest.mark.parametrize("arch", ENCODERS)
def test_wrong_input_shapes_are_user_errors(arch):
    m = small(arch).eval()
    x = clip(m)
    with pytest.raises(SkelzooError, match="V=25 joints"):
        m(x[:, :, :, :17])
    with pytest.raises(SkelzooError, match="M=2 bodies"):
        m(x[..., :1])
    with pytest.raises(SkelzooError, match=r"x\[None\]"):
        m(x[0])


# Encoders whose torch.export graph keeps the frame count symbolic (seq's nn.GRU is unrolled by
# torch.export; its ONNX export keeps frames dynamic instead, tested below).
DYNAMIC_FRAMES = {"stg"}


@pytest.mark.parametrize(
    "arch", [pytest.param(a, marks=pytest.mark.slow) if a in DYNAMIC_FRAMES else a for a in ENCODERS]
)
def test_traces_and_exports_with_dynamic_batch(arch):
    m = small(arch).eval()
    x = clip(m, frames=8)  # few frames: torch.export unrolls the GRU over them
    traced = torch.jit.trace(m, x)
    y = clip(m, n=3, frames=8)
    torch.testing.assert_close(traced(y), m(y))
    dims = {0: torch.export.Dim("batch", min=1, max=1024)}
    if arch in DYNAMIC_FRAMES:
        # min 5: with fewer frames the stride-2 units leave one frame and export specialises on it
        dims[2] = torch.export.Dim("time", min=5, max=300)
        y = torch.randn(3, 3, 37, 25, 2)
    ep = torch.export.export(m, (x,), dynamic_shapes={"x": dims})
    torch.testing.assert_close(ep.module()(y), m(y))


@pytest.mark.slow
@pytest.mark.parametrize("compat", [False, True], ids=["bigru", "reference_compat"])
def test_seq_onnx_export_keeps_frames_dynamic(tmp_path, compat):
    ort = pytest.importorskip("onnxruntime")
    m = create_encoder("seq", width=1 / 32, reference_compat=compat).eval()
    x = clip(m, frames=8)
    dims = {0: torch.export.Dim("batch"), 2: torch.export.Dim("time")}
    prog = torch.onnx.export(m, (x,), dynamic_shapes={"x": dims}, dynamo=True, verbose=False)
    prog.save(str(tmp_path / "seq.onnx"))
    sess = ort.InferenceSession(str(tmp_path / "seq.onnx"), providers=["CPUExecutionProvider"])
    for shape in [(3, 3, 21, 25, 2), (1, 3, 2, 25, 2)]:
        y = torch.randn(*shape)
        got = sess.run(None, {sess.get_inputs()[0].name: y.numpy()})[0]
        torch.testing.assert_close(torch.from_numpy(got), m(y).detach(), rtol=1e-4, atol=1e-5)


# --- seq --------------------------------------------------------------------------------------


def _fed_one_frame_at_a_time(m, x):
    """The authors' recurrence, literally: the bidirectional nn.GRU fed x[:, t:t+1] in turn."""
    s, hidden = to_seq(x), None
    for t in range(s.shape[1]):
        out, hidden = m.gru(s[:, t : t + 1], hidden)
    return out[:, -1]


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_seq_reference_compat_equals_frame_by_frame_feeding(dtype, tol):
    m = small("seq", reference_compat=True).to(dtype).eval()
    x = clip(m, frames=12).to(dtype)
    with torch.no_grad():
        got, want = m(x), _fed_one_frame_at_a_time(m, x)
    torch.testing.assert_close(got, want, rtol=0, atol=tol)
    # and it is a different recurrence from the true bidirectional GRU with the same weights
    normal = small("seq").to(dtype).eval()
    normal.load_state_dict(m.state_dict(), strict=True)
    assert not torch.allclose(normal(x), got, atol=1e-3)


def test_seq_reference_compat_has_the_normal_state_dict():
    a, b = small("seq"), small("seq", reference_compat=True)
    assert {k: v.shape for k, v in a.state_dict().items()} == {
        k: v.shape for k, v in b.state_dict().items()
    }


def test_seq_feature_is_both_directions_over_the_whole_clip():
    m = small("seq").eval()
    x = clip(m, frames=10)
    out, _ = m.gru(to_seq(x))
    h = m.hidden
    f = m(x)
    torch.testing.assert_close(f[:, :h], out[:, -1, :h])  # forward: output at the last frame
    torch.testing.assert_close(f[:, h:], out[:, 0, h:])  # backward: after reading every frame
    # changing the first frame changes the backward half, not only the forward one
    y = x.clone()
    y[:, :, 0] += 1.0
    assert not torch.allclose(m(y)[:, h:], f[:, h:])


# --- stg --------------------------------------------------------------------------------------


def test_stg_adjacency_from_layout_bones():
    a = spatial_adjacency("ntu25")
    assert a.shape == (3, 25, 25)
    assert torch.equal(a[0], torch.eye(25))
    inward = (a[1] > 0).float()
    assert inward.sum() == 24 and torch.equal(inward.t(), (a[2] > 0).float())
    assert a[1][20, 1] > 0  # bone (spine_mid=1 -> spine_shoulder=20): A_in[parent, child]
    col = a[2].sum(dim=0)  # every joint with an outward neighbour has a normalised column
    assert torch.allclose(col[col > 0], torch.ones_like(col[col > 0]))


def test_stg_adjacency_is_a_buffer_outside_the_state_dict():
    m = small("stg")
    names = [n for n, _ in m.named_buffers()]
    assert "l1.gcn1.A" in names
    assert not any(k.endswith("gcn1.A") for k in m.state_dict())
    assert m.to(torch.float64).l1.gcn1.A.dtype == torch.float64


def test_stg_accepts_any_clip_length():
    m = small("stg").eval()
    for t in (5, 16, 41):
        assert m(torch.randn(2, 3, t, 25, 2)).shape == (2, m.feature_dim)


# --- img --------------------------------------------------------------------------------------


def test_img_refuses_other_clip_lengths():
    m = small("img").eval()
    with pytest.raises(SkelzooError, match="T=64 frames"):
        m(torch.randn(2, 3, 48, 25, 2))
    m32 = create_encoder("img", width=SMALL, frames=32).eval()
    assert m32(torch.randn(2, 3, 32, 25, 2)).shape == (2, m32.feature_dim)
    assert m32.feature_dim * 4 == m.feature_dim  # (T/16)^2 cells
    with pytest.raises(SkelzooError, match="multiple of 16"):
        create_encoder("img", frames=50)


def test_img_dropout_only_in_training():
    m = small("img").train()
    x = clip(m)
    assert not torch.equal(m(x), m(x))
    m.eval()
    assert torch.equal(m(x), m(x))


def test_img_takes_max_over_bodies():
    m = small("img").eval()
    x = clip(m)
    swapped = x.flip(-1)
    torch.testing.assert_close(m(swapped), m(x))


# --- registry errors and the head ---------------------------------------------------------------


def test_unknown_encoder_name_suggests_the_closest():
    with pytest.raises(SkelzooError, match=r"unknown encoder 'sqe'\. Did you mean 'seq'\?"):
        create_encoder("sqe")


def test_unknown_kwargs_are_named():
    with pytest.raises(SkelzooError, match=r"does not take 'hiden'.*width"):
        create_encoder("seq", hiden=3)


def test_none_kwargs_fall_back_to_defaults():
    m = create_encoder("seq", width=1 / 32, layout=None, reference_compat=None)
    assert m.config["layout"] == "ntu25" and m.config["reference_compat"] is False


def test_bad_values_are_user_errors():
    with pytest.raises(SkelzooError, match="width"):
        create_encoder("stg", width=0)
    with pytest.raises(SkelzooError, match="unknown layout"):
        create_encoder("stg", layout="ntu26")


def test_register_encoder_rejects_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        register_encoder("seq")(lambda: None)


def test_projection_head_is_unit_norm():
    head = ProjectionHead(64)
    z = head(torch.randn(5, 64) * 10)
    assert z.shape == (5, 128)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(5))
    assert [type(layer).__name__ for layer in head.net] == ["Linear", "ReLU", "Linear"]
