"""Recipes carry the paper's hyper-parameters; configs load, override and fail clearly."""

from __future__ import annotations

import pytest

from skelzoo.errors import SkelzooError
from skelzoo.train.config import TrainConfig, apply_overrides, list_recipes, load_recipe, resume_mismatches

PAPER = {  # dataset: (queue, epochs, lr milestones)  -- DESIGN.md, from the paper and its reference code
    "ntu60": (16384, 450, [350]),
    "ntu120": (16384, 350, [250]),
    "pku1": (8192, 600, []),
    "pku2": (2048, 600, []),
}
REQUIRED = [
    "ntu60-xview-seq-stg", "ntu60-xview-seq-img", "ntu60-xview-stg-img", "ntu60-xsub-seq-stg",
    "ntu120-xsub-seq-stg", "ntu120-xset-seq-stg", "pku1-xsub-seq-stg", "pku2-xsub-seq-stg",
    "synth-seq-stg", "synth-seq-intra",
]


def test_the_paper_settings_and_the_demo_are_all_there():
    assert set(REQUIRED) <= set(list_recipes())


@pytest.mark.parametrize("name", list_recipes())
def test_every_recipe_loads_and_names_what_it_trains(name):
    cfg = load_recipe(name)
    assert cfg.name == name and cfg.description
    dataset, benchmark, *encs = name.split("-")
    if dataset != "synth":
        assert (cfg.data.dataset, cfg.data.benchmark) == (dataset, benchmark)
        assert cfg.model.encoders == encs
    else:
        assert cfg.data.path is None and cfg.model.width < 0.25  # CPU sized


@pytest.mark.parametrize("name", [n for n in list_recipes() if not n.startswith("synth")])
def test_paper_recipes_use_the_paper_hyper_parameters(name):
    cfg = load_recipe(name)
    queue, epochs, milestones = PAPER[cfg.data.dataset]
    assert cfg.moco.queue_size == queue
    assert cfg.epochs == epochs and cfg.optim.milestones == milestones and cfg.optim.gamma == 0.1
    assert (cfg.moco.temperature, cfg.moco.momentum) == (0.07, 0.999)
    assert (cfg.optim.lr, cfg.optim.momentum, cfg.optim.weight_decay) == (0.01, 0.9, 1e-4)
    assert cfg.batch_size == 64 and cfg.model.width == 1.0 and cfg.augment.frames == 64
    assert (cfg.augment.min_ratio, cfg.augment.spatial, cfg.augment.temporal) == (0.1, True, True)


def test_default_recipe_is_the_synthetic_seq_stg_demo():
    cfg = load_recipe()
    assert cfg.name == "synth-seq-stg" and cfg.model.encoders == ["seq", "stg"]
    assert cfg.data.dataset == "synth" and cfg.device == "auto"
    assert load_recipe("synth-seq-intra").model.encoders == ["seq"]


def test_overrides_reach_any_field_with_type_checks():
    cfg = load_recipe("ntu60-xview-seq-stg", [
        "optim.lr=0.02", "epochs=10", "optim.milestones=[5, 8]", "model.encoders=seq,img", "amp=false",
        "data.max_clips=100", "data.path=/data/ntu60/xview", "moco.queue_size=4096",
    ])
    assert cfg.optim.lr == 0.02 and cfg.epochs == 10 and cfg.optim.milestones == [5, 8]
    assert cfg.model.encoders == ["seq", "img"] and cfg.amp is False and cfg.data.max_clips == 100
    assert cfg.data.path == "/data/ntu60/xview" and cfg.moco.queue_size == 4096
    apply_overrides(cfg, ["data.max_clips=null", "optim={lr: 0.5, gamma: 0.5}"])
    assert cfg.data.max_clips is None and (cfg.optim.lr, cfg.optim.gamma) == (0.5, 0.5)
    assert cfg.optim.milestones == [5, 8]  # a section override only touches the fields it names


@pytest.mark.parametrize("override, pattern", [
    ("optim.lrr=1", r"unknown config field 'optim.lrr'. Did you mean 'lr'"),
    ("optimm.lr=1", r"unknown config field 'optimm'. Did you mean 'optim'"),
    ("epochs=ten", r"epochs must be an integer; got 'ten'"),
    ("epochs=2.5", r"epochs must be an integer"),
    ("amp=maybe", r"amp must be true or false"),
    ("optim.lr", r"not KEY=VALUE"),
    ("optim=3", r"optim is a section"),
    ("model.encoders=[seq,seq]", r"distinct representations"),
    ("model.encoders=[seq,gcn]", r"unknown encoder 'gcn'"),
    ("moco.queue_size=16", r"queue size 16 is smaller than the batch 32"),
    ("epochs=0", r"epochs must be at least 1"),
    ("run_name=a/b", r"plain directory name"),
])
def test_bad_overrides_are_user_errors(override, pattern):
    with pytest.raises(SkelzooError, match=pattern):
        load_recipe("synth-seq-stg", [override])


def test_recipe_files_from_paths_and_their_errors(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("epochs: 3\nmodel:\n  encoders: [stg, img]\n  width: 0.25\n")
    cfg = load_recipe(good)
    assert cfg.name == "mine" and cfg.epochs == 3 and cfg.model.encoders == ["stg", "img"]
    assert cfg.moco.temperature == 0.07  # defaults fill what the file leaves out
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  widht: 0.5\n")
    with pytest.raises(SkelzooError, match=r"bad.yaml: unknown config field 'model.widht'. Did you mean 'width'"):
        load_recipe(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("epochs: [1,\n")
    with pytest.raises(SkelzooError, match="not valid YAML"):
        load_recipe(broken)
    with pytest.raises(SkelzooError, match="no such recipe file"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(SkelzooError, match=r"unknown recipe 'ntu60-xview-seq-gst'. Did you mean 'ntu60-xview-seq-stg'"):
        load_recipe("ntu60-xview-seq-gst")


def test_config_round_trips_and_resume_compatibility():
    cfg = load_recipe("pku2-xsub-seq-stg", ["epochs=5"])
    again = TrainConfig.from_dict(cfg.to_dict())
    assert again == cfg
    assert resume_mismatches(cfg.to_dict(), load_recipe("pku2-xsub-seq-stg", ["epochs=9", "device=cpu"])) == []
    diffs = resume_mismatches(cfg.to_dict(), load_recipe("pku1-xsub-seq-stg"))
    assert any(d.startswith("name") for d in diffs) and any(d.startswith("moco") for d in diffs)
