"""Schema test over every weights_manifest.yaml entry (torchvision-style): wrong metadata fails here."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

import skelzoo
from skelzoo.zoo import manifest as mf

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = mf.load_manifest(mf.PACKAGED)
NAMES = sorted(MANIFEST["models"])
EXPECTED = {
    "ntu60-xview-seq-stg", "ntu60-xsub-seq-stg", "ntu120-xsub-seq-stg", "ntu120-xset-seq-stg",
    "pku1-xsub-seq-stg", "pku2-xsub-seq-stg", "ntu60-xview-seq-img", "ntu60-xview-stg-img",
}


@lru_cache(maxsize=None)
def built(arch: str, kwargs_items: tuple) -> tuple[int, int]:
    from skelzoo.models import create_encoder

    model = create_encoder(arch, **dict(kwargs_items))
    return sum(p.numel() for p in model.parameters()), model.feature_dim


def test_root_copy_equals_packaged_manifest():
    root, packaged = ROOT / "weights_manifest.yaml", mf.PACKAGED
    assert root.read_bytes() == packaged.read_bytes(), (
        "weights_manifest.yaml differs from skelzoo/weights_manifest.yaml: edit the packaged one and "
        "`cp skelzoo/weights_manifest.yaml weights_manifest.yaml`")


def test_every_trained_pair_has_an_entry():
    assert set(NAMES) == EXPECTED
    assert mf.validate_manifest(MANIFEST) == []


def test_no_duplicate_keys_in_the_yaml():
    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        dupes = {k for k in keys if keys.count(k) > 1}
        assert not dupes, f"duplicate keys {dupes} at line {node.start_mark.line + 1}"
        return loader.construct_mapping(node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load(mf.PACKAGED.read_text(), Loader=Strict)


@pytest.mark.parametrize("name", NAMES)
def test_entry_schema(name):
    entry = MANIFEST["models"][name]
    assert mf.validate_entry(name, entry) == []
    dataset, benchmark, *pair = name.split("-")
    assert (entry["dataset"], entry["benchmark"], entry["pair"]) == (dataset, benchmark, pair)
    assert entry["default_encoder"] == pair[0]
    spec = entry["input_spec"]
    assert spec == {"layout": "ntu25", "frames": 64, "bodies": 2, "channels": 3, "preprocessing": "ntu-reference"}
    for enc in entry["encoders"].values():
        kw = enc["kwargs"]
        assert (kw["layout"], kw["num_bodies"], kw["in_channels"]) == (spec["layout"], spec["bodies"], spec["channels"])
        assert kw.get("frames", spec["frames"]) == spec["frames"]
        assert kw["width"] == 1.0  # the zoo serves paper-size encoders


@pytest.mark.parametrize("name", NAMES)
def test_encoder_kwargs_build_with_stated_sizes(name):
    for enc_name, enc in MANIFEST["models"][name]["encoders"].items():
        params, feature_dim = built(enc["arch"], tuple(sorted(enc["kwargs"].items())))
        assert params == enc["params"], f"{name}/{enc_name}: builds {params} params, manifest says {enc['params']}"
        assert feature_dim == enc["feature_dim"]


@pytest.mark.parametrize("name", NAMES)
def test_recipe_exists_and_trains_this_entry(name):
    from skelzoo.train.config import list_recipes, read_recipe_yaml, recipe_path

    entry = MANIFEST["models"][name]
    assert entry["recipe"] in list_recipes(), f"no recipe {entry['recipe']}"
    recipe = read_recipe_yaml(recipe_path(entry["recipe"]))
    assert (recipe["data"]["dataset"], recipe["data"]["benchmark"]) == (entry["dataset"], entry["benchmark"])
    assert list(recipe["model"]["encoders"]) == entry["pair"]
    assert recipe["model"].get("width", 1.0) == 1.0


def test_honest_status_nothing_published_without_weights():
    for name, entry in MANIFEST["models"].items():
        # nothing has been trained at paper scale for this release: no entry may claim weights
        assert entry["status"] == "not-yet-trained" and entry["hub"] is None and entry["metrics"] == {}, name


def test_paper_figures_match_the_publication():
    paper = {n: e["paper"]["metrics"] for n, e in MANIFEST["models"].items()}
    assert paper["ntu60-xview-seq-stg"]["seq"] == {"linear": 85.2, "knn1": 82.6}
    assert paper["ntu60-xsub-seq-stg"]["seq"] == {"linear": 76.3, "knn1": 62.5}
    assert paper["ntu120-xset-seq-stg"]["seq"] == {"linear": 67.9, "knn1": 52.3}
    assert paper["ntu120-xsub-seq-stg"]["seq"] == {"linear": 67.1, "knn1": 50.6}
    assert paper["pku1-xsub-seq-stg"]["seq"] == {"linear": 80.9}
    assert paper["pku2-xsub-seq-stg"]["seq"] == {"linear": 36.0}


def test_aliases_resolve_and_do_not_shadow():
    aliases = MANIFEST["aliases"]
    assert aliases["ntu60-seq-stg"] == "ntu60-xview-seq-stg"
    for alias, target in aliases.items():
        assert alias not in MANIFEST["models"]
        assert mf.get_entry(alias)["name"] == target
    assert "ntu60-seq-stg" in mf.get_entry("ntu60-xview-seq-stg")["aliases"]


def good_published() -> dict:
    entry = copy.deepcopy(MANIFEST["models"]["ntu60-xview-seq-stg"])
    entry.update(status="published", metrics={"seq": {"linear": 80.0, "knn1": 70.0}},
                 hub={"repo_id": "org/isc", "revision": "a" * 40, "files": {"model.safetensors": "b" * 64}})
    return entry


@pytest.mark.parametrize("mutate, problem", [
    (lambda e: e.pop("recipe"), "missing key 'recipe'"),
    (lambda e: e.update(status="done"), "status 'done'"),
    (lambda e: e["hub"].update(revision="main"), "40-hex"),
    (lambda e: e["hub"]["files"].update({"model.safetensors": "abc"}), "64-hex"),
    (lambda e: e.update(hub=None), "needs hub"),
    (lambda e: e["metrics"]["seq"].update(top5=1.0), "unknown protocol 'top5'"),
    (lambda e: e["metrics"].update(img={"linear": 1.0}), "encoder 'img'"),
    (lambda e: e["metrics"]["seq"].update(linear=185.0), "[0, 100]"),
    (lambda e: e.update(default_encoder="img"), "default_encoder"),
    (lambda e: e["input_spec"].pop("frames"), "input_spec.frames"),
    (lambda e: e["encoders"]["seq"].pop("params"), "needs arch, kwargs, params"),
    (lambda e: e.update(pair=["stg", "seq"]), "'pair'"),
])
def test_validator_catches(mutate, problem):
    entry = good_published()
    assert mf.validate_entry("x", entry) == []
    mutate(entry)
    assert any(problem in p for p in mf.validate_entry("x", entry)), mf.validate_entry("x", entry)


def test_unpublished_entry_may_not_carry_hub_data():
    entry = copy.deepcopy(MANIFEST["models"]["pku1-xsub-seq-stg"])
    entry["hub"] = {"repo_id": "org/x"}
    assert any("hub must be empty" in p for p in mf.validate_entry("pku1", entry))


def test_skelzoo_manifest_env_override(tmp_path, monkeypatch):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"models": {}, "aliases": {}}))
    monkeypatch.setenv("SKELZOO_MANIFEST", str(path))
    assert mf.model_names() == []
    with pytest.raises(skelzoo.SkelzooError, match="unknown model"):
        mf.get_entry("ntu60-xview-seq-stg")


def test_cli_list_and_info_json():
    import json

    from typer.testing import CliRunner

    from skelzoo.cli import app

    res = CliRunner().invoke(app, ["list", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert set(rows) == EXPECTED
    assert rows["ntu60-xview-seq-stg"]["paper_linear"] == 85.2 and rows["ntu60-xview-seq-stg"]["linear"] is None
    res = CliRunner().invoke(app, ["info", "ntu60-seq-stg", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["name"] == "ntu60-xview-seq-stg"
    res = CliRunner().invoke(app, ["info", "ntu60-xsub"])
    assert res.exit_code == 0 and "skelzoo train --recipe ntu60-xsub-seq-stg" in res.stdout
    res = CliRunner().invoke(app, ["list"])
    assert res.exit_code == 0 and "ntu60-xview-seq-stg" in res.stdout and "85.2" in res.stdout
