"""The embedded synthetic action set: NTU-25 skeleton clips generated from a seed, in seconds.

skelzoo needs data that ships with it, so `skelzoo train` and the tests run without a download.
This module builds a small NTU RGB+D-like benchmark from a kinematic body model
(:mod:`skelzoo.data.synth_body`) driven by motion primitives (:mod:`skelzoo.data.synth_motion`):

- 15 classes (:data:`CLASS_NAMES`), 12 one-person and 3 two-person ones (body 2 present, NTU's
  M = 2; one-person clips have body 2 all zeros);
- subjects with their own height, proportions, tempo, amplitude, style and handedness;
- three cameras around the vertical axis, as NTU: C001 = 0° (frontal), C002 = +45°, C003 = -45°
  (positive = the subject's body turned to its left, seen from the camera), each at 2.5-3.5 m,
  at 0.7-1.2 m above the floor and tilted a little;
- clips of 40-150 valid frames (T = 150, zero padded, `num_frames` records the count) with idle
  lead-in/out, some starting mid-action or cut short, partial repetitions, time warps, idle sway,
  fidgets of the free hand, Kinect-like jitter and joints dropped to zero for a few frames.

Coordinates are built in the camera frame (metres, x right, y up, z depth) and then given the
same preprocessing as prepared real NTU data (:func:`preprocess`), so encoders see synthetic data
the way they see NTU. Splits follow NTU: cross-subject (:data:`TRAIN_SUBJECTS` train, the rest
test) and cross-view (cameras 2 and 3 train, camera 1 test). Names are NTU-style
``SsssCcccPpppRrrrAaaa`` (setup 1, camera = view, performer = subject, replication, action).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from skelzoo.data import synth_body as body
from skelzoo.data.synth_motion import ACTIONS, POSTURE_P, POSTURES, Motion, add_side, smoothstep
from skelzoo.data.writer import write_meta, write_split
from skelzoo.errors import SkelzooError, unknown
from skelzoo.layouts import NTU25

VERSION = 1
CLASS_NAMES: tuple[str, ...] = tuple(a.name for a in ACTIONS)
TWO_PERSON: tuple[int, ...] = tuple(i for i, a in enumerate(ACTIONS) if a.two_person)
FRAMES = 150
MIN_FRAMES = 40
FPS = 30.0
VIEW_ANGLES = {1: 0.0, 2: 45.0, 3: -45.0}  # camera id -> degrees
TRAIN_CAMERAS = (2, 3)
# Half of the 20 subjects; the first ten of NTU-60's cross-subject training performers.
TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16)
SIZES = {  # subjects, repetitions per (class, subject, camera)
    "default": (20, 2),
    "tiny": (4, 1),
}
BENCHMARKS = ("xsub", "xview")

_J = {name: i for i, name in enumerate(NTU25.joints)}
# Joints Kinect loses most often (hands and feet); the spine never drops, it centres the clip.
_DROPPABLE = np.array([_J[n] for n in (
    "left_hand", "right_hand", "left_hand_tip", "right_hand_tip", "left_thumb", "right_thumb",
    "left_wrist", "right_wrist", "left_foot", "right_foot", "left_ankle", "right_ankle",
    "left_elbow", "right_elbow", "head",
)])
_EXTREMITIES = np.array([_J[n] for n in (
    "left_hand", "right_hand", "left_hand_tip", "right_hand_tip", "left_thumb", "right_thumb",
    "left_foot", "right_foot",
)])


def _check_size(size: str) -> tuple[int, int]:
    if size not in SIZES:
        raise unknown("synthetic set size", size, SIZES)
    return SIZES[size]


def _subjects(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per-subject body and behaviour: everything a person keeps from one clip to the next."""
    return {
        "height": rng.uniform(1.52, 1.92, n),
        "proportions": np.clip(1.0 + rng.normal(0.0, 0.045, (n, len(body.SEGMENT_NAMES))), 0.88, 1.12),
        "tempo": rng.uniform(0.7, 1.4, n),
        "amp": rng.uniform(0.6, 1.25, n),
        "style": rng.uniform(0.0, 1.0, n),
        "left": rng.random(n) < 0.2,
        "facing": rng.normal(0.0, 0.12, n),
        # Resting posture: bent elbows, arms out, slouch, head down, stance width.
        "rest_elbow": rng.uniform(0.0, 0.35, n),
        "rest_abd": rng.uniform(-0.05, 0.15, n),
        "rest_trunk": rng.uniform(-0.08, 0.2, n),
        "rest_neck": rng.uniform(-0.1, 0.25, n),
        "rest_hip_abd": rng.uniform(0.0, 0.1, n),
        "sway": rng.uniform(0.5, 1.6, n),
    }


