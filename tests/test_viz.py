"""Pictures (skelzoo.viz) and the `show` / `plot-log` / `layouts` commands, end to end on small
inputs (few frames, small figures, low dpi)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402  (Pillow comes with matplotlib)

from skelzoo.cli import main  # noqa: E402
from skelzoo.errors import SkelzooError  # noqa: E402
from skelzoo.layout_mapping import from_ntu25  # noqa: E402
from skelzoo.viz import (  # noqa: E402
    confusion_matrix_png,
    feature_map_png,
    pca_2d,
    per_class_accuracy_png,
    read_log,
    render_clip,
    retrieval_sheet_png,
)
from skelzoo.viz.animate import augmented_views  # noqa: E402
from skelzoo.viz.plots import confusion  # noqa: E402
from skelzoo.viz.skeleton import to_view, view_matrix  # noqa: E402


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """A tiny synthetic set on disk (prepared like NTU), plus its arrays."""
    from skelzoo.data.synth import write_synthetic

    out = tmp_path_factory.mktemp("synth")
    write_synthetic(out, seed=0, size="tiny")
    split = out / "xsub"
    data = np.load(split / "val_data_joint.npy", mmap_mode="r")
    meta = json.loads((split / "meta.json").read_text())
    return {"npy": split / "val_data_joint.npy", "data": data, "class_names": meta["class_names"]}


def _run(args, capsys):
    """Run the CLI; returns (exit code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _image(path):
    assert path.is_file() and path.stat().st_size > 0
    im = Image.open(path)
    return im.size, getattr(im, "n_frames", 1)


def test_show_gif_has_the_stated_size_and_frames(synth, tmp_path, capsys):
    out = tmp_path / "clip.gif"
    code, stdout, err = _run(["show", str(synth["npy"]), "--index", "2", "-o", str(out), "--frames", "5",
                              "--size", "200x160", "--dpi", "50", "--json"], capsys)
    assert code == 0, err
    assert _image(out) == ((200, 160), 5)
    assert json.loads(stdout) == {"path": str(out), "bytes": out.stat().st_size, "width": 200, "height": 160, "frames": 5}


def test_show_png_filmstrip_with_augmented_views(synth, tmp_path, capsys):
    out = tmp_path / "strip.png"
    code, _, err = _run(["show", str(synth["npy"]), "-i", "0", "-o", str(out), "--augment", "--strip", "3",
                         "--size", "240x210", "--dpi", "40"], capsys)
    assert code == 0, err
    assert _image(out) == ((240, 210), 1)
    assert "wrote" in err


def test_augmented_views_are_seeded_and_differ_from_the_clip(synth):
    clip = np.array(synth["data"][0])
    n = 60
    q1, k1 = augmented_views(clip, n, seed=3)
    q2, _ = augmented_views(clip, n, seed=3)
    q3, _ = augmented_views(clip, n, seed=4)
    assert q1.shape == (3, 64, 25, 2)
    assert np.array_equal(q1, q2) and not np.array_equal(q1, q3) and not np.array_equal(q1, k1)


def test_show_gif_with_augment_and_2d_layout(tmp_path, synth):
    # A 2D coco17 clip (x, y only): drawn flat, upright.
    clip = from_ntu25(np.array(synth["data"][1]), "coco17")[0][:2]
    out = render_clip(tmp_path / "coco.gif", clip, layout="coco17", max_frames=3, size=(120, 120), dpi=40)
    assert _image(out) == ((120, 120), 3)
    out = render_clip(tmp_path / "aug.gif", np.array(synth["data"][1]), augment=True, max_frames=3, size=(300, 120), dpi=40)
    assert _image(out) == ((300, 120), 3)


def test_show_single_clip_file_in_another_layout(synth, tmp_path, capsys):
    # One MediaPipe body saved as (T, V, C), the order pose tools write.
    clip = from_ntu25(np.array(synth["data"][4]), "mediapipe33")[0][..., 0].transpose(1, 2, 0)
    np.save(tmp_path / "mp.npy", clip)
    out = tmp_path / "mp.png"
    code, stdout, err = _run(["show", str(tmp_path / "mp.npy"), "--layout", "mediapipe33", "-o", str(out),
                              "--strip", "2", "--size", "160x100", "--dpi", "40", "--json"], capsys)
    assert code == 0, err
    assert _image(out) == ((160, 100), 1)
    code, _, err = _run(["show", str(tmp_path / "mp.npy"), "-i", "0", "-o", str(out)], capsys)
    assert code == 2 and "single clip" in err


def test_show_errors(synth, tmp_path, capsys):
    code, _, err = _run(["show", str(synth["npy"]), "-i", "0", "-o", str(tmp_path / "x.bmp")], capsys)
    assert code == 2 and ".gif, .mp4, .png" in err and "x.bmp" in err
    code, _, err = _run(["show", str(synth["npy"]), "-i", "0", "-o", str(tmp_path / "x.png"), "--layout", "coco17"], capsys)
    assert code == 2 and "25 joints, but layout 'coco17' has 17" in err
    code, _, err = _run(["show", str(synth["npy"]), "-o", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "--index" in err
    code, _, err = _run(["show", str(synth["npy"]), "-i", "999", "-o", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "out of range" in err
    code, _, err = _run(["show", str(tmp_path / "missing.npy"), "-o", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "no such file" in err
    code, _, err = _run(["show", str(synth["npy"]), "-i", "0", "-o", str(tmp_path / "x.png"), "--size", "big"], capsys)
    assert code == 2 and "WIDTHxHEIGHT" in err
    assert not list(tmp_path.glob("x.*"))


def test_mp4_needs_ffmpeg(synth, tmp_path):
    from matplotlib.animation import FFMpegWriter

    clip = np.array(synth["data"][0])
    if FFMpegWriter.isAvailable():
        out = render_clip(tmp_path / "c.mp4", clip, max_frames=3, size=(160, 160), dpi=40)
        assert out.stat().st_size > 0
    else:
        with pytest.raises(SkelzooError, match="ffmpeg"):
            render_clip(tmp_path / "c.mp4", clip, max_frames=3, size=(160, 160), dpi=40)


def test_view_stands_the_body_upright_in_any_frame(synth):
    clip = np.array(synth["data"][0])  # prepared data (its own frame)
    for turned in (clip, clip[[0, 2, 1]] * np.array([1, -1, 1])[:, None, None, None]):  # a y-down frame too
        m = view_matrix(turned, "ntu25")
        assert np.allclose(m @ m.T, np.eye(3)) and np.isclose(np.linalg.det(m), 1.0)
        v = to_view(turned, m)
        head, base = v[2, 0, 3, 0], v[2, 0, 0, 0]  # picture z (up) of head and spine_base, frame 0
        assert head > base
        # The subject's left shoulder is on the right of the picture.
        assert v[0, 0, 4, 0] > v[0, 0, 8, 0]


def test_retrieval_sheet(synth, tmp_path):
    d = synth["data"]
    out = retrieval_sheet_png(tmp_path / "sheet.png", d[0], [d[1], d[2], d[3]], 0, [0, 4, 0], [0.91, 0.8, 0.75],
                              class_names=synth["class_names"], width=400, row_height=60, dpi=50)
    assert _image(out) == ((400, 240), 1)
    with pytest.raises(SkelzooError, match="3 neighbour clips but 2 labels"):
        retrieval_sheet_png(tmp_path / "bad.png", d[0], d[1:4], 0, [0, 1], [0.9, 0.8, 0.7])
    with pytest.raises(SkelzooError, match="use one of"):
        retrieval_sheet_png(tmp_path / "bad.jpeg", d[0], d[1:2], 0, [0], [0.9])


def test_evaluation_plots(tmp_path):
    rng = np.random.default_rng(0)
    names = ["wave", "clap", "kick", "bow"]
    y = np.repeat(np.arange(4), 10)
    feats = rng.normal(size=(40, 16)) + y[:, None] * 3.0
    out = feature_map_png(tmp_path / "map.png", feats, y, names, width=300, height=220, dpi=50)
    assert _image(out) == ((300, 220), 1)
    pred = y.copy()
    pred[:5] = 1
    assert confusion(y, pred, 4)[0, 1] == 5 and confusion(y, pred, 4).trace() == 35
    out = confusion_matrix_png(tmp_path / "cm.png", y, pred, names, width=260, height=260, dpi=50)
    assert _image(out) == ((260, 260), 1)
    out = per_class_accuracy_png(tmp_path / "acc.png", y, pred, names, width=300, height=200, dpi=50)
    assert _image(out) == ((300, 200), 1)
    with pytest.raises(SkelzooError, match="label 4 is outside 0..3"):
        confusion_matrix_png(tmp_path / "bad.png", y, np.full(40, 4), names)
    with pytest.raises(SkelzooError, match="expected 40 labels"):
        feature_map_png(tmp_path / "bad.png", feats, y[:10], names)


def test_pca_2d_finds_the_main_direction():
    rng = np.random.default_rng(1)
    x = np.zeros((200, 3))
    x[:, 1] = rng.normal(size=200) * 10
    x[:, 2] = rng.normal(size=200)
    coords, share = pca_2d(x)
    assert share[0] > 0.95 and abs(np.corrcoef(coords[:, 0], x[:, 1])[0, 1]) > 0.999


def _write_log(path, lines):
    path.write_text("".join(line + "\n" for line in lines))


def test_plot_log(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    lines = []
    for step in range(12):
        lines.append(json.dumps({"epoch": step // 4, "step": step, "loss": 9.0 - step * 0.3, "lr": 0.1 / (step + 1),
                                 "clips_per_s": 500.0 + step, "time": step * 0.5}))
        if step % 4 == 3:
            lines.append(json.dumps({"epoch": step // 4, "knn_top1": 0.2 + 0.1 * (step // 4)}))
    _write_log(run / "log.jsonl", lines)
    records = read_log(run)
    assert len(records) == 15
    from skelzoo.viz.curves import series

    curves = series(records)
    assert set(curves) == {"loss", "lr", "clips_per_s", "knn_top1"}
    assert list(curves["knn_top1"][0]) == [0.0, 1.0, 2.0] and curves["loss"][1][-1] == pytest.approx(5.7)
    code, stdout, err = _run(["plot-log", str(run), "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["path"] == str(run / "curves.png")
    assert _image(run / "curves.png") == ((900, 600), 1)


def test_plot_log_errors(tmp_path, capsys):
    code, _, err = _run(["plot-log", str(tmp_path)], capsys)
    assert code == 2 and "log.jsonl: no such file" in err
    (tmp_path / "log.jsonl").write_text("")
    code, _, err = _run(["plot-log", str(tmp_path)], capsys)
    assert code == 2 and "empty" in err
    _write_log(tmp_path / "log.jsonl", ['{"step": 0, "loss": 1.0}', '{"step": 1, "loss": 0.9'])
    code, _, err = _run(["plot-log", str(tmp_path)], capsys)
    assert code == 2 and "line 2: not valid JSON" in err
    _write_log(tmp_path / "log.jsonl", ['{"step": 0, "accuracy": 1.0}'])
    code, _, err = _run(["plot-log", str(tmp_path)], capsys)
    assert code == 2 and "no loss, lr" in err
    assert not (tmp_path / "curves.png").exists()


def test_layouts_command(capsys):
    code, stdout, err = _run(["layouts", "--json"], capsys)
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(stdout)}
    assert rows["coco17"]["joints"] == 17 and "spine_mid" in rows["coco17"]["to_ntu25"]["interpolated"]


def test_viz_imports_without_matplotlib_and_explains_the_extra(tmp_path, monkeypatch):
    code = "import sys, skelzoo.viz; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    from skelzoo.viz import _mpl

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(SkelzooError, match=r"pip install skelzoo\[plots\]"):
        _mpl.require()
