"""Real human motion: DeepMimic's retargeted motion-capture clips, as NTU-25 skeletons.

The `pybullet` wheel ships DeepMimic's humanoid motion clips (zlib licence, as pybullet itself):
``pybullet_data/data/motions/humanoid3d_*.txt``, one JSON file a clip, each frame a duration, the
root position and orientation and local joint rotations of a 15-link humanoid (the joint offsets
live in ``pybullet_data/humanoid/humanoid.urdf``). Forward kinematics turns them into joint
positions, which are then mapped onto the NTU-25 layout:

=====================  ===========================================================
NTU-25 joint           source (M = measured by the mocap skeleton, I = interpolated)
=====================  ===========================================================
spine_base             M  root (pelvis)
spine_mid              M  chest joint (lumbar)
spine_shoulder         M  neck joint (base of the neck)
neck                   I  1/3 of the way from the neck joint to the head centre
head                   M  head centre (the neck link's sphere)
shoulders/elbows       M  shoulder and elbow joints
wrists                 M  wrist joints
hands                  I  wrist + 8 cm along the forearm
hand tips              I  wrist + 16 cm along the forearm
thumbs                 I  midpoint of hand and hand tip
hips/knees/ankles      M  hip, knee and ankle joints
feet                   M  centre of the foot box
=====================  ===========================================================

`write_mocap_benchmark` then builds a small benchmark in the array format, preprocessed like
prepared NTU data (`skelzoo.data.synth.preprocess`), with simulated nuisance factors: subjects
(body scale and limb proportions, tempo, mirrored handedness), three camera views (-45, 0, +45
degrees, as NTU), crops and sensor noise. Every clip of a class comes from the same single
performance, so this set tests invariance to view, body and tempo on real human motion — not
generalisation across performers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.layouts import NTU25

URDF_SCALE = 0.25  # DeepMimic's humanoid.urdf is authored 4x; pybullet loads it with globalScaling=0.25
FPS = 30.0  # resample every clip to Kinect's 30 frames/s

# Joint offsets from the parent joint, in urdf units (x forward, y up, z to the character's right).
_OFFSETS = {
    "chest": (0.0, 0.944604, 0.0),
    "neck": (0.0, 0.895576, 0.0),
    "head": (0.0, 0.7, 0.0),
    "right_hip": (0.0, 0.0, 0.339548),
    "left_hip": (0.0, 0.0, -0.339548),
    "knee": (0.0, -1.686184, 0.0),
    "ankle": (0.0, -1.639480, 0.0),
    "foot": (0.18, -0.09, 0.0),
    "right_shoulder": (-0.0962, 0.974, 0.73244),
    "left_shoulder": (-0.0962, 0.974, -0.73244),
    "elbow": (0.0, -1.099152, 0.0),
    "wrist": (0.0, -1.035788, 0.0),
}

# Layout of one motion frame: duration, root position (3), then rotations in this order
# (quaternions w, x, y, z; knees and elbows are one angle about the local z axis).
_FRAME_FIELDS = (
    ("root_rot", 4), ("chest", 4), ("neck", 4),
    ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4), ("right_shoulder", 4), ("right_elbow", 1),
    ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4), ("left_shoulder", 4), ("left_elbow", 1),
)
FRAME_WIDTH = 1 + 3 + sum(n for _, n in _FRAME_FIELDS)

INTERPOLATED_JOINTS = ("neck", "left_hand", "right_hand", "left_hand_tip", "right_hand_tip", "left_thumb", "right_thumb")

MOTIONS = (
    "walk", "run", "jump", "kick", "spinkick", "punch", "backflip", "cartwheel",
    "crawl", "dance_a", "dance_b", "getup_facedown", "getup_faceup", "roll", "spin",
)


def motions_dir() -> Path:
    try:
        import pybullet_data
    except ImportError:
        raise SkelzooError(
            "the real motion-capture benchmark reads DeepMimic's clips from the pybullet wheel: "
            "pip install 'skelzoo[mocap]' (or pip install pybullet)."
        ) from None
    return Path(pybullet_data.getDataPath()) / "data" / "motions"


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(T, 4) unit quaternions (w, x, y, z) -> (T, 3, 3) rotation matrices."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def _rot_z(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(angle), np.ones_like(angle)
    return np.stack([np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)], -2)


@dataclass
class Motion:
    name: str
    frames: np.ndarray  # (T, FRAME_WIDTH) at the clip's own rate
    durations: np.ndarray  # (T,) seconds per frame
    loops: bool


def read_motion(path: str | Path) -> Motion:
    """Read one DeepMimic motion file, with clear errors for anything that is not one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        frames = np.asarray(doc["Frames"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SkelzooError(f"{path}: not a DeepMimic motion file ({err}).") from None
    if frames.ndim != 2 or frames.shape[1] != FRAME_WIDTH or len(frames) < 2:
        raise SkelzooError(f"{path}: expected frames of {FRAME_WIDTH} numbers (humanoid3d motion); got shape {frames.shape}.")
    if not np.isfinite(frames).all():
        raise SkelzooError(f"{path}: the motion holds NaN or inf values.")
    name = path.stem.removeprefix("humanoid3d_")
    return Motion(name, frames, frames[:, 0], doc.get("Loop", "none") == "wrap")


def _unpack(frames: np.ndarray) -> dict[str, np.ndarray]:
    out = {"root_pos": frames[:, 1:4]}
    col = 4
    for name, width in _FRAME_FIELDS:
        out[name] = frames[:, col : col + width]
        col += width
    return out


def forward_kinematics(frames: np.ndarray, scale: dict[str, float] | None = None) -> np.ndarray:
    """Joint positions (T, 25, 3) in metres, NTU-25 order, character frame (y up, x forward).

    `scale` multiplies bone groups ("torso", "arm", "leg", "head") for body-proportion variation.
    """
    s = {"torso": 1.0, "arm": 1.0, "leg": 1.0, "head": 1.0, **(scale or {})}
    f = _unpack(frames)

    def off(name: str, group: str) -> np.ndarray:
        return np.asarray(_OFFSETS[name]) * URDF_SCALE * s[group]

    def child(pos, rot, name, group):
        return pos + rot @ off(name, group)

    r_root = _quat_to_matrix(f["root_rot"])
    p_root = f["root_pos"]
    p_chest = child(p_root, r_root, "chest", "torso")
    r_chest = r_root @ _quat_to_matrix(f["chest"])
    p_neck = child(p_chest, r_chest, "neck", "torso")
    r_neck = r_chest @ _quat_to_matrix(f["neck"])
    p_head = child(p_neck, r_neck, "head", "head")

    joints = {"spine_base": p_root, "spine_mid": p_chest, "spine_shoulder": p_neck, "head": p_head,
              "neck": p_neck + (p_head - p_neck) / 3}
    for side in ("right", "left"):
        p_hip = child(p_root, r_root, f"{side}_hip", "torso")
        r_hip = r_root @ _quat_to_matrix(f[f"{side}_hip"])
        p_knee = child(p_hip, r_hip, "knee", "leg")
        r_knee = r_hip @ _rot_z(f[f"{side}_knee"][:, 0])
        p_ankle = child(p_knee, r_knee, "ankle", "leg")
        r_ankle = r_knee @ _quat_to_matrix(f[f"{side}_ankle"])
        p_foot = child(p_ankle, r_ankle, "foot", "leg")
        p_sh = child(p_chest, r_chest, f"{side}_shoulder", "torso")
        r_sh = r_chest @ _quat_to_matrix(f[f"{side}_shoulder"])
        p_el = child(p_sh, r_sh, "elbow", "arm")
        r_el = r_sh @ _rot_z(f[f"{side}_elbow"][:, 0])
        p_wr = child(p_el, r_el, "wrist", "arm")
        forearm = (p_wr - p_el) / np.linalg.norm(p_wr - p_el, axis=-1, keepdims=True)
        hand, tip = p_wr + 0.08 * s["arm"] * forearm, p_wr + 0.16 * s["arm"] * forearm
        joints.update({
            f"{side}_hip": p_hip, f"{side}_knee": p_knee, f"{side}_ankle": p_ankle, f"{side}_foot": p_foot,
            f"{side}_shoulder": p_sh, f"{side}_elbow": p_el, f"{side}_wrist": p_wr,
            f"{side}_hand": hand, f"{side}_hand_tip": tip, f"{side}_thumb": (hand + tip) / 2,
        })
    return np.stack([joints[name] for name in NTU25.joints], axis=1)


def resample_to_fps(motion: Motion, fps: float = FPS, speed: float = 1.0, repeats: int = 1) -> np.ndarray:
    """Frames resampled to `fps` at `speed`x tempo (linear; quaternions re-normalised in FK)."""
    frames = motion.frames
    if motion.loops and repeats > 1:
        # A looping clip repeats its joint rotations; the root keeps moving (offset by each loop's travel).
        travel = frames[-1, 1:4] - frames[0, 1:4]
        travel[1] = 0.0  # never accumulate height
        reps = []
        for i in range(repeats):
            rep = frames.copy()
            rep[:, 1:4] += i * travel
            reps.append(rep if i == 0 else rep[1:])
        frames = np.concatenate(reps)
    times = np.concatenate([[0.0], np.cumsum(np.resize(motion.durations, len(frames))[:-1])])
    new_t = np.arange(0.0, times[-1], speed / fps)
    out = np.empty((len(new_t), frames.shape[1]))
    for col in range(frames.shape[1]):
        out[:, col] = np.interp(new_t, times, frames[:, col])
    return out


# Character frame (x forward, y up, z right) -> Kinect camera frame for a subject facing the sensor
# (x to the subject's right as seen by the sensor, y up, z from the sensor towards the subject).
_CHAR_TO_CAMERA = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
_MIRROR = np.array([NTU25.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")) for n in NTU25.joints])

_NEVER_DROPPED = [NTU25.index(n) for n in ("spine_base", "spine_mid", "left_shoulder", "right_shoulder")]

VIEWS = {1: 0.0, 2: -45.0, 3: 45.0}  # camera id -> yaw of the subject relative to the sensor (degrees)


def _yaw(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])


def render_clip(
    joints: np.ndarray, view_deg: float, rng: np.random.Generator, noise: float = 0.01, drop_prob: float = 0.02
) -> np.ndarray:
    """Character-frame joints (T, V, 3) -> camera-frame joints seen from `view_deg`, with Kinect-like
    sensor noise and occasional dropped (zeroed) joints. Returns (T, V, 3)."""
    heading = joints[:1, 0].copy()
    heading[:, 1] = 0.0  # keep the floor height, centre the start position under the camera
    cam = (joints - heading) @ (_yaw(view_deg) @ _CHAR_TO_CAMERA).T
    cam = cam + np.array([rng.uniform(-0.3, 0.3), -0.9 + rng.uniform(-0.1, 0.1), 3.0 + rng.uniform(-0.4, 0.4)])
    cam = cam + rng.normal(0.0, noise, cam.shape)
    t, v, _ = cam.shape
    drops = rng.random((t, v)) < drop_prob
    drops[:, _NEVER_DROPPED] = False  # the preprocessing's reference joints (centre, rotation axes)
    cam[drops] = 0.0
    return cam


def build_mocap_set(seed: int = 0, subjects: int = 10, repetitions: int = 2, max_frames: int = 150) -> dict:
    """The benchmark's arrays in memory: data (N, 3, T, 25, 2), labels, num_frames, names, subject, view."""
    rng = np.random.default_rng(seed)
    mdir = motions_dir()
    motions = [read_motion(mdir / f"humanoid3d_{name}.txt") for name in MOTIONS]
    people = []
    for s in range(subjects):
        overall = rng.uniform(0.85, 1.15)
        people.append({
            "scale": {g: overall * rng.uniform(0.92, 1.08) for g in ("torso", "arm", "leg", "head")},
            "tempo": rng.uniform(0.8, 1.25),
            "mirror": s % 4 == 3,  # a left-handed/left-footed performer every fourth subject
        })
    clips, labels, frames, names, subj, views = [], [], [], [], [], []
    for label, motion in enumerate(motions):
        for s, person in enumerate(people):
            fr = resample_to_fps(motion, speed=person["tempo"] * rng.uniform(0.95, 1.05), repeats=3 if motion.loops else 1)
            joints = forward_kinematics(fr, person["scale"])
            if person["mirror"]:
                joints = joints[:, _MIRROR] * np.array([1.0, 1.0, -1.0])
            for cam_id, view in VIEWS.items():
                for rep in range(repetitions):
                    length = min(len(joints), max_frames, int(rng.integers(min(60, len(joints)), max_frames + 1)))
                    start = int(rng.integers(0, len(joints) - length + 1))
                    cam = render_clip(joints[start : start + length], view + rng.uniform(-5, 5), rng)
                    clip = np.zeros((3, max_frames, NTU25.num_joints, 2), np.float32)
                    clip[:, :length, :, 0] = cam.transpose(2, 0, 1)
                    clips.append(clip)
                    labels.append(label)
                    frames.append(length)
                    names.append(f"S001C{cam_id:03d}P{s + 1:03d}R{rep + 1:03d}A{label + 1:03d}")
                    subj.append(s + 1)
                    views.append(cam_id)
    from skelzoo.data.synth import preprocess  # the prepared-NTU preprocessing, batched

    frames = np.asarray(frames)
    return {
        "data": preprocess(np.stack(clips), frames), "labels": np.asarray(labels), "num_frames": frames,
        "names": names, "subject": np.asarray(subj), "view": np.asarray(views),
    }


def write_mocap_benchmark(out_dir: str | Path, seed: int = 0, subjects: int = 10, repetitions: int = 2) -> Path:
    """Write `<out>/xsub/` (odd subjects train) and `<out>/xview/` (cameras 2, 3 train) in the array format."""
    from skelzoo.data.writer import write_meta, write_split

    out = Path(out_dir)
    s = build_mocap_set(seed, subjects, repetitions)
    splits = {
        "xsub": s["subject"] % 2 == 1,
        "xview": np.isin(s["view"], (2, 3)),
    }
    for bench, train in splits.items():
        for split, mask in (("train", train), ("val", ~train)):
            idx = np.flatnonzero(mask)
            write_split(out / bench, split, s["data"][idx], s["labels"][idx], s["num_frames"][idx], [s["names"][i] for i in idx])
        write_meta(
            out / bench, dataset="deepmimic-mocap", benchmark=bench, layout="ntu25", num_classes=len(MOTIONS),
            class_names=list(MOTIONS), splits={"train": int(train.sum()), "val": int((~train).sum())},
            source="pybullet_data/data/motions (DeepMimic, zlib licence)", seed=seed,
            interpolated_joints=list(INTERPOLATED_JOINTS),
            note="each class is one mocap performance; subjects, views, tempo and noise are simulated",
        )
    return out