def _clips(num_subjects: int, reps: int) -> dict[str, np.ndarray]:
    """The clip table: one row per (class, subject, camera, repetition), in that nesting order."""
    grid = np.stack(np.meshgrid(
        np.arange(len(ACTIONS)), np.arange(num_subjects), np.array(sorted(VIEW_ANGLES)), np.arange(reps),
        indexing="ij",
    ), -1).reshape(-1, 4)
    return {"label": grid[:, 0], "subject": grid[:, 1] + 1, "camera": grid[:, 2], "rep": grid[:, 3] + 1}


def _base_pose(sub: dict[str, np.ndarray], s: np.ndarray, rng: np.random.Generator, t: np.ndarray) -> dict:
    """Rest posture of subjects `s` (B,) over frames `t` (T,), plus idle sway and breathing."""
    b = len(s)
    pose = body.rest_pose((b, len(t)))
    col = lambda x: x[s][:, None]  # noqa: E731
    for side in body.SIDES:
        pose[f"elbow_{side}"] += col(sub["rest_elbow"])
        pose[f"sh_abd_{side}"] += col(sub["rest_abd"])
        pose[f"hip_abd_{side}"] += col(sub["rest_hip_abd"])
    pose["trunk_flex"] += col(sub["rest_trunk"])
    pose["neck_flex"] += col(sub["rest_neck"])
    sway = col(sub["sway"])
    freq = rng.uniform(0.15, 0.5, (b, 4)) * 2 * np.pi / FPS
    phase = rng.uniform(0, 2 * np.pi, (b, 4))
    osc = np.sin(freq[:, :, None] * t[None, None, :] + phase[:, :, None])  # (B, 4, T)
    pose["trunk_lean"] += 0.025 * sway * osc[:, 0]
    pose["trunk_flex"] += 0.02 * sway * osc[:, 1]
    pose["root_side"] += 0.015 * sway * osc[:, 2]
    for side, sign in (("r", 1.0), ("l", -1.0)):
        pose[f"sh_flex_{side}"] += 0.05 * sway * sign * osc[:, 3]
    return pose


def _fidget(pose: dict, left: np.ndarray, u: np.ndarray, rng: np.random.Generator) -> None:
    """Half of the clips: the free hand does something unrelated (scratch, adjust, gesture)."""
    b = len(left)  # left: (B, 1) bool, the acting side
    on = (rng.random(b) < 0.5)[:, None]
    centre, width = rng.uniform(0.0, 1.0, (b, 1)), rng.uniform(0.12, 0.3, (b, 1))
    bump = np.exp(-0.5 * ((u - centre) / width) ** 2) * on
    for dof, lo, hi in (("sh_flex", 0.3, 1.3), ("elbow", 0.4, 1.8), ("sh_abd", -0.1, 0.5)):
        add_side(pose, dof, rng.uniform(lo, hi, (b, 1)) * bump, left, acting=False)


def _distract(p: dict, q: dict, m: Motion, lead: np.ndarray, dur: np.ndarray, label: int, rng: np.random.Generator) -> None:
    """40 % of clips also hold a faint, short bit of another one-person action before or after
    the real one (a half-started gesture, a stretch): classes overlap as in recorded data."""
    b = len(lead)
    others = [i for i, a in enumerate(ACTIONS) if not a.two_person and i != label]
    which = np.array(others)[rng.integers(0, len(others), b)]
    on = rng.random(b) < 0.4
    t = np.arange(FRAMES, dtype=np.float64)[None, :]
    length = rng.uniform(0.3, 0.6, b) * dur
    before = rng.random(b) < 0.5
    start = np.where(before, lead - 0.7 * length, lead + dur - 0.3 * length)
    u = np.clip((t - start[:, None]) / length[:, None], 0.0, 1.0)
    for d in np.unique(which[on]):
        rows = np.flatnonzero(on & (which == d))
        faint = Motion(
            u=u[rows], cycles=np.maximum(1.0, np.round(m.cycles[rows] * 0.5)),
            amp=m.amp[rows] * rng.uniform(0.3, 0.6, (len(rows), 1)),
            left=m.left[rows], style=m.style[rows], variant=m.variant[rows],
        )
        zero = {k: np.zeros_like(v[rows]) for k, v in p.items()}
        ACTIONS[d].primitive(zero, {}, faint)  # one-person primitives never touch body 2
        for k, delta in zero.items():
            p[k][rows] += delta * (0.5 if k in ("yaw", "root_up") else 1.0)  # no half-turns or hops


