"""The kinematic body model behind the synthetic action set: joint angles in, NTU-25 joints out.

A body is a tree of rigid bones whose lengths come from one subject's proportions; a pose is a set
of joint angles (the DOFs below). Forward kinematics turns angle trajectories of shape (B, T) into
joint positions (B, T, 25, 3) in one vectorised pass, so bones keep their lengths in every frame
and a motion primitive only has to say how angles change over time.

Body frame (before the body is placed in a scene): x = the subject's right, y = up, z = backwards
(the subject faces -z, i.e. towards a camera that looks along +z, as in Kinect's camera frame).
Angle conventions, all radians:
- ``sh_flex``: arm raised forwards (0 hanging, pi/2 horizontal forwards, pi overhead);
  ``sh_abd``: raised sideways (outwards); ``sh_horiz``: swung across the chest (horizontal
  adduction); ``sh_twist``: rotation about the upper arm (turns the plane the elbow bends in);
  ``elbow``: forearm flexion.
- ``hip_flex``: thigh forwards, ``hip_abd``: thigh outwards, ``knee``: shank flexion (backwards).
- ``trunk_flex``: bow forwards, ``trunk_lean``: lean towards the right, ``trunk_twist``: shoulders
  turned to the left (about the vertical), ``neck_flex``: head nod forwards.
- ``yaw``: whole-body turn to the left; ``root_fwd``/``root_side``: pelvis displacement forwards /
  to the right in the body frame; ``root_up``: extra height (jumps). Feet rest on the floor (y = 0)
  otherwise: the pelvis height is set each frame so the lowest foot touches it.
Left-side DOFs use the same conventions as the right, mirrored through the body's sagittal plane.
"""

from __future__ import annotations

import numpy as np

from skelzoo.layouts import NTU25

SIDES = ("r", "l")
ARM_DOFS = ("sh_flex", "sh_abd", "sh_horiz", "sh_twist", "elbow")
LEG_DOFS = ("hip_flex", "hip_abd", "knee")
DOFS = (
    "yaw", "root_fwd", "root_side", "root_up",
    "trunk_flex", "trunk_lean", "trunk_twist", "neck_flex",
    *(f"{d}_{s}" for s in SIDES for d in ARM_DOFS + LEG_DOFS),
)

# Segment lengths as fractions of body height (rounded anthropometric tables, e.g. Drillis &
# Contini), for Kinect's joint placement: spine_base is the pelvis centre, "hand" the palm.
SEGMENTS = {
    "spine_low": 0.160,   # spine_base -> spine_mid
    "spine_up": 0.130,    # spine_mid -> spine_shoulder
    "neck": 0.040,        # spine_shoulder -> neck
    "head": 0.070,        # neck -> head
    "shoulder_w": 0.100,  # spine_shoulder -> shoulder, sideways
    "upper_arm": 0.170,
    "forearm": 0.146,
    "hand": 0.040,        # wrist -> hand (palm centre)
    "hand_tip": 0.045,
    "thumb": 0.030,
    "hip_w": 0.052,       # spine_base -> hip, sideways
    "hip_drop": 0.030,    # spine_base -> hip, downwards
    "thigh": 0.245,
    "shank": 0.246,
    "foot": 0.070,        # ankle -> foot, forwards and down
}
SEGMENT_NAMES = tuple(SEGMENTS)

_J = {name: i for i, name in enumerate(NTU25.joints)}


