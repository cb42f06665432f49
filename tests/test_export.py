"""Export: ONNX and TorchScript for every registered encoder, parity, input specs, the CLI.

torch.export is slow (tens of seconds per encoder on 2 cores), so each encoder is exported once
per format by the CLI in a module-scoped fixture and every check reads those files.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from skelzoo.checkpoint import save_checkpoint
from skelzoo.cli import main
from skelzoo.errors import SkelzooError
from skelzoo.export import OnnxEncoder, check_matches_spec, load_torchscript, read_spec
from skelzoo.export.runtime import SPEC_KEY
from skelzoo.models import ProjectionHead, create_encoder, list_encoders

ARCHS = list_encoders()
SPEC = {"layout": "ntu25", "frames": 64, "bodies": 2, "channels": 3, "preprocessing": "ntu-reference"}
EXAMPLE_FRAMES = {"img": 64}  # others: a length other than the 64 the parity shapes are built around
FRAMES = 24


def small_encoder(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_encoder(arch, width=0.125)
    # Non-trivial batch-norm statistics, so eval-mode exports are checked on real affine maps.
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def write_checkpoint(path: Path, arch: str, with_head: bool) -> torch.nn.Module:
    model = small_encoder(arch)
    payload = {
        "encoders": {arch: {"arch": arch, "kwargs": dict(model.config), "state_dict": model.state_dict()}},
        "default_encoder": arch,
        "input_spec": dict(SPEC),
    }
    if with_head:  # where the trainer keeps heads: its MoCo state, query.heads.<rep>.*
        head = ProjectionHead(model.feature_dim, 16)
        payload["trainer"] = {"moco": {f"query.heads.{arch}.{k}": v for k, v in head.state_dict().items()}}
        model.head = head
    save_checkpoint(path, payload)
    return model


def cli(args: list[str]) -> tuple[int, str]:
    """Run the CLI in-process; returns (exit code, stdout)."""
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            main(args)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


def clips(batch: int, frames: int, seed: int = 0, joints: int = 25) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, 3, frames, joints, 2)).astype(np.float32)


def torch_features(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(x)).numpy()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module", params=ARCHS)
def exported(request, workdir) -> dict:
    """One checkpoint per encoder, exported by the CLI to ONNX and TorchScript (with --json)."""
    arch = request.param
    ckpt = workdir / f"{arch}.pt"
    model = write_checkpoint(ckpt, arch, with_head=False)
    frames = EXAMPLE_FRAMES.get(arch, FRAMES)
    reports = {}
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".ts")):
        out = workdir / f"{arch}-export{suffix}"
        code, stdout = cli(["export", "--checkpoint", str(ckpt), "--format", fmt, "-o", str(out),
                            "--frames", str(frames), "--batch", "2", "--json"])
        assert code == 0, stdout
        reports[fmt] = json.loads(stdout)
        assert Path(reports[fmt]["path"]) == out and out.is_file()
    return {"arch": arch, "model": model, "frames": frames, "ckpt": ckpt, "reports": reports,
            "onnx": workdir / f"{arch}-export.onnx", "ts": workdir / f"{arch}-export.ts"}


def test_every_encoder_is_covered():
    assert {"seq", "stg", "img"} <= set(ARCHS)


def test_onnx_input_axes_are_symbolic(exported):
    proto = onnx.load(str(exported["onnx"]))
    (inp,) = proto.graph.input
    dims = inp.type.tensor_type.shape.dim
    assert inp.name == "clips" and len(dims) == 5
    assert dims[0].dim_param and not dims[0].dim_value  # batch: symbolic
    assert [d.dim_value for d in dims[1:2] + dims[3:]] == [3, 25, 2]
    if exported["arch"] == "img":  # HCN is built for one clip length
        assert dims[2].dim_value == 64 and not dims[2].dim_param
    else:
        assert dims[2].dim_param and not dims[2].dim_value
    for node in proto.graph.node:  # PyTorch's GRU recurrence is ONNX's linear_before_reset=1
        if node.op_type == "GRU":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            assert attrs["linear_before_reset"] == 1


def test_onnx_parity_at_shapes_other_than_the_example(exported):
    model, arch = exported["model"], exported["arch"]
    enc = OnnxEncoder(exported["onnx"], device="cpu")
    t = exported["frames"]
    shapes = [(1, t), (5, t)] + ([] if arch == "img" else [(1, 40), (3, 9)])
    for i, (b, frames) in enumerate(shapes):
        x = clips(b, frames, seed=i)
        got, want = enc(x), torch_features(model, x)
        assert got.shape == want.shape == (b, model.feature_dim)
        assert np.abs(got - want).max() < 1e-4, (arch, b, frames)
    # the exporter's own report: >= 3 shapes, batch 1 and (where dynamic) another length
    (parity,) = exported["reports"]["onnx"]["parity"]
    assert parity["passed"] and parity["max_abs_diff"] <= 1e-4 and len(parity["shapes"]) >= 3
    assert any(s["batch"] == 1 for s in parity["shapes"])
    if arch != "img":
        assert len({s["frames"] for s in parity["shapes"]}) >= 2


def test_onnx_metadata_round_trip(exported):
    arch, model = exported["arch"], exported["model"]
    spec = OnnxEncoder(exported["onnx"], device="cpu").input_spec
    assert spec == read_spec(exported["onnx"]) == exported["reports"]["onnx"]["input_spec"]
    assert spec["arch"] == arch and spec["feature_dim"] == model.feature_dim
    assert (spec["layout"], spec["joints"], spec["bodies"], spec["channels"]) == ("ntu25", 25, 2, 3)
    # frames: the training length from the checkpoint (what extract crops to), not the example's
    assert spec["frames"] == 64 and spec["example_frames"] == exported["frames"]
    assert spec["dynamic_frames"] == (arch != "img") and spec["min_frames"] == (8 if arch != "img" else 64)
    assert spec["preprocessing"] == "ntu-reference" and spec["skelzoo_version"]
    assert create_encoder(arch, **spec["encoder_config"]).feature_dim == model.feature_dim
    props = {p.key: p.value for p in onnx.load(str(exported["onnx"])).metadata_props}
    assert json.loads(props[SPEC_KEY]) == spec and props["skelzoo.arch"] == arch
    check_matches_spec(spec, SPEC, "zoo entry")  # the checkpoint's spec: matches


def test_torchscript_parity_and_spec(exported):
    model, arch = exported["model"], exported["arch"]
    module = load_torchscript(exported["ts"])
    assert module.input_spec == exported["reports"]["torchscript"]["input_spec"]
    assert module.input_spec["dynamic_frames"] == (arch != "img")
    t = exported["frames"]
    shapes = [(1, t), (4, t)] + ([] if arch == "img" else [(2, 33)])
    with torch.jit.optimized_execution(False):
        for i, (b, frames) in enumerate(shapes):
            x = clips(b, frames, seed=10 + i)
            with torch.inference_mode():
                got = module(torch.from_numpy(x)).numpy()
            assert np.abs(got - torch_features(model, x)).max() < 1e-4, (arch, b, frames)


def test_onnx_encoder_refuses_mismatched_input(exported):
    enc = OnnxEncoder(exported["onnx"], device="cpu")
    t = exported["frames"]
    with pytest.raises(SkelzooError, match="V \\(joints\\) = 17"):
        enc(clips(2, t, joints=17))
    with pytest.raises(SkelzooError, match="\\(N, C, T, V, M\\)"):
        enc(clips(1, t)[0])
    if exported["arch"] == "img":
        with pytest.raises(SkelzooError, match="exactly 64"):
            enc(clips(2, 32))
    with pytest.raises(SkelzooError, match="joints 17 \\(expected 25\\)|layout"):
        check_matches_spec(enc.input_spec, {**SPEC, "layout": "coco17", "joints": 17}, "zoo entry x")


def test_check_matches_spec_rules():
    spec = {"layout": "ntu25", "joints": 25, "channels": 3, "bodies": 2, "frames": 64,
            "dynamic_frames": False, "preprocessing": "ntu-reference"}
    check_matches_spec(spec, {"layout": "ntu25", "frames": 64, "bodies": 2}, "e")
    check_matches_spec({**spec, "dynamic_frames": True}, {"frames": 32}, "e")  # any length is fine
    check_matches_spec({**spec, "preprocessing": ""}, {"preprocessing": "other"}, "e")  # unknown: skip
    with pytest.raises(SkelzooError, match="entry-x.*frames 64 \\(expected 32\\)"):
        check_matches_spec(spec, {"frames": 32}, "entry-x")
    with pytest.raises(SkelzooError, match="bodies 2 \\(expected 1\\)"):
        check_matches_spec(spec, {"bodies": 1}, "e")


def test_onnx_encoder_refuses_files_that_are_not_skelzoo_onnx(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"definitely not a protobuf \x00\xff" * 10)
    with pytest.raises(SkelzooError, match="junk.onnx: ONNX Runtime cannot load it"):
        OnnxEncoder(junk, device="cpu")
    with pytest.raises(SkelzooError, match="not an ONNX model"):
        read_spec(junk)
    with pytest.raises(SkelzooError, match="no such ONNX file"):
        OnnxEncoder(tmp_path / "missing.onnx")
    # a valid ONNX model that skelzoo did not write: no input spec
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(foreign))
    with pytest.raises(SkelzooError, match="without skelzoo's input spec"):
        OnnxEncoder(foreign, device="cpu")


@pytest.fixture(scope="module")
def head_ckpt(workdir) -> tuple[Path, torch.nn.Module]:
    path = workdir / "with-head.pt"
    return path, write_checkpoint(path, "stg", with_head=True)


def test_with_head_exports_the_unit_norm_embedding(head_ckpt, workdir):
    path, model = head_ckpt
    out = workdir / "stg-head.ts"
    code, stdout = cli(["export", "-c", str(path), "-o", str(out), "--with-head", "--frames", "16", "--json"])
    assert code == 0, stdout
    report = json.loads(stdout)
    assert report["format"] == "torchscript" and report["input_spec"]["output"] == "embedding"
    assert report["input_spec"]["feature_dim"] == 16 and report["input_spec"]["with_head"]
    module = load_torchscript(out)
    x = clips(3, 20, seed=3)
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        got = module(torch.from_numpy(x)).numpy()
        want = model.head(model(torch.from_numpy(x))).numpy()
    assert np.abs(got - want).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_cli_prints_a_summary_without_json(head_ckpt, workdir, capsys):
    main(["export", "-c", str(head_ckpt[0]), "-o", str(workdir / "summary.pt"), "--frames", "16"])  # returns: success
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {workdir / 'summary.pt'}") and "any batch, T any length >= 8" in out
    assert "Parity: max |diff|" in out and "torchscript:cpu" in out


def test_with_head_without_a_head_says_so(exported, workdir, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["export", "-c", str(exported["ckpt"]), "-o", str(workdir / "nohead.ts"), "--with-head"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no projection head" in err and "without --with-head" in err
    assert not (workdir / "nohead.ts").exists()


def test_failed_parity_deletes_the_file(head_ckpt, workdir, monkeypatch):
    import skelzoo.export.torchscript as ts

    real = ts.load_torchscript

    def broken(path, device="cpu"):  # an archive whose numbers are off
        module = real(path, device)
        return lambda x: module(x) + 1e-3

    monkeypatch.setattr(ts, "load_torchscript", broken)
    out = workdir / "bad.ts"
    with pytest.raises(SkelzooError, match="parity check failed, file not written.*= 0.001 "):
        ts.export_torchscript(small_encoder("stg"), out, frames=16)
    assert not out.exists() and not list(workdir.glob(".bad*"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "no-such-model-xyz"], "unknown"),
        (["--encoder", "nope"], "unknown encoder in .*Did you mean|unknown encoder in"),
        (["-o", "{d}/missing-dir/x.onnx"], "missing-dir does not exist; create it first"),
        (["--format", "tflite"], "unknown export format 'tflite'"),
        (["--format", "onnx", "-o", "{d}/x.pt"], "must end in .onnx"),
        (["-o", "{d}/x.bin"], "cannot tell the format"),
        (["--batch", "1"], "example batch must be >= 2"),
        (["--dtype", "fp8"], "unknown dtype 'fp8'"),
        (["--opset", "11"], "--opset 11: use 18"),
    ],
)
def test_cli_errors(args, message, head_ckpt, workdir, capsys):
    ckpt, _ = head_ckpt
    base = {"-c": str(ckpt), "-o": str(workdir / "err.onnx")}
    args = [a.format(d=workdir) for a in args]
    if "--model" in args:
        base.pop("-c")
    for key in ("-o",):
        if key in args:
            base.pop(key)
    argv = ["export"] + [x for kv in base.items() for x in kv] + args
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    import re

    assert re.search(message, err), err
    assert not (workdir / "err.onnx").exists()


def test_img_refuses_another_length(workdir, tmp_path, capsys):
    ckpt = tmp_path / "img.pt"
    write_checkpoint(ckpt, "img", with_head=False)
    with pytest.raises(SystemExit):
        main(["export", "-c", str(ckpt), "-o", str(tmp_path / "x.onnx"), "--frames", "32"])
    assert "takes exactly 64 frames" in capsys.readouterr().err


def test_fp16_onnx_export_runs_on_cpu(workdir):
    """fp16 inside, float32 at the edges; parity relative to the feature scale (1e-2)."""
    from skelzoo.export.onnx import export_onnx

    model = small_encoder("img")
    model.input_spec = dict(SPEC)
    report = export_onnx(model, workdir / "img-fp16.onnx", dtype="fp16")
    (parity,) = report["parity"]
    assert parity["relative"] and parity["passed"] and parity["error"] <= 1e-2
    enc = OnnxEncoder(workdir / "img-fp16.onnx", device="cpu")
    assert enc.input_spec["dtype"] == "fp16"
    proto = onnx.load(str(workdir / "img-fp16.onnx"))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in proto.graph.initializer)
    x = clips(2, 64)
    want = torch_features(model, x)
    assert np.abs(enc(x) - want).max() <= 1e-2 * np.abs(want).max()