def _posture(pose: dict, left: np.ndarray, free: str, rng: np.random.Generator) -> None:
    """Rest the arms an action leaves free in a per-clip posture (hanging, on the hip, ...)."""
    b = len(left)
    k = rng.choice(len(POSTURES), size=(b, 2), p=POSTURE_P)
    k[:, 1] = np.where(rng.random(b) < 0.7, k[:, 0], k[:, 1])  # often both arms alike
    for slot, acting in ((0, False), (1, True)):
        if free == "none" or (free == "other" and acting):
            continue
        for j, offsets in enumerate(POSTURES):
            on = (k[:, slot] == j)[:, None]
            for dof, v in offsets.items():
                add_side(pose, dof, np.where(on, v, 0.0), left, acting=acting)


def _place(joints: np.ndarray, yaw: np.ndarray, pitch: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Scene -> camera frame: turn by the view yaw, move to the camera offset, tilt by pitch."""
    b, t, v, _ = joints.shape
    flat = joints.reshape(b, t * v, 3)
    # Row vectors: p' = p R^T + shift, then tilt; one batched matmul over all frames and joints.
    moved = flat @ body.rot_y(yaw).transpose(0, 2, 1).astype(flat.dtype) + shift[:, None, :].astype(flat.dtype)
    return (moved @ body.rot_x(pitch).transpose(0, 2, 1).astype(flat.dtype)).reshape(b, t, v, 3)


def generate(
    seed: int = 0,
    size: str = "default",
    noise: bool = True,
    preprocessing: bool = True,
) -> dict[str, np.ndarray]:
    """Generate the synthetic set in memory.

    Returns ``data`` (N, 3, T=150, 25, 2) float32, ``labels`` (N,) int64, ``num_frames`` (N,),
    ``names`` (N,) str, ``subject``/``camera``/``repetition`` (N,) int64, ``view`` (N,) the
    camera's angle in degrees, and ``class_names``. Same seed, same arrays, bit for bit. ``noise=False`` leaves out
    the sensor jitter and dropped joints (exact bone lengths); ``preprocessing=False`` keeps raw
    camera coordinates instead of :func:`preprocess`.
    """
    num_subjects, reps = _check_size(size)
    seq = np.random.SeedSequence([VERSION, int(seed)])
    sub_seq, clip_seq, noise_seq, *class_seqs = seq.spawn(3 + len(ACTIONS))
    sub = _subjects(np.random.default_rng(sub_seq), num_subjects)
    clips = _clips(num_subjects, reps)
    n = len(clips["label"])
    t = np.arange(FRAMES, dtype=np.float64)

    rng = np.random.default_rng(clip_seq)
    s = clips["subject"] - 1
    tempo = sub["tempo"][s] * rng.uniform(0.8, 1.25, n)
    dur = np.array([a.duration for a in ACTIONS])[clips["label"]] / tempo
    lead = rng.uniform(0.0, 65.0, n)
    mid_start = rng.random(n) < 0.2  # recording started after the action did
    lead = np.where(mid_start, -rng.uniform(0.05, 0.25, n) * dur, lead)
    tail = rng.uniform(0.0, 65.0, n)
    num_frames = np.clip(np.round(lead + dur + tail), MIN_FRAMES, FRAMES).astype(np.int64)
    warp = np.exp(rng.normal(0.0, 0.3, n))  # uneven speed within the action
    u = np.clip((t[None, :] - lead[:, None]) / dur[:, None], 0.0, 1.0) ** warp[:, None]
    rate_lo = np.array([a.rate[0] for a in ACTIONS])[clips["label"]]
    rate_hi = np.array([a.rate[1] for a in ACTIONS])[clips["label"]]
    periodic = np.array([a.periodic for a in ACTIONS])[clips["label"]]
    mix = 0.5 * sub["style"][s] + 0.5 * rng.random(n)
    rate = rate_lo + (rate_hi - rate_lo) * mix
    cycles = np.where(periodic, rate * dur / FPS, np.round(rate))
    amp = sub["amp"][s] * rng.uniform(0.85, 1.15, n)
    variant = rng.random(n)
    view_yaw = np.deg2rad(np.array([VIEW_ANGLES[c] for c in clips["camera"]])) + sub["facing"][s]
    view_yaw = view_yaw + rng.normal(0.0, 0.1, n)
    pitch = rng.uniform(-0.05, 0.15, n)
    shift = np.stack([rng.uniform(-0.3, 0.3, n), -rng.uniform(0.7, 1.2, n), rng.uniform(2.5, 3.5, n)], -1)
    gap = rng.uniform(1.15, 1.45, n)  # distance between partners' pelvises before they move

    joints = np.zeros((n, FRAMES, 2, 25, 3), dtype=np.float32)  # float32: far below the noise
    lengths = body.body_lengths(sub["height"], sub["proportions"])
    for c, action in enumerate(ACTIONS):
        idx = np.flatnonzero(clips["label"] == c)
        crng = np.random.default_rng(class_seqs[c])
        sc = s[idx]
        partner = (sc + 1) % num_subjects
        p = _base_pose(sub, sc, crng, t)
        q = _base_pose(sub, partner, crng, t)
        # A fifth of the time people use their other hand; and they drift round a little.
        left = (sub["left"][sc] ^ (crng.random(len(idx)) < 0.2))[:, None]
        drift = crng.normal(0.0, 0.45, (len(idx), 1)) * smoothstep(t[None, :] / num_frames[idx, None])
        p["yaw"] = p["yaw"] + drift
        q["yaw"] = q["yaw"] + drift * crng.uniform(-1.0, 1.0, (len(idx), 1))
        _posture(p, left, action.free_arms, crng)
        _fidget(p, left, u[idx], crng)
        motion = Motion(
            u=u[idx], cycles=cycles[idx, None], amp=amp[idx, None], left=left,
            style=np.clip(sub["style"][sc] + crng.normal(0.0, 0.2, len(idx)), 0.0, 1.0)[:, None],
            variant=variant[idx, None],
        )
        action.primitive(p, q, motion)
        _distract(p, q, motion, lead[idx], dur[idx], c, crng)
        if action.two_person:
            # Partners face each other across the scene's x axis, side-on to a frontal camera.
            p["yaw"] = p["yaw"] - np.pi / 2
            q["yaw"] = q["yaw"] + np.pi / 2
            j1 = body.forward_kinematics(p, lengths[sc])
            j2 = body.forward_kinematics(q, lengths[partner])
            half = np.stack([gap[idx] / 2, np.zeros(len(idx)), np.zeros(len(idx))], -1)[:, None, None, :]
            joints[idx, :, 0] = j1 - half
            joints[idx, :, 1] = j2 + half
        else:
            joints[idx, :, 0] = body.forward_kinematics(p, lengths[sc])

    for m in range(2):
        joints[:, :, m] = _place(joints[:, :, m], view_yaw, pitch, shift)
    present = np.zeros((n, 2), dtype=bool)
    present[:, 0] = True
    present[:, 1] = np.isin(clips["label"], TWO_PERSON)
    valid = t[None, :] < num_frames[:, None]  # (N, T)
    keep = valid[:, :, None, None, None] & present[:, None, :, None, None]

    if noise:
        nrng = np.random.default_rng(noise_seq)
        sigma = nrng.uniform(0.005, 0.02, n) * (shift[:, 2] / 3.0)  # jitter grows with depth
        scale = np.ones(25)
        scale[_EXTREMITIES] = 2.0  # hands and feet are the noisiest
        jitter = nrng.standard_normal(joints.shape, dtype=np.float32)
        joints += jitter * (sigma[:, None, None, None, None] * scale[None, None, None, :, None]).astype(np.float32)
        _glitches(nrng, joints, num_frames)
        keep = keep & ~_dropped(nrng, num_frames)[..., None]

    joints *= keep
    data = np.ascontiguousarray(joints.transpose(0, 4, 1, 3, 2))  # (N, C, T, V, M)
    if preprocessing:
        data = preprocess(data, num_frames)
    names = np.array([
        f"S001C{c:03d}P{p:03d}R{r:03d}A{a + 1:03d}"
        for c, p, r, a in zip(clips["camera"], clips["subject"], clips["rep"], clips["label"])
    ])
    return {
        "data": data,
        "labels": clips["label"].astype(np.int64),
        "num_frames": num_frames,
        "names": names,
        "subject": clips["subject"].astype(np.int64),
        "camera": clips["camera"].astype(np.int64),
        "repetition": clips["rep"].astype(np.int64),
        "view": np.array([VIEW_ANGLES[c] for c in clips["camera"]]),
        "class_names": np.array(CLASS_NAMES),
    }


_LIMBS = tuple(np.array([_J[j] for j in names]) for names in (
    ("left_wrist", "left_hand", "left_hand_tip", "left_thumb"),
    ("right_wrist", "right_hand", "right_hand_tip", "right_thumb"),
    ("left_ankle", "left_foot"), ("right_ankle", "right_foot"),
))


def _glitches(rng: np.random.Generator, joints: np.ndarray, num_frames: np.ndarray) -> None:
    """In 30 % of the clips a hand or foot is tracked 5-15 cm off for 5-20 frames (Kinect latching
    onto the wrong blob), the way real tracking goes wrong. Adds to `joints` (N, T, M, V, 3)."""
    n = len(num_frames)
    on = rng.random(n) < 0.3
    start = (rng.random(n) * num_frames).astype(np.int64)
    length = rng.integers(5, 21, n)
    limb = rng.integers(0, len(_LIMBS), n)
    body_mask = np.arange(2)[None, :] == rng.integers(0, 2, n)[:, None]  # (N, M)
    limb_mask = np.zeros((n, 25), dtype=bool)
    for k, idx in enumerate(_LIMBS):
        limb_mask[np.ix_(limb == k, idx)] = True
    direction = rng.normal(0.0, 1.0, (n, 3))
    offset = direction / np.linalg.norm(direction, axis=1, keepdims=True) * rng.uniform(0.05, 0.15, (n, 1))
    t = np.arange(FRAMES)
    when = on[:, None] & (t[None, :] >= start[:, None]) & (t[None, :] < (start + length)[:, None])  # (N, T)
    hit = np.nonzero(when[:, :, None, None] & body_mask[:, None, :, None] & limb_mask[:, None, None, :])
    joints[hit] += offset[hit[0]].astype(joints.dtype)


def _dropped(rng: np.random.Generator, num_frames: np.ndarray) -> np.ndarray:
    """(N, T, M, V) mask of joints Kinect lost: up to 3 short dropouts in 40 % of the clips."""
    n, events = len(num_frames), 3
    active = (rng.random((n, events)) < 0.4) & (np.arange(events)[None, :] < rng.integers(1, events + 1, (n, 1)))
    start = (rng.random((n, events)) * num_frames[:, None]).astype(np.int64)
    length = rng.integers(2, 9, (n, events))
    joint = _DROPPABLE[rng.integers(0, len(_DROPPABLE), (n, events))]
    bodies = rng.integers(0, 2, (n, events))
    t = np.arange(FRAMES)
    in_time = (t[None, None, :] >= start[..., None]) & (t[None, None, :] < (start + length)[..., None]) & active[..., None]
    mask = np.zeros((n, FRAMES, 2, 25), dtype=bool)
    for e in range(events):  # three events, each fully vectorised over clips and frames
        onehot = (np.arange(2)[None, :, None] == bodies[:, e, None, None]) & (np.arange(25)[None, None, :] == joint[:, e, None, None])
        mask |= in_time[:, e, :, None, None] & onehot[:, None, :, :]
    return mask


def preprocess(data: np.ndarray, num_frames: np.ndarray) -> np.ndarray:
    """Give camera-frame clips (N, C, T, V, M) the preprocessing of prepared NTU data, batched.

    The same steps as the NTU/PKU readers (:func:`skelzoo.io.preprocess.select_bodies` then
    :func:`~skelzoo.io.preprocess.reference_preprocess`; a test checks they agree): bodies ordered
    by their spread (so in a push either partner may be body 1); every present joint centred on
    body 1's spine_mid of the same frame; the clip rotated into body 1's first-frame body frame
    (z = hip->spine, x = right->left shoulder); missing joints and padding frames left at zero.
    The denoising half of `select_bodies` is left out: synthetic tracks have no spurious bodies.
    The rotation takes most of the camera angle out, as it does on NTU, so the cross-view split is
    about what remains (facing jitter, noise, dropped joints) - as on the real data.
    """
    # Works in the (N, C, T, V, M) layout throughout: no transposed copies of a 160 MB array.
    x = np.array(data, dtype=np.float32, copy=True)
    n, _, t, v, m = x.shape
    valid = np.arange(t)[None, :] < np.asarray(num_frames)[:, None]  # (N, T)
    x *= valid[:, None, :, None, None]
    present = np.any(x != 0, axis=1)  # (N, T, V, M)
    # Spread: per body, sum over coordinates of the std of its joints over the frames it is in.
    # Absent frames are all zero, so plain sums over (T, V) hold the moments of the present ones.
    count = np.maximum(present.any(axis=2).sum(axis=1) * v, 1)  # (N, M)
    mean = x.sum(axis=(2, 3), dtype=np.float64) / count[:, None, :]  # (N, C, M)
    var = np.maximum(np.square(x, dtype=np.float64).sum(axis=(2, 3)) / count[:, None, :] - mean**2, 0.0)
    spread = np.sqrt(var).sum(axis=1)  # (N, M)
    swap = spread[:, 1] > spread[:, 0]
    x[swap] = x[swap][..., ::-1]
    present[swap] = present[swap][..., ::-1]
    x -= x[:, :, :, 1:2, 0:1]  # body 1's spine_mid is in every valid frame of a synthetic clip
    x *= present[:, None]
    first = x[:, :, 0, :, 0].astype(np.float64)  # (N, C, V): the first frame, centred
    z = first[:, :, 1] - first[:, :, 0]
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    across = first[:, :, 4] - first[:, :, 8]
    across -= (across * z).sum(-1, keepdims=True) * z
    xa = across / np.linalg.norm(across, axis=-1, keepdims=True)
    rot = np.stack([xa, np.cross(z, xa), z], axis=1).astype(np.float32)  # rows = the new axes
    x = (rot @ x.reshape(n, 3, -1)).reshape(x.shape)
    x *= present[:, None]
    return x


def split_indices(arrays: dict[str, np.ndarray], benchmark: str) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) clip indices of `benchmark` ('xsub' or 'xview')."""
    if benchmark == "xsub":
        train = np.isin(arrays["subject"], TRAIN_SUBJECTS)
    elif benchmark == "xview":
        train = np.isin(arrays["camera"], TRAIN_CAMERAS)
    else:
        raise unknown("synthetic benchmark", benchmark, BENCHMARKS)
    return np.flatnonzero(train), np.flatnonzero(~train)


def write_synthetic(out_dir: str | Path, seed: int = 0, size: str = "default") -> Path:
    """Write ``<out_dir>/xsub/`` and ``<out_dir>/xview/`` in the array format; returns `out_dir`."""
    _check_size(size)
    out = Path(out_dir)
    arrays = generate(seed=seed, size=size)
    for bench in BENCHMARKS:
        train, test = split_indices(arrays, bench)
        d = out / bench
        for split, idx in (("train", train), ("val", test)):
            write_split(d, split, arrays["data"][idx], arrays["labels"][idx], arrays["num_frames"][idx], arrays["names"][idx])
        write_meta(
            d, dataset="synth", benchmark=bench, layout="ntu25", num_classes=len(CLASS_NAMES),
            class_names=list(CLASS_NAMES), splits={"train": int(len(train)), "val": int(len(test))},
            source=f"skelzoo synthetic v{VERSION}, seed {seed}, size {size}",
            synth={"version": VERSION, "seed": int(seed), "size": size, "frames": FRAMES,
                   "view_angles": {f"C{c:03d}": a for c, a in VIEW_ANGLES.items()},
                   "train_cameras": list(TRAIN_CAMERAS), "train_subjects": [s for s in TRAIN_SUBJECTS if s <= SIZES[size][0]],
                   "two_person_classes": [CLASS_NAMES[i] for i in TWO_PERSON]},
        )
    return out


def cache_root() -> Path:
    return Path(os.environ.get("SKELZOO_CACHE") or Path.home() / ".cache" / "skelzoo")


def _complete(path: Path) -> bool:
    return all((path / b / "meta.json").is_file() for b in BENCHMARKS)


def default_synth_dir(seed: int = 0, size: str = "default") -> Path:
    """The synthetic set under $SKELZOO_CACHE (default ~/.cache/skelzoo), generated on first use.

    Written to a temporary sibling and renamed into place, so a crash or a concurrent caller never
    leaves a half-written set behind. Returns the directory holding ``xsub/`` and ``xview/``.
    """
    _check_size(size)
    root = cache_root()
    final = root / f"synth-v{VERSION}-{size}-seed{int(seed)}"
    if _complete(final):
        return final
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    except OSError as err:
        raise SkelzooError(f"cannot write the synthetic set cache under {root}: {err}. Set SKELZOO_CACHE to a writable directory.") from None
    try:
        write_synthetic(tmp, seed=seed, size=size)
        if final.exists() and not _complete(final):
            shutil.rmtree(final, ignore_errors=True)  # left by an older, interrupted layout
        try:
            os.rename(tmp, final)
        except OSError:
            if not _complete(final):  # lost a race only if the winner finished
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


# ---- difficulty check ---------------------------------------------------------------------------

def center_crop_np(data: np.ndarray, num_frames: np.ndarray, ratio: float = 0.95, out_frames: int = 64) -> np.ndarray:
    """The evaluation crop in numpy: centre `ratio` of the valid frames, linearly resized.

    (N, C, T, V, M) -> (N, C, out_frames, V, M); the same crop `skelzoo.augment.center_crop` applies.
    """
    n = np.maximum(np.asarray(num_frames, dtype=np.int64), 1)
    length = np.maximum(np.floor(n * ratio).astype(np.int64), 1)
    start = (n - length) // 2
    pos = start[:, None] + np.linspace(0.0, 1.0, out_frames)[None, :] * (length - 1)[:, None]
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n[:, None] - 1)
    frac = (pos - lo)[:, None, :, None, None]
    rows = np.arange(len(n))[:, None]
    x = np.asarray(data)
    a = x[rows, :, lo].transpose(0, 2, 1, 3, 4)  # fancy indexing puts the frame axis second
    b = x[rows, :, hi].transpose(0, 2, 1, 3, 4)
    return (a * (1.0 - frac) + b * frac).astype(np.float32)