def rest_pose(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """All DOFs at a relaxed standing pose: arms hanging slightly out, elbows slightly bent."""
    pose = {d: np.zeros(shape) for d in DOFS}
    for s in SIDES:
        pose[f"sh_abd_{s}"] += 0.12
        pose[f"elbow_{s}"] += 0.15
        pose[f"hip_abd_{s}"] += 0.04
        pose[f"knee_{s}"] += 0.03
    return pose


def _rot(a: np.ndarray, axis: int) -> np.ndarray:
    """Rotation matrices (..., 3, 3) by angles `a` (...) about coordinate axis 0, 1 or 2."""
    c, s = np.cos(a), np.sin(a)
    r = np.zeros((*np.shape(a), 3, 3), dtype=np.result_type(a, np.float32))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r[..., axis, axis] = 1.0
    r[..., i, i] = c
    r[..., j, j] = c
    r[..., i, j] = -s
    r[..., j, i] = s
    return r


def _rx(a: np.ndarray) -> np.ndarray:
    return _rot(a, 0)


def _ry(a: np.ndarray) -> np.ndarray:
    return _rot(a, 1)


def _rz(a: np.ndarray) -> np.ndarray:
    return _rot(a, 2)


rot_x, rot_y, rot_z = _rx, _ry, _rz


def _apply(r: np.ndarray, v) -> np.ndarray:
    """Rotate a constant vector (3,) or per-frame vectors (..., 3) by rotations (..., 3, 3)."""
    v = np.asarray(v, dtype=r.dtype)
    if v.ndim == 1:  # three fused multiply-adds beat a stacked matmul/einsum on 3x3 blocks
        return r[..., 0] * v[0] + r[..., 1] * v[1] + r[..., 2] * v[2]
    return (r * v[..., None, :]).sum(-1)


def _mirror(side: str) -> np.ndarray:
    """Left limbs reuse the right-side conventions reflected through the sagittal plane."""
    return np.diag([1.0, 1.0, 1.0]) if side == "r" else np.diag([-1.0, 1.0, 1.0])


# M R M for the reflection M = diag(-1, 1, 1) just flips the signs of these entries.
_MIRROR_SIGNS = np.outer([-1.0, 1.0, 1.0], [-1.0, 1.0, 1.0]).astype(np.float32)


def _mirrored(r: np.ndarray, side: str) -> np.ndarray:
    return r if side == "r" else r * _MIRROR_SIGNS


def forward_kinematics(pose: dict[str, np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """Joint positions (B, T, 25, 3) in metres from DOF trajectories (B, T) and lengths (B, 15).

    `lengths` holds metres per segment in :data:`SEGMENT_NAMES` order (see :func:`body_lengths`).
    The body stands on the floor plane y = 0 at the origin, before `yaw` and root displacement.
    """
    # float32 halves the memory traffic; its 1e-7 relative error is far below the sensor noise.
    pose = {k: np.asarray(v, dtype=np.float32) for k, v in pose.items()}
    lengths = np.asarray(lengths, dtype=np.float32)
    shape = pose["yaw"].shape
    seg = {name: lengths[:, i].reshape(-1, *([1] * (len(shape) - 1)), 1) for i, name in enumerate(SEGMENT_NAMES)}
    up, down, fwd = np.array([0.0, 1.0, 0.0]), np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, -1.0])
    joints = np.zeros((*shape, 25, 3), dtype=np.float32)

    r_yaw = _ry(pose["yaw"])
    # The lower spine takes part of the bend so a bow curves instead of hinging at the pelvis.
    r_low = r_yaw @ _rz(-0.4 * pose["trunk_lean"]) @ _rx(-0.4 * pose["trunk_flex"])
    r_up = (
        r_yaw @ _ry(pose["trunk_twist"]) @ _rz(-pose["trunk_lean"]) @ _rx(-pose["trunk_flex"])
    )
    r_head = r_up @ _rx(-pose["neck_flex"])

    base = np.zeros((*shape, 3), dtype=np.float32)
    mid = base + seg["spine_low"] * _apply(r_low, up)
    sh_c = mid + seg["spine_up"] * _apply(r_up, up)
    neck = sh_c + seg["neck"] * _apply(r_head, up)
    head = neck + seg["head"] * _apply(r_head, up)
    joints[..., _J["spine_base"], :] = base
    joints[..., _J["spine_mid"], :] = mid
    joints[..., _J["spine_shoulder"], :] = sh_c
    joints[..., _J["neck"], :] = neck
    joints[..., _J["head"], :] = head

    prefix = {"r": "right", "l": "left"}
    for s in SIDES:
        m = _mirror(s)
        p = prefix[s]
        # Arm: local rotations built in right-side convention, then mirrored (M R M) for the left.
        r_sh = (
            _rz(pose[f"sh_abd_{s}"]) @ _ry(pose[f"sh_horiz_{s}"])
            @ _rx(pose[f"sh_flex_{s}"]) @ _ry(pose[f"sh_twist_{s}"])
        )
        r_ua = r_up @ _mirrored(r_sh, s)
        r_fa = r_ua @ _mirrored(_rx(pose[f"elbow_{s}"]), s)
        shoulder = sh_c + seg["shoulder_w"] * _apply(r_up, m @ np.array([1.0, -0.12, 0.0]))
        elbow = shoulder + seg["upper_arm"] * _apply(r_ua, down)
        wrist = elbow + seg["forearm"] * _apply(r_fa, down)
        hand = wrist + seg["hand"] * _apply(r_fa, down)
        tip = hand + seg["hand_tip"] * _apply(r_fa, down)
        thumb_dir = m @ np.array([-0.55, -0.45, -0.7])
        thumb = hand + seg["thumb"] * _apply(r_fa, thumb_dir / np.linalg.norm(thumb_dir))
        joints[..., _J[f"{p}_shoulder"], :] = shoulder
        joints[..., _J[f"{p}_elbow"], :] = elbow
        joints[..., _J[f"{p}_wrist"], :] = wrist
        joints[..., _J[f"{p}_hand"], :] = hand
        joints[..., _J[f"{p}_hand_tip"], :] = tip
        joints[..., _J[f"{p}_thumb"], :] = thumb

        r_th = r_yaw @ _mirrored(_rz(pose[f"hip_abd_{s}"]) @ _rx(pose[f"hip_flex_{s}"]), s)
        r_sk = r_th @ _rx(-pose[f"knee_{s}"])
        hip = base + _apply(r_yaw, m @ np.array([1.0, 0.0, 0.0])) * seg["hip_w"] + _apply(r_yaw, down) * seg["hip_drop"]
        knee = hip + seg["thigh"] * _apply(r_th, down)
        ankle = knee + seg["shank"] * _apply(r_sk, down)
        # The foot stays level: it follows the body's heading but not the shank's pitch.
        foot = ankle + seg["foot"] * _apply(r_yaw, fwd * 0.9 + down * 0.45)
        joints[..., _J[f"{p}_hip"], :] = hip
        joints[..., _J[f"{p}_knee"], :] = knee
        joints[..., _J[f"{p}_ankle"], :] = ankle
        joints[..., _J[f"{p}_foot"], :] = foot

    # Stand on the floor: lift so the lowest foot joint is at y = 0, then add jumps.
    feet = joints[..., [_J["left_foot"], _J["right_foot"], _J["left_ankle"], _J["right_ankle"]], 1]
    lift = -feet.min(axis=-1) + pose["root_up"]
    # Keep the supporting foot planted: move the pelvis back/forth (in the body's heading) so the
    # lower ankle stays under the hips, as in a squat where the hips go back, not the feet forward.
    ankles = joints[..., [_J["left_ankle"], _J["right_ankle"]], :]
    heading_z = np.cos(pose["yaw"])[..., None] * ankles[..., 2] + np.sin(pose["yaw"])[..., None] * ankles[..., 0]
    low = ankles[..., 1]
    w = np.exp(-(low - low.min(axis=-1, keepdims=True)) / 0.03)
    planted = (w * heading_z).sum(-1) / w.sum(-1)
    offset = _apply(r_yaw, np.stack([pose["root_side"], np.zeros(shape), -pose["root_fwd"] - planted], -1))
    offset[..., 1] += lift
    return joints + offset[..., None, :]


def body_lengths(heights: np.ndarray, proportions: np.ndarray) -> np.ndarray:
    """Segment lengths (B, 15) in metres: height times the table above times per-subject factors."""
    base = np.array([SEGMENTS[n] for n in SEGMENT_NAMES])
    return heights[:, None] * base[None, :] * proportions
