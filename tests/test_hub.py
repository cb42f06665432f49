"""Hub I/O: save_pretrained / from_pretrained / push_to_hub / load_model, never touching the network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import huggingface_hub
import pytest
import torch
import yaml

import skelzoo
import skelzoo.cli
from skelzoo.checkpoint import file_sha256, save_checkpoint
from skelzoo.errors import SkelzooError
from skelzoo.models import create_encoder
from skelzoo.zoo import hub
from skelzoo.zoo.card import metrics_from_card
from skelzoo.zoo.manifest import load_manifest, validate_entry

SHA = "0123456789abcdef0123456789abcdef01234567"
REPO = "skelzoo-test/tiny-seq-stg"


def run_cli(args: list[str]) -> int:
    try:
        skelzoo.cli.main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def tiny_pair(seed: int = 0) -> dict[str, torch.nn.Module]:
    torch.manual_seed(seed)
    pair = {"seq": create_encoder("seq", width=1 / 64, num_layers=2),
            "stg": create_encoder("stg", width=0.125)}
    with torch.no_grad():  # batch-norm statistics and PA are not at their init values in real weights
        for m in pair.values():
            for name, buf in m.named_buffers():
                if buf.dtype.is_floating_point:
                    buf.add_(torch.rand_like(buf))
            for p in m.parameters():
                p.add_(0.01 * torch.randn_like(p))
    return pair


def clip_batch(n: int = 3, t: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, t, 25, 2, generator=g)


@pytest.fixture()
def saved(tmp_path) -> Path:
    metrics = {"seq": {"linear": 55.5, "knn1": 44.25}, "stg": {"linear": 40.0}}
    return hub.save_pretrained(tiny_pair(), tmp_path / "folder", name="tiny-seq-stg", metrics=metrics)


def hub_cache(tmp_path: Path, folder: Path, monkeypatch, sha: str = SHA) -> Path:
    """A Hugging Face cache holding `folder` as REPO at commit `sha` (main points at it), offline."""
    cache = tmp_path / "hf-cache"
    repo_dir = cache / f"models--{REPO.replace('/', '--')}"
    snap = repo_dir / "snapshots" / sha
    snap.mkdir(parents=True)
    for f in ("model.safetensors", "config.json", "README.md"):
        shutil.copy(folder / f, snap / f)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(sha)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache


def publish_manifest(tmp_path: Path, monkeypatch, files: dict[str, str], revision: str = SHA) -> None:
    """$SKELZOO_MANIFEST -> the real manifest plus a published entry for REPO."""
    manifest = load_manifest()
    cfg = json.loads((tmp_path / "folder" / "config.json").read_text())
    entry = hub.manifest_entry(cfg, REPO, revision, files)
    entry["recipe"] = "synth-seq-stg"
    manifest["models"]["tiny-seq-stg"] = entry
    manifest["aliases"]["tiny"] = "tiny-seq-stg"
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    monkeypatch.setenv("SKELZOO_MANIFEST", str(path))


def test_save_load_round_trip_is_bit_exact(saved):
    pair = tiny_pair()
    x = clip_batch()
    for name, ref in pair.items():
        loaded = hub.from_pretrained(saved, encoder=name)
        assert not loaded.training and loaded.input_spec["layout"] == "ntu25"
        for (k, a), (k2, b) in zip(ref.state_dict().items(), loaded.state_dict().items()):
            assert k == k2 and torch.equal(a, b), k
        ref.eval()
        with torch.no_grad():
            assert torch.equal(ref(x), loaded(x))
    cfg = json.loads((saved / "config.json").read_text())
    assert cfg["default_encoder"] == "seq" and cfg["encoders"]["seq"]["kwargs"]["num_layers"] == 2
    assert cfg["skelzoo_version"] == skelzoo.__version__


def test_checkpoint_round_trip_and_default_encoder(tmp_path):
    pair = tiny_pair(3)
    ckpt = {"encoders": {k: {"arch": m.arch, "kwargs": m.config, "state_dict": m.state_dict()} for k, m in pair.items()},
            "default_encoder": "stg", "input_spec": {**hub.DEFAULT_INPUT_SPEC},
            "recipe": {"name": "synth-seq-stg", "data": {"dataset": "synth", "benchmark": "xsub"}}}
    path = save_checkpoint(tmp_path / "ckpt.pt", ckpt)
    folder = hub.save_pretrained(path, tmp_path / "out")
    model = skelzoo.load(str(folder))  # default encoder of the checkpoint
    assert model.arch == "stg"
    assert torch.equal(model.state_dict()["l1.gcn1.PA"], pair["stg"].state_dict()["l1.gcn1.PA"])
    cfg = json.loads((folder / "config.json").read_text())
    assert (cfg["recipe"], cfg["dataset"], cfg["benchmark"]) == ("synth-seq-stg", "synth", "xsub")
    # a .pt checkpoint loads through the same one-liner
    assert skelzoo.load(str(path), encoder="seq").arch == "seq"


def test_model_card_metrics_parse_back(saved):
    assert metrics_from_card(saved / "README.md") == {"seq": {"linear": 55.5, "knn1": 44.25}, "stg": {"linear": 40.0}}
    meta = huggingface_hub.metadata_load(saved / "README.md")
    assert meta["model-index"][0]["name"] == "tiny-seq-stg"
    text = (saved / "README.md").read_text()
    assert "Skeleton-Contrastive 3D Action Representation Learning" in text
    assert "true" in text.lower() and "reference_compat" in text
    assert "| layout | `ntu25` |" in text


def test_load_by_repo_id_and_pinned_revision_from_offline_cache(tmp_path, saved, monkeypatch):
    hub_cache(tmp_path, saved, monkeypatch)
    x = clip_batch(2)
    ref = hub.from_pretrained(saved).eval()
    with torch.no_grad():
        want = ref(x)
        for spec in (REPO, f"{REPO}@{SHA}", f"{REPO}@main"):
            model = skelzoo.load(spec)
            assert torch.equal(model(x), want), spec
    assert hub.from_pretrained(REPO, revision=SHA, encoder="stg").arch == "stg"


def test_zoo_entry_loads_with_sha256_check(tmp_path, saved, monkeypatch):
    hub_cache(tmp_path, saved, monkeypatch)
    files = {f: file_sha256(saved / f) for f in ("model.safetensors", "config.json")}
    publish_manifest(tmp_path, monkeypatch, files)
    problems = validate_entry("tiny-seq-stg", load_manifest()["models"]["tiny-seq-stg"])
    assert problems == []
    model = skelzoo.load("tiny", encoder="stg")  # by alias
    assert model.arch == "stg" and model.input_spec["frames"] == 64


def test_sha256_mismatch_is_refused(tmp_path, saved, monkeypatch):
    hub_cache(tmp_path, saved, monkeypatch)
    good = file_sha256(saved / "model.safetensors")
    bad = "f" * 64
    publish_manifest(tmp_path, monkeypatch, {"model.safetensors": bad})
    with pytest.raises(SkelzooError) as err:
        skelzoo.load("tiny-seq-stg")
    msg = str(err.value)
    assert "model.safetensors" in msg and bad in msg and good in msg and "refusing" in msg
    with pytest.raises(SkelzooError, match="sha256 mismatch"):
        hub.from_pretrained(saved, expected_sha256=bad)


def test_offline_cache_miss_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(SkelzooError) as err:
        skelzoo.load(f"someorg/absent-model@{SHA}")
    msg = str(err.value)
    assert "HF_HUB_OFFLINE" in msg and f"download someorg/absent-model --revision {SHA}" in msg


def test_not_trained_entry_says_how_to_train():
    with pytest.raises(SkelzooError) as err:
        skelzoo.load("ntu60-seq-stg")
    msg = str(err.value)
    assert "not trained yet" in msg and "skelzoo train --recipe ntu60-xview-seq-stg --data data/ntu60/xview" in msg
    assert "skelzoo data prepare ntu60 --raw RAW_DIR --out data/ntu60" in msg


def test_unknown_model_suggests_closest():
    with pytest.raises(SkelzooError, match="Did you mean 'ntu60-xview-seq-stg'"):
        skelzoo.load("ntu60-xveiw-seq-stg")
    with pytest.raises(SkelzooError, match="no such file"):
        skelzoo.load("runs/missing/checkpoint.pt")


def test_weights_that_do_not_match_the_config_are_refused(tmp_path, saved):
    cfg = json.loads((saved / "config.json").read_text())
    cfg["encoders"]["seq"]["kwargs"]["num_layers"] = 3
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SkelzooError, match=r"missing keys.*gru\.bias_hh_l2"):
        hub.from_pretrained(saved)


class FakeApi:
    """Stands in for HfApi: records calls, uploads nothing, returns a commit like the Hub does."""

    calls: list = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, **kw):
        FakeApi.calls.append(("create_repo", repo_id, kw))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, repo_id, folder_path, **kw):
        files = sorted(p.name for p in Path(folder_path).iterdir())
        FakeApi.calls.append(("upload_folder", repo_id, files))
        FakeApi.uploaded = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
        return huggingface_hub.CommitInfo(commit_url=f"https://huggingface.co/{repo_id}/commit/{SHA}",
                                          commit_message="x", commit_description="", oid=SHA)


def test_push_uploads_and_prints_a_valid_manifest_entry(tmp_path, monkeypatch, capsys):
    FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    pair = tiny_pair(5)
    ckpt = save_checkpoint(tmp_path / "c.pt", {
        "encoders": {k: {"arch": m.arch, "kwargs": m.config, "state_dict": m.state_dict()} for k, m in pair.items()},
        "default_encoder": "seq", "input_spec": dict(hub.DEFAULT_INPUT_SPEC),
        "recipe": {"name": "ntu60-xview-seq-stg"}})
    from skelzoo.eval.results import make_results, write_results

    res = write_results(tmp_path / "results.json", make_results(
        model="c.pt", encoder="seq", dataset="ntu60", benchmark="xview", protocol="linear",
        metrics={"top1": 12.345, "best_epoch_top1": 13.0}))
    assert run_cli(["push", str(ckpt), "--repo", "me/isc", "--private", "--results", str(res)]) == 0
    out = capsys.readouterr().out
    doc = yaml.safe_load(out)
    (name, entry), = doc.items()
    assert name == "ntu60-xview-seq-stg"  # the recipe names the zoo entry it trains
    assert FakeApi.calls[0] == ("create_repo", "me/isc", {"private": True, "exist_ok": True, "repo_type": "model"})
    assert FakeApi.calls[1] == ("upload_folder", "me/isc", ["README.md", "config.json", "model.safetensors"])
    assert entry["hub"]["revision"] == SHA and entry["status"] == "published"
    assert entry["hub"]["files"]["model.safetensors"] == __import__("hashlib").sha256(
        FakeApi.uploaded["model.safetensors"]).hexdigest()
    assert entry["metrics"] == {"seq": {"linear": 12.35}}
    assert entry["encoders"]["seq"]["params"] == sum(p.numel() for p in pair["seq"].parameters())
    assert entry["paper"]["metrics"]["seq"]["linear"] == 85.2  # carried over from the manifest entry
    assert validate_entry(name, entry) == []


def test_push_rejects_bad_repo_id(tmp_path):
    with pytest.raises(SkelzooError, match="ORG/NAME"):
        hub.push_to_hub(tiny_pair(), "no-slash")