def _read_labels(path: Path) -> np.ndarray:
    try:
        from skelzoo.io.safe_pickle import safe_load
    except ImportError:  # until the shared restricted unpickler lands: allow no globals at all
        import pickle

        class _Plain(pickle.Unpickler):
            def find_class(self, module, name):
                raise SkelzooError(f"{path}: refusing to unpickle {module}.{name}; expected (names, labels) lists.")

        with open(path, "rb") as fh:
            obj = _Plain(fh).load()
    else:
        obj = safe_load(path)
    return np.asarray(obj[1], dtype=np.int64)


def _features(d: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(d / f"{split}_data_joint.npy", mmap_mode="r")
    frames = np.load(d / f"{split}_num_frame.npy")
    x = center_crop_np(data, frames).reshape(len(frames), -1)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
    return x, _read_labels(d / f"{split}_label.pkl")


def raw_knn_baseline(bench_dir: str | Path) -> dict[str, float]:
    """Raw-joint baselines on one benchmark dir: what an encoder must beat to have learnt anything.

    Features are the flattened joints after the evaluation crop (95 %, 64 frames), L2-normalised.
    Returns ``knn1_top1`` (1-NN by cosine, train gallery, test queries), ``ncm_top1`` (nearest
    class mean by cosine) and ``chance`` (1 / classes), in percent.
    """
    d = Path(bench_dir)
    missing = [f for f in ("train_data_joint.npy", "val_data_joint.npy") if not (d / f).is_file()]
    if missing:
        raise SkelzooError(f"{d}: no {', '.join(missing)}; pass a benchmark directory such as <synth>/xsub.")
    xtr, ytr = _features(d, "train")
    xte, yte = _features(d, "val")
    knn = ytr[np.argmax(xte @ xtr.T, axis=1)]
    classes = np.unique(ytr)
    means = np.stack([xtr[ytr == c].mean(0) for c in classes])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-8)
    ncm = classes[np.argmax(xte @ means.T, axis=1)]
    return {
        "knn1_top1": float(100.0 * np.mean(knn == yte)),
        "ncm_top1": float(100.0 * np.mean(ncm == yte)),
        "chance": float(100.0 / max(len(classes), 1)),
    }
