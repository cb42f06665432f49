"""The real-motion benchmark: DeepMimic mocap -> NTU-25 (needs the optional pybullet wheel)."""

import json

import numpy as np
import pytest

pytest.importorskip("pybullet_data", reason="the mocap extra (pybullet) is not installed")

from skelzoo.data import mocap  # noqa: E402
from skelzoo.errors import SkelzooError  # noqa: E402
from skelzoo.layouts import NTU25  # noqa: E402


def test_every_listed_motion_reads_and_has_plausible_bones():
    for name in mocap.MOTIONS:
        motion = mocap.read_motion(mocap.motions_dir() / f"humanoid3d_{name}.txt")
        joints = mocap.forward_kinematics(mocap.resample_to_fps(motion))
        assert joints.shape[1:] == (25, 3) and np.isfinite(joints).all()
        for child, parent in NTU25.bones:
            length = np.linalg.norm(joints[:, child] - joints[:, parent], axis=-1)
            # rigid kinematics: every bone keeps its length; all bones shorter than 60 cm
            assert length.std() < 1e-6 and length.max() < 0.6, (name, NTU25.joints[child])


def test_standing_pose_is_upright_with_head_above_feet():
    walk = mocap.read_motion(mocap.motions_dir() / "humanoid3d_walk.txt")
    j = mocap.forward_kinematics(walk.frames[:1])[0]
    head, foot = j[NTU25.index("head"), 1], j[NTU25.index("left_foot"), 1]
    assert 1.3 < head - foot < 1.9  # a human-sized skeleton, y up
    assert j[NTU25.index("left_shoulder"), 2] < 0 < j[NTU25.index("right_shoulder"), 2]


def test_mirror_swaps_sides():
    assert NTU25.joints[mocap._MIRROR[NTU25.index("left_hand")]] == "right_hand"
    assert NTU25.joints[mocap._MIRROR[NTU25.index("head")]] == "head"


def test_benchmark_written_in_array_format(tmp_path):
    root = mocap.write_mocap_benchmark(tmp_path / "mocap", subjects=2, repetitions=1)
    for bench in ("xsub", "xview"):
        meta = json.loads((root / bench / "meta.json").read_text())
        assert meta["num_classes"] == len(mocap.MOTIONS) and meta["layout"] == "ntu25"
        data = np.load(root / bench / "train_data_joint.npy")
        frames = np.load(root / bench / "train_num_frame.npy")
        assert data.shape[1:] == (3, 150, 25, 2) and len(frames) == len(data) == meta["splits"]["train"]
        # padding beyond the valid frames is zero, the second body is absent
        assert not data[0, :, frames[0]:].any() and not data[..., 1].any()
    xview_val = json.loads((root / "xview" / "meta.json").read_text())["splits"]["val"]
    assert xview_val == len(mocap.MOTIONS) * 2  # camera 1 only: 15 classes x 2 subjects x 1 rep


def test_not_a_motion_file(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text('{"Frames": [[1, 2, 3]]}')
    with pytest.raises(SkelzooError, match="bad.txt"):
        mocap.read_motion(bad)
