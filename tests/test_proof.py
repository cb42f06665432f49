"""benchmarks/proof.py in smoke mode (seconds) and benchmarks/run_all.py's report assembly.

The smoke run goes through the real trainer, checkpoints and evaluation code on a tiny synthetic
set, so the proof script cannot silently rot when the APIs it uses change.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def proof():
    return _load("proof")


@pytest.fixture(scope="module")
def smoke(proof, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proof")
    out = tmp / "proof-smoke.json"
    doc = proof.main(["--smoke", "--threads", "1", "--quiet", "--benchmarks", "xview", "--work", str(tmp / "work"),
                      "--out", str(out)])
    return doc, out


def test_smoke_writes_every_configuration_with_finite_numbers(proof, smoke, capsys):
    doc, out = smoke
    on_disk = json.loads(out.read_text())
    assert on_disk["results"] == doc["results"]
    res = on_disk["results"]["xview"]
    assert set(res) == set(proof.CONFIGS)
    for config, metrics in res.items():
        assert set(metrics) == {"knn1", "linear"}, config
        for m, stat in metrics.items():
            assert math.isfinite(stat["mean"]) and math.isfinite(stat["std"]), (config, m)
            assert 0.0 <= stat["mean"] <= 100.0
        for m, values in on_disk["per_seed"]["xview"][config].items():
            assert len(values) == 1  # smoke: one seed
    assert on_disk["settings"]["smoke"] is True and on_disk["settings"]["epochs"] == 1
    assert math.isfinite(on_disk["raw_joint_knn1"]["xview"])
    # the printed table names every configuration
    for label in on_disk["configs"].values():
        assert label in on_disk["table"]


def test_smoke_pretrained_encoders_differ_from_random(smoke):
    """The trained configurations really trained: the evaluated encoders are not the random-init ones.

    (Guards against a proof that evaluates the same weights under every name.) Compared through the
    per-seed scores of the seq configurations plus a direct check of the checkpoints' weights."""
    doc, _ = smoke
    work = Path(doc["settings"].get("work") or "")
    ckpts = sorted(Path(p) for p in work.rglob("checkpoint.pt")) if work.name else []
    assert len(ckpts) == 3  # intra noaug, intra aug, inter seq+stg
    from skelzoo.checkpoint import load_encoder

    import torch

    a = load_encoder([c for c in ckpts if "noaug" in str(c)][0], "seq").state_dict()
    b = load_encoder([c for c in ckpts if "seq+stg" in str(c)][0], "seq").state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_summarise_and_claims(proof):
    assert proof.summarise([1.0]) == {"mean": 1.0, "std": 0.0}
    s = proof.summarise([1.0, 3.0])
    assert s["mean"] == 2.0 and s["std"] == pytest.approx(math.sqrt(2.0))
    res = {c: {m: {"mean": v, "std": 0.0} for m in ("knn1", "linear")}
           for c, v in {"random-seq": 10.0, "random-stg": 10.0, "intra-seq-noaug": 20.0, "intra-seq-aug": 30.0,
                        "inter-seq+stg:seq": 25.0, "inter-seq+stg:stg": 40.0}.items()}
    verdicts = proof.claims(res)
    assert "holds" in verdicts["pretrained > random (seq)"]
    assert "holds" in verdicts["augmentation > none"]
    assert "does NOT hold" in verdicts["inter >= intra (seq)"]
    res["intra-seq-aug"]["knn1"]["std"] = 25.0  # a 20-point gap inside a 25-point seed spread is noise
    assert "within noise" in proof.claims(res)["pretrained > random (seq)"].split(";")[0]


def test_table_reprints_a_stored_result(proof, smoke, capsys):
    _, out = smoke
    doc = proof.main(["--table", str(out)])
    printed = capsys.readouterr().out
    assert "smoke xview" in printed and doc["table"].splitlines()[2] in printed


def test_unknown_configuration_is_refused(proof):
    with pytest.raises(SystemExit, match="unknown configuration"):
        proof.main(["--smoke", "--configs", "random-sqe"])


def test_run_all_assembles_sections_and_keeps_others(tmp_path, monkeypatch):
    run_all = _load("run_all")
    results, report = tmp_path / "results", tmp_path / "RESULTS.md"
    monkeypatch.setattr(run_all, "RESULTS", results)
    monkeypatch.setattr(run_all, "REPORT", report)
    # a tiny stand-in benchmark script that prints a figure, registered beside the real ones
    script = tmp_path / "fake_bench.py"
    script.write_text("import sys\nprint('fake figure: 42.0 clips/s', sys.argv[1:])\n")
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    monkeypatch.setattr(run_all, "BENCHMARKS", {
        "fake": ("fake_bench.py", ["--x", "1"], "A stand-in."),
        "other": ("fake_bench.py", [], "Another."),
        "missing": ("not_there.py", [], "No script."),
    })
    assert run_all.main(["--only", "fake", "--threads", "1"]) == 0
    text = report.read_text()
    assert "fake figure: 42.0 clips/s ['--x', '1']" in text
    assert "OMP_NUM_THREADS=1 python fake_bench.py --x 1" in text
    assert "_Not run yet" in text and "does not exist yet" in text
    assert "No GPU" in text
    # rerunning another one keeps the first one's section
    assert run_all.main(["--only", "other"]) == 0
    text = report.read_text()
    assert "['--x', '1']" in text and "fake figure: 42.0 clips/s []" in text
    assert run_all.main(["--only", "nope"]) == 2
    # figures printed on stderr only are shown too
    (tmp_path / "err_bench.py").write_text("import sys\nprint('stderr figure: 7 files/s', file=sys.stderr)\n")
    run_all.BENCHMARKS["err"] = ("err_bench.py", [], "Prints on stderr.")
    assert run_all.main(["--only", "err"]) == 0
    text = report.read_text()
    assert "(printed on stderr)" in text and "stderr figure: 7 files/s" in text
