"""Motion primitives of the synthetic action set: each action class is a set of joint-angle tracks.

A primitive gets a :class:`Motion` context for all clips of its class at once (progress `u` in
[0, 1] through the action for every frame, the clip's cycle count, amplitude, handedness, style)
and adds angle offsets to the DOF trajectories of body 1 (and body 2 for two-person actions); see
:mod:`skelzoo.data.synth_body` for the angle conventions. Everything is (B, T) numpy arithmetic,
no per-frame or per-clip Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Pose = dict[str, np.ndarray]


@dataclass
class Motion:
    u: np.ndarray        # (B, T) progress through the action, 0 before it starts, 1 after it ends
    cycles: np.ndarray   # (B, 1) repetitions of periodic actions (may be fractional: partial ones)
    amp: np.ndarray      # (B, 1) amplitude factor (subject x clip)
    left: np.ndarray     # (B, 1) bool, the acting hand/foot is the left one
    style: np.ndarray    # (B, 1) in [0, 1]: a per-subject way of doing things (forward vs sideways…)
    variant: np.ndarray  # (B, 1) in [0, 1]: a per-clip variation (target height, turn direction…)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def plateau(u: np.ndarray, rise: float = 0.2, fall: float = 0.2) -> np.ndarray:
    """0 -> 1 over the first `rise` of the action, hold, 1 -> 0 over the last `fall`."""
    return smoothstep(u / rise) * smoothstep((1.0 - u) / fall)


def keys(u: np.ndarray, knots, values) -> np.ndarray:
    """Smooth (ease-in/out) interpolation of a key-framed track over progress u (B, T).

    `values` are numbers or per-clip (B, 1) arrays (a target that differs from clip to clip).
    """
    knots = np.asarray(knots, float)
    vals = np.stack([np.broadcast_to(np.asarray(v, float), (u.shape[0], 1))[:, 0] for v in values], 1)
    i = np.clip(np.searchsorted(knots, u, side="right") - 1, 0, len(knots) - 2)
    f = smoothstep((u - knots[i]) / (knots[i + 1] - knots[i]))
    v0 = np.take_along_axis(vals, i, axis=1)
    v1 = np.take_along_axis(vals, i + 1, axis=1)
    return v0 + (v1 - v0) * f


def cyclic(m: Motion) -> np.ndarray:
    """Phase 2*pi*cycles*u of a periodic action."""
    return 2.0 * np.pi * m.cycles * m.u


def add_side(pose: Pose, dof: str, value: np.ndarray, left: np.ndarray, acting: bool = True) -> None:
    """Add to the acting (dominant) side's DOF, or with `acting=False` to the other side's."""
    on_left = left if acting else ~left
    pose[f"{dof}_l"] = pose[f"{dof}_l"] + np.where(on_left, value, 0.0)
    pose[f"{dof}_r"] = pose[f"{dof}_r"] + np.where(on_left, 0.0, value)


def add_both(pose: Pose, dof: str, value: np.ndarray) -> None:
    pose[f"{dof}_l"] = pose[f"{dof}_l"] + value
    pose[f"{dof}_r"] = pose[f"{dof}_r"] + value


def _twist_sign(m: Motion) -> np.ndarray:
    # Positive trunk twist brings the right shoulder forwards: a right-handed strike twists +.
    return np.where(m.left, -1.0, 1.0)


# ---- one-person actions -------------------------------------------------------------------------

def wave(p: Pose, q: Pose, m: Motion) -> None:
    env = plateau(m.u, 0.22, 0.22)
    height = 1.2 + 0.6 * m.variant  # hand at the face ... well above the head
    add_side(p, "sh_abd", m.amp * height * env * (1.0 - 0.6 * m.style), m.left)
    add_side(p, "sh_flex", (0.35 + 0.9 * m.style) * env, m.left)
    add_side(p, "sh_twist", -1.45 * env, m.left)  # elbow bends upwards, in the frontal plane
    add_side(p, "elbow", env * (1.2 + 0.38 * m.amp * np.sin(cyclic(m))), m.left)


def arm_raise(p: Pose, q: Pose, m: Motion) -> None:
    # One or two raises (partial repetitions), forwards or sideways depending on the subject.
    lift = np.sin(np.pi * np.clip(m.u, 0, 1) * np.round(m.cycles)) ** 2
    lift = np.where(np.round(m.cycles) == 1, plateau(m.u, 0.35, 0.35), lift)
    a = m.amp * (2.3 + 0.5 * m.variant) * lift
    add_both(p, "sh_flex", a * (1.0 - m.style))
    add_both(p, "sh_abd", a * m.style)
    add_both(p, "elbow", -0.1 * lift)


def clap(p: Pose, q: Pose, m: Motion) -> None:
    env = plateau(m.u, 0.2, 0.2)
    add_both(p, "sh_flex", (0.9 + 0.5 * m.variant) * env)
    add_both(p, "elbow", 1.0 * env)
    add_both(p, "sh_abd", -0.12 * env)
    add_both(p, "sh_horiz", env * (0.45 + 0.3 * m.amp * np.cos(cyclic(m))))


def punch(p: Pose, q: Pose, m: Motion) -> None:
    env = plateau(m.u, 0.2, 0.2)
    strike = np.maximum(0.0, np.sin(cyclic(m))) ** 3 * env
    add_side(p, "sh_flex", 1.05 * env + 0.5 * m.amp * strike, m.left)
    add_side(p, "elbow", 1.9 * env - 1.85 * strike, m.left)
    add_side(p, "sh_horiz", 0.35 * env - 0.1 * strike, m.left)
    add_side(p, "sh_flex", 1.0 * env * m.style, m.left, acting=False)  # guard up, or not
    add_side(p, "elbow", 1.8 * env * m.style, m.left, acting=False)
    p["trunk_twist"] = p["trunk_twist"] + _twist_sign(m) * (0.3 * strike - 0.1 * env)


def throw(p: Pose, q: Pose, m: Motion) -> None:
    k = [0.0, 0.4, 0.55, 0.7, 1.0]
    add_side(p, "sh_abd", m.amp * keys(m.u, k, [0, 1.45, 0.9, 0.35, 0]), m.left)
    add_side(p, "sh_twist", keys(m.u, k, [0, -1.5, -0.8, 0.0, 0]), m.left)
    add_side(p, "elbow", keys(m.u, k, [0, 1.7, 0.6, 0.1, 0]), m.left)
    add_side(p, "sh_flex", m.amp * keys(m.u, k, [0, 0.4, 1.4, 1.3, 0]), m.left)
    p["trunk_twist"] = p["trunk_twist"] + _twist_sign(m) * keys(m.u, k, [0, -0.4, 0.1, 0.35, 0])
    p["trunk_flex"] = p["trunk_flex"] + keys(m.u, k, [0, -0.1, 0.15, 0.3, 0])
    add_side(p, "hip_flex", keys(m.u, k, [0, 0.35, 0.3, 0.1, 0]) * m.style, m.left, acting=False)


def kick(p: Pose, q: Pose, m: Motion) -> None:
    k = [0.0, 0.25, 0.45, 0.6, 0.85, 1.0]
    add_side(p, "hip_flex", m.amp * keys(m.u, k, [0, 0.7, 1.25 + 0.3 * m.variant, 1.0, 0.2, 0]), m.left)
    add_side(p, "knee", keys(m.u, k, [0, 1.4, 0.2, 1.2, 0.4, 0]), m.left)
    p["trunk_flex"] = p["trunk_flex"] + keys(m.u, k, [0, 0, -0.2, -0.1, 0, 0])
    add_both(p, "sh_abd", keys(m.u, k, [0, 0.2, 0.4, 0.3, 0.1, 0]))


def squat(p: Pose, q: Pose, m: Motion) -> None:
    reps = np.maximum(1.0, np.round(m.cycles))
    d = m.amp * np.sin(np.pi * reps * np.clip(m.u, 0, 1)) ** 2
    add_both(p, "hip_flex", 1.5 * d)
    add_both(p, "knee", 1.9 * d)
    p["trunk_flex"] = p["trunk_flex"] + 0.5 * d
    add_both(p, "sh_flex", 1.3 * d * m.style)  # arms forwards for balance, for some subjects


def jump(p: Pose, q: Pose, m: Motion) -> None:
    reps = np.maximum(1.0, np.round(m.cycles))
    ph = np.where((m.u > 0) & (m.u < 1), (reps * m.u) % 1.0, 0.0)
    k = [0.0, 0.3, 0.45, 0.65, 0.85, 1.0]
    add_both(p, "hip_flex", keys(ph, k, [0, 0.75, 0.05, 0.2, 0.65, 0]))
    add_both(p, "knee", keys(ph, k, [0, 1.05, 0.02, 0.3, 0.95, 0]))
    p["trunk_flex"] = p["trunk_flex"] + keys(ph, k, [0, 0.35, 0.0, 0.05, 0.3, 0])
    add_both(p, "sh_flex", keys(ph, k, [0, -0.5, 1.4, 1.8, 0.3, 0]) * (0.5 + 0.5 * m.style))
    x = np.clip((ph - 0.45) / 0.4, 0.0, 1.0)
    p["root_up"] = p["root_up"] + m.amp * (0.12 + 0.15 * m.variant) * 4 * x * (1 - x)


def bow(p: Pose, q: Pose, m: Motion) -> None:
    b = m.amp * keys(m.u, [0, 0.35, 0.6, 1.0], [0, 0.75 + 0.3 * m.variant, 0.75 + 0.3 * m.variant, 0])
    p["trunk_flex"] = p["trunk_flex"] + b
    p["neck_flex"] = p["neck_flex"] + 0.3 * b
    add_both(p, "sh_flex", 0.9 * b)  # arms hang down instead of turning with the trunk
    add_both(p, "knee", 0.1 * b)


def march(p: Pose, q: Pose, m: Motion) -> None:
    env = plateau(m.u, 0.15, 0.15)
    s = np.sin(cyclic(m))
    lift_r, lift_l = np.maximum(0, s) ** 1.5 * env, np.maximum(0, -s) ** 1.5 * env
    a = m.amp * (0.7 + 0.5 * m.variant)
    for side, lift, arm in (("r", lift_r, -s), ("l", lift_l, s)):
        p[f"hip_flex_{side}"] = p[f"hip_flex_{side}"] + a * lift
        p[f"knee_{side}"] = p[f"knee_{side}"] + 1.6 * a * lift
        p[f"sh_flex_{side}"] = p[f"sh_flex_{side}"] + 0.45 * m.style * arm * env
        p[f"elbow_{side}"] = p[f"elbow_{side}"] + 0.5 * env


def turn(p: Pose, q: Pose, m: Motion) -> None:
    direction = np.where(m.variant > 0.5, 1.0, -1.0)  # left or right about
    p["yaw"] = p["yaw"] + direction * m.amp * (1.3 + 1.8 * m.style) * smoothstep(m.u)  # a quarter to a half turn
    env = np.sin(np.pi * np.clip(m.u, 0, 1)) ** 2
    s = np.sin(2 * np.pi * 2.0 * m.u)  # small steps while turning
    p["hip_flex_r"] = p["hip_flex_r"] + 0.4 * np.maximum(0, s) * env
    p["knee_r"] = p["knee_r"] + 0.6 * np.maximum(0, s) * env
    p["hip_flex_l"] = p["hip_flex_l"] + 0.4 * np.maximum(0, -s) * env
    p["knee_l"] = p["knee_l"] + 0.6 * np.maximum(0, -s) * env


def reach(p: Pose, q: Pose, m: Motion) -> None:
    r = keys(m.u, [0, 0.4, 0.65, 1.0], [0, 1, 1, 0])
    add_side(p, "sh_flex", m.amp * (1.3 + 1.1 * m.variant) * r, m.left)
    add_side(p, "sh_horiz", (0.5 * m.style - 0.2) * r, m.left)
    add_side(p, "elbow", -0.12 * r, m.left)
    p["trunk_flex"] = p["trunk_flex"] + 0.25 * r * (1.0 - m.variant)
    p["root_up"] = p["root_up"] + 0.04 * r * m.variant  # on tiptoe for high targets


# ---- two-person actions (body 1 acts, body 2 is the partner facing it) ------------------------

def handshake(p: Pose, q: Pose, m: Motion) -> None:
    env = plateau(m.u, 0.3, 0.25)
    shake = 0.12 * np.sin(cyclic(m)) * smoothstep((m.u - 0.3) / 0.1) * env
    for body in (p, q):  # handshakes are right-handed whatever the subject's hand
        body["root_fwd"] = body["root_fwd"] + 0.18 * env
        body["sh_flex_r"] = body["sh_flex_r"] + 0.85 * env + shake
        body["sh_horiz_r"] = body["sh_horiz_r"] + 0.2 * env
        body["elbow_r"] = body["elbow_r"] + 0.45 * env - shake
        body["trunk_flex"] = body["trunk_flex"] + 0.08 * env


def push(p: Pose, q: Pose, m: Motion) -> None:
    k = [0.0, 0.35, 0.55, 0.8, 1.0]
    add_both(p, "sh_flex", m.amp * keys(m.u, k, [0, 1.3, 1.5, 1.2, 0]))
    add_both(p, "elbow", keys(m.u, k, [0, 1.5, 0.15, 0.4, 0]))
    p["root_fwd"] = p["root_fwd"] + keys(m.u, k, [0, 0.25, 0.4, 0.4, 0.35])
    p["trunk_flex"] = p["trunk_flex"] + keys(m.u, k, [0, 0.15, 0.35, 0.15, 0])
    q["root_fwd"] = q["root_fwd"] - m.amp * keys(m.u, k, [0, 0, 0.1, 0.4, 0.45])
    q["trunk_flex"] = q["trunk_flex"] + keys(m.u, k, [0, 0, -0.35, -0.1, 0])
    add_both(q, "sh_abd", keys(m.u, k, [0, 0, 0.6, 0.3, 0]))
    q["hip_flex_l"] = q["hip_flex_l"] + keys(m.u, k, [0, 0, 0, -0.35, 0])


def hug(p: Pose, q: Pose, m: Motion) -> None:
    h = keys(m.u, [0, 0.35, 0.7, 1.0], [0, 1, 1, 0])
    for body, hi in ((p, 0.2), (q, -0.2)):  # one wraps above the partner's arms, one below
        body["root_fwd"] = body["root_fwd"] + 0.3 * h
        add_both(body, "sh_flex", (1.25 + hi) * h * m.amp)
        add_both(body, "sh_abd", 0.5 * h)
        add_both(body, "sh_horiz", 0.75 * h)
        add_both(body, "elbow", 1.2 * h)
        body["trunk_flex"] = body["trunk_flex"] + 0.12 * h
        body["neck_flex"] = body["neck_flex"] + 0.2 * h


# Where the arms rest when the action leaves them free: hanging, hand on the hip, across the
# chest, behind the back (DOF offsets, right-side convention; probabilities in POSTURE_P).
POSTURES = (
    {},
    {"sh_abd": 0.55, "sh_flex": -0.2, "sh_twist": 1.4, "elbow": 1.6},
    {"sh_flex": 0.6, "sh_horiz": 0.6, "sh_twist": 0.3, "elbow": 1.9},
    {"sh_flex": -0.45, "sh_twist": 1.2, "elbow": 1.0},
)
POSTURE_P = (0.4, 0.2, 0.2, 0.2)


@dataclass(frozen=True)
class ActionClass:
    name: str
    primitive: Callable[[Pose, Pose, Motion], None]
    duration: float              # frames at 30 fps for an average subject
    rate: tuple[float, float]    # cycles per second for periodic actions (else repetitions range)
    free_arms: str = "none"      # arms the action leaves free: "none", "other" (not acting), "both"
    two_person: bool = False
    periodic: bool = False


ACTIONS: tuple[ActionClass, ...] = (
    ActionClass("wave", wave, 75, (1.3, 2.4), "other", periodic=True),
    ActionClass("arm raise", arm_raise, 75, (1, 2)),
    ActionClass("clap", clap, 70, (1.8, 3.0), periodic=True),
    ActionClass("punch", punch, 65, (0.7, 1.6), "other", periodic=True),
    ActionClass("throw", throw, 55, (1, 1), "other"),
    ActionClass("kick", kick, 55, (1, 1), "both"),
    ActionClass("squat", squat, 80, (1, 2), "both"),
    ActionClass("jump", jump, 60, (1, 3)),
    ActionClass("bow", bow, 70, (1, 1), "both"),
    ActionClass("march", march, 90, (0.7, 1.1), "both", periodic=True),
    ActionClass("turn around", turn, 85, (1, 1), "both"),
    ActionClass("reach", reach, 60, (1, 1), "other"),
    ActionClass("handshake", handshake, 90, (2.0, 3.0), "other", two_person=True, periodic=True),
    ActionClass("push", push, 65, (1, 1), two_person=True),
    ActionClass("hug", hug, 95, (1, 1), two_person=True),
)
