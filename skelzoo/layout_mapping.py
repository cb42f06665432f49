"""Convert clips between skeleton layouts, through NTU-25 (the layout every zoo model was trained on).

Each layout below says, for every NTU-25 joint, where it comes from:

- **shared**: the same body point exists in the source layout and is copied unchanged (the
  inverse, :func:`from_ntu25`, copies it back, so a round trip over shared joints is exact);
- **interpolated**: estimated as a fixed weighted sum of source joints, e.g. ``spine_base`` = the
  hip midpoint, ``spine_mid`` = the mean of the hip and shoulder midpoints, ``hand`` extrapolated
  a little past the wrist along the forearm, ``thumb`` set to the estimated hand;
- **zero-filled**: left at 0 (every non-shared joint, when ``missing="zero"``).

The weights of the estimates come from the body proportions of Kinect's joint placement (the same
table as the synthetic set, :mod:`skelzoo.data.synth_body`). They are estimates: a model sees a
plausible joint, not a measured one, and the :class:`MappingReport` names every such joint so a
user can judge. Estimates built from a joint that a pose detector missed (stored as 0) are wrong
for that frame; clean or drop such frames first.

2D clips (C = 2) given to a 3D model need a lift: ``lift="zero"`` appends z = 0, a poor man's
lift that keeps the layout of the body in the image plane and loses all depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from skelzoo.errors import SkelzooError
from skelzoo.layouts import NTU25, check_joint_count, get_layout

MISSING = ("interpolate", "zero")
LIFTS = ("zero",)

Recipe = dict[str, float]  # source joint name -> weight; weights sum to 1

# Fractions of the forearm (elbow -> wrist) by which Kinect's hand (palm centre) and hand tip lie
# past the wrist, and the fraction of the way from the shoulder midpoint to the head centre at
# which Kinect puts its neck joint (segment lengths of skelzoo.data.synth_body.SEGMENTS).
HAND_PAST_WRIST = 0.27
HAND_TIP_PAST_WRIST = 0.58
NECK_ALONG_SHOULDERS_TO_HEAD = 0.36
# MediaPipe's index landmark is the index knuckle: the fingertip lies about this far past it,
# as a fraction of wrist -> knuckle.
TIP_PAST_KNUCKLE = 0.8


def _j(name: str) -> Recipe:
    return {name: 1.0}


def _mix(*parts: tuple[float, Recipe]) -> Recipe:
    out: Recipe = {}
    for weight, recipe in parts:
        for joint, w in recipe.items():
            out[joint] = out.get(joint, 0.0) + weight * w
    return {k: v for k, v in out.items() if v != 0.0}


def _mean(*recipes: Recipe) -> Recipe:
    return _mix(*((1.0 / len(recipes), r) for r in recipes))


def _lerp(a: Recipe, b: Recipe, t: float) -> Recipe:
    """The point a fraction `t` of the way from a to b."""
    return _mix((1.0 - t, a), (t, b))


def _past(a: Recipe, b: Recipe, t: float) -> Recipe:
    """Extrapolate beyond `a`, away from `b`, by `t` times the length b -> a."""
    return _mix((1.0 + t, a), (-t, b))


@dataclass(frozen=True)
class _Table:
    """How one layout maps onto NTU-25 and back."""

    shared: dict[str, str]  # ntu joint -> source joint (the same body point)
    to_ntu: dict[str, tuple[Recipe, str]]  # ntu joint -> (recipe over source joints, how)
    from_ntu: dict[str, tuple[Recipe, str]]  # source joint -> (recipe over ntu joints, how)


def _arms_legs_same_names() -> dict[str, str]:
    return {f"{s}_{j}": f"{s}_{j}" for s in ("left", "right")
            for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")}


def _hands_from_forearm(side: str) -> dict[str, tuple[Recipe, str]]:
    wrist, elbow = _j(f"{side}_wrist"), _j(f"{side}_elbow")
    hand = _past(wrist, elbow, HAND_PAST_WRIST)
    return {
        f"{side}_hand": (hand, f"{side}_wrist extended {HAND_PAST_WRIST:.2f} x forearm"),
        f"{side}_hand_tip": (_past(wrist, elbow, HAND_TIP_PAST_WRIST), f"{side}_wrist extended {HAND_TIP_PAST_WRIST:.2f} x forearm"),
        f"{side}_thumb": (hand, f"set to the estimated {side}_hand (no thumb joint)"),
    }


def _head_neck(shoulder_mid: Recipe, how_mid: str) -> dict[str, tuple[Recipe, str]]:
    head = _mean(_j("left_ear"), _j("right_ear"))
    return {
        "head": (head, "midpoint of the ears"),
        "neck": (_lerp(shoulder_mid, head, NECK_ALONG_SHOULDERS_TO_HEAD),
                 f"{NECK_ALONG_SHOULDERS_TO_HEAD:.2f} of the way from {how_mid} to the ear midpoint"),
    }


def _to_head(*names: str) -> dict[str, tuple[Recipe, str]]:
    return {n: (_j("head"), "set to ntu25 head") for n in names}


def _coco17() -> _Table:
    hips = _mean(_j("left_hip"), _j("right_hip"))
    shoulders = _mean(_j("left_shoulder"), _j("right_shoulder"))
    to = {
        "spine_base": (hips, "midpoint of the hips"),
        "spine_shoulder": (shoulders, "midpoint of the shoulders"),
        "spine_mid": (_mean(hips, shoulders), "mean of the hip and shoulder midpoints"),
        **_head_neck(shoulders, "the shoulder midpoint"),
        **_hands_from_forearm("left"), **_hands_from_forearm("right"),
        "left_foot": (_j("left_ankle"), "set to left_ankle (no toe joint)"),
        "right_foot": (_j("right_ankle"), "set to right_ankle (no toe joint)"),
    }
    back = _to_head("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    return _Table(_arms_legs_same_names(), to, back)


def _mediapipe33() -> _Table:
    hips = _mean(_j("left_hip"), _j("right_hip"))
    shoulders = _mean(_j("left_shoulder"), _j("right_shoulder"))
    shared = {**_arms_legs_same_names(), "left_thumb": "left_thumb", "right_thumb": "right_thumb",
              "left_foot": "left_foot_index", "right_foot": "right_foot_index"}
    to = {
        "spine_base": (hips, "midpoint of the hips"),
        "spine_shoulder": (shoulders, "midpoint of the shoulders"),
        "spine_mid": (_mean(hips, shoulders), "mean of the hip and shoulder midpoints"),
        **_head_neck(shoulders, "the shoulder midpoint"),
    }
    back = _to_head("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
                    "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right")
    for s in ("left", "right"):
        wrist, index, pinky = _j(f"{s}_wrist"), _j(f"{s}_index"), _j(f"{s}_pinky")
        to[f"{s}_hand"] = (_mean(wrist, index, pinky), f"mean of {s}_wrist, {s}_index, {s}_pinky")
        to[f"{s}_hand_tip"] = (_past(index, wrist, TIP_PAST_KNUCKLE), f"{s}_index knuckle extended {TIP_PAST_KNUCKLE:.1f} x wrist->knuckle")
        back[f"{s}_index"] = (_lerp(_j(f"{s}_hand"), _j(f"{s}_hand_tip"), 0.5), f"midway between ntu25 {s}_hand and {s}_hand_tip")
        back[f"{s}_pinky"] = (_j(f"{s}_hand"), f"set to ntu25 {s}_hand")
        back[f"{s}_heel"] = (_j(f"{s}_ankle"), f"set to ntu25 {s}_ankle")
    return _Table(shared, to, back)


def _openpose(with_feet: bool) -> _Table:
    """openpose18 (COCO-18) and body25 (with mid-hip and feet) share most of their table."""
    shared = {**_arms_legs_same_names(), "spine_shoulder": "neck"}
    if with_feet:
        shared["spine_base"] = "mid_hip"
        hips = _j("mid_hip")
    else:
        hips = _mean(_j("left_hip"), _j("right_hip"))
    to = {
        "spine_mid": (_mean(hips, _j("neck")), "mean of the hip midpoint and neck"),
        **_head_neck(_j("neck"), "the openpose neck (shoulder midpoint)"),
        **_hands_from_forearm("left"), **_hands_from_forearm("right"),
    }
    if not with_feet:
        to["spine_base"] = (hips, "midpoint of the hips")
    back = _to_head("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    for s in ("left", "right"):
        if with_feet:
            to[f"{s}_foot"] = (_mean(_j(f"{s}_big_toe"), _j(f"{s}_small_toe")), f"midpoint of {s}_big_toe and {s}_small_toe")
            back[f"{s}_big_toe"] = (_j(f"{s}_foot"), f"set to ntu25 {s}_foot")
            back[f"{s}_small_toe"] = (_j(f"{s}_foot"), f"set to ntu25 {s}_foot")
            back[f"{s}_heel"] = (_j(f"{s}_ankle"), f"set to ntu25 {s}_ankle")
        else:
            to[f"{s}_foot"] = (_j(f"{s}_ankle"), f"set to {s}_ankle (no toe joint)")
    return _Table(shared, to, back)


_TABLES = {
    "coco17": _coco17,
    "mediapipe33": _mediapipe33,
    "openpose18": lambda: _openpose(with_feet=False),
    "body25": lambda: _openpose(with_feet=True),
}


def mappable_layouts() -> list[str]:
    """Layouts that convert to and from ntu25."""
    return sorted([*_TABLES, NTU25.name])


@lru_cache(maxsize=None)
def _table(layout: str) -> _Table:
    if layout not in _TABLES:
        raise SkelzooError(
            f"layout {layout!r} has no mapping to ntu25 yet. Layouts that map: {', '.join(mappable_layouts())}."
        )
    table = _TABLES[layout]()
    src, ntu = get_layout(layout), NTU25
    # A table that names a joint its layout lacks is a bug here, not a user mistake.
    for t, s in table.shared.items():
        ntu.index(t), src.index(s)
    for t, (recipe, _) in table.to_ntu.items():
        ntu.index(t)
        assert t not in table.shared and all(src.index(j) >= 0 for j in recipe), (layout, t)
        assert abs(sum(recipe.values()) - 1.0) < 1e-9, (layout, t, recipe)
    for s, (recipe, _) in table.from_ntu.items():
        src.index(s)
        assert s not in table.shared.values() and all(ntu.index(j) >= 0 for j in recipe), (layout, s)
    return table


@dataclass
class MappingReport:
    """What happened to each joint of the target layout (joint names of the target)."""

    source: str
    target: str
    shared: list[str] = field(default_factory=list)
    interpolated: dict[str, str] = field(default_factory=dict)  # joint -> how it was estimated
    zero_filled: list[str] = field(default_factory=list)
    lift: str | None = None  # "zero" when z = 0 was appended to a 2D clip

    def summary(self) -> str:
        """A few lines for a log or the terminal."""
        lines = [f"{self.source} -> {self.target}: {len(self.shared)} joints copied, "
                 f"{len(self.interpolated)} interpolated, {len(self.zero_filled)} zero-filled"]
        if self.interpolated:
            lines.append("interpolated: " + "; ".join(f"{j} = {how}" for j, how in self.interpolated.items()))
        if self.zero_filled:
            lines.append("zero-filled: " + ", ".join(self.zero_filled))
        if self.lift:
            lines.append("lifted to 3D with z = 0 (no depth: a poor man's lift)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "shared": list(self.shared),
                "interpolated": dict(self.interpolated), "zero_filled": list(self.zero_filled),
                "lift": self.lift}


@dataclass(frozen=True)
class _Plan:
    """A conversion as arrays: copies (target <- source index) and estimates (a weight matrix)."""

    copy_to: np.ndarray
    copy_from: np.ndarray
    est_to: np.ndarray
    weights: np.ndarray  # (len(est_to), V_source)
    num_target: int


def _plan(target_joints: tuple[str, ...], source_joints: tuple[str, ...], shared: dict[str, str],
          estimates: dict[str, tuple[Recipe, str]], missing: str, report: MappingReport) -> _Plan:
    if missing not in MISSING:
        raise SkelzooError(f"missing={missing!r}: choose one of {', '.join(MISSING)}.")
    src_index = {n: i for i, n in enumerate(source_joints)}
    copy_to, copy_from, est_to, rows = [], [], [], []
    for t, name in enumerate(target_joints):
        if name in shared:
            copy_to.append(t)
            copy_from.append(src_index[shared[name]])
            report.shared.append(name)
        elif name in estimates and missing == "interpolate":
            recipe, how = estimates[name]
            row = np.zeros(len(source_joints))
            for j, w in recipe.items():
                row[src_index[j]] += w
            est_to.append(t)
            rows.append(row)
            report.interpolated[name] = how
        else:
            report.zero_filled.append(name)
    weights = np.stack(rows) if rows else np.zeros((0, len(source_joints)))
    return _Plan(np.array(copy_to, dtype=np.int64), np.array(copy_from, dtype=np.int64),
                 np.array(est_to, dtype=np.int64), weights, len(target_joints))


def _apply(x: Any, plan: _Plan) -> Any:
    """Apply a plan along the joint axis (-2) of a numpy array or torch tensor."""
    shape = (*x.shape[:-2], plan.num_target, x.shape[-1])
    if isinstance(x, np.ndarray):
        out = np.zeros(shape, dtype=x.dtype)
        # Copies are plain indexing, so shared joints come back bit for bit.
        out[..., plan.copy_to, :] = x[..., plan.copy_from, :]
        if len(plan.est_to):
            out[..., plan.est_to, :] = np.einsum("...vm,jv->...jm", x, plan.weights.astype(x.dtype))
        return out
    import torch

    if not isinstance(x, torch.Tensor):
        raise SkelzooError(f"expected a numpy array or torch tensor, got {type(x).__name__}.")
    out = x.new_zeros(shape)
    out[..., torch.as_tensor(plan.copy_to, device=x.device), :] = x[..., torch.as_tensor(plan.copy_from, device=x.device), :]
    if len(plan.est_to):
        w = torch.as_tensor(plan.weights, dtype=x.dtype, device=x.device)
        out[..., torch.as_tensor(plan.est_to, device=x.device), :] = torch.einsum("...vm,jv->...jm", x, w)
    return out


def _check_clip(x: Any, layout: str, source: str) -> None:
    if getattr(x, "ndim", 0) not in (4, 5):
        raise SkelzooError(
            f"{source}: expected a clip (C, T, V, M) or a batch (N, C, T, V, M); got shape {tuple(getattr(x, 'shape', ()))}."
        )
    check_joint_count(int(x.shape[-2]), layout, source)


def _mask(report: MappingReport, joints: tuple[str, ...]) -> np.ndarray:
    shared = set(report.shared)
    return np.array([j in shared for j in joints], dtype=bool)


def to_ntu25(x: Any, layout: str, missing: str = "interpolate", source: str = "clip") -> tuple[Any, np.ndarray, MappingReport]:
    """Map a clip (C, T, V, M) or batch (N, C, T, V, M) from `layout` to ntu25.

    Returns ``(x_ntu, mask, report)``: ``mask`` (25,) is True for joints copied from the source
    (measured), ``report`` lists the interpolated and zero-filled ntu25 joints. Works on numpy
    arrays and torch tensors (any device); coordinates are not rescaled or rotated.
    """
    name = get_layout(layout).name
    _check_clip(x, name, source)
    report = MappingReport(source=name, target=NTU25.name)
    if name == NTU25.name:
        table = _Table({j: j for j in NTU25.joints}, {}, {})
    else:
        table = _table(name)
    plan = _plan(NTU25.joints, get_layout(name).joints, table.shared, table.to_ntu, missing, report)
    return _apply(x, plan), _mask(report, NTU25.joints), report


def from_ntu25(x: Any, layout: str, missing: str = "interpolate", source: str = "clip") -> tuple[Any, np.ndarray, MappingReport]:
    """The inverse of :func:`to_ntu25`: shared joints are copied back exactly; the others are
    estimated from ntu25 joints (face points from the head, toes from the foot) or zero-filled."""
    lay = get_layout(layout)
    _check_clip(x, NTU25.name, source)
    report = MappingReport(source=NTU25.name, target=lay.name)
    if lay.name == NTU25.name:
        table = _Table({j: j for j in NTU25.joints}, {}, {})
        shared = table.shared
    else:
        table = _table(lay.name)
        shared = {s: t for t, s in table.shared.items()}
    plan = _plan(lay.joints, NTU25.joints, shared, table.from_ntu, missing, report)
    return _apply(x, plan), _mask(report, lay.joints), report


def lift_clip(x: Any, channels: int = 3, lift: str | None = None, source: str = "clip") -> tuple[Any, str | None]:
    """Make the coordinate axis (C, axis -4) match what the model expects.

    A 3D model given a 2D clip needs ``lift="zero"``: z = 0 is appended (a poor man's lift: the
    body stays as seen in the image plane, with no depth). Returns ``(x, lift_applied)``.
    """
    have = int(x.shape[-4])
    if lift is not None and lift not in LIFTS:
        raise SkelzooError(f"unknown lift {lift!r}: choose one of {', '.join(LIFTS)} (or none).")
    if have == channels:
        return x, None
    if have == 2 and channels == 3:
        if lift is None:
            raise SkelzooError(
                f"{source}: the model expects 3D (x, y, z) clips; this clip has 2 coordinates; "
                "pass --lift zero to append z=0"
            )
        pad_shape = (*x.shape[:-4], 1, *x.shape[-3:])
        if isinstance(x, np.ndarray):
            return np.concatenate([x, np.zeros(pad_shape, dtype=x.dtype)], axis=-4), lift
        import torch

        return torch.cat([x, x.new_zeros(pad_shape)], dim=-4), lift
    hint = (" OpenPose/pose-detector clips often carry a confidence score as the last coordinate: "
            "keep only x, y (clip[:2]) and lift.") if have == 3 and channels == 2 or have > 3 else ""
    raise SkelzooError(f"{source}: the model expects {channels} coordinates per joint; this clip has {have}.{hint}")


def adapt_clip(clip: Any, from_layout: str, to_layout: str = "ntu25", lift: str | None = None,
               channels: int = 3, missing: str = "interpolate", source: str = "clip") -> tuple[Any, MappingReport]:
    """Turn a clip recorded in `from_layout` into what a model trained on `to_layout` expects.

    `clip` is (C, T, V, M) or (N, C, T, V, M), numpy or torch. Coordinates are lifted first (see
    :func:`lift_clip`; `channels` is the model's coordinate count), then joints are mapped
    through ntu25 (:func:`to_ntu25` / :func:`from_ntu25`). The report says which target joints
    were copied, interpolated or zero-filled, and whether the clip was lifted.
    """
    src, dst = get_layout(from_layout).name, get_layout(to_layout).name
    _check_clip(clip, src, source)
    clip, lifted = lift_clip(clip, channels, lift, source)
    if src == dst:
        out, report = clip, MappingReport(source=src, target=dst, shared=list(get_layout(src).joints))
    elif dst == NTU25.name:
        out, _, report = to_ntu25(clip, src, missing, source)
    elif src == NTU25.name:
        out, _, report = from_ntu25(clip, dst, missing, source)
    else:
        mid, _, first = to_ntu25(clip, src, missing, source)
        out, _, second = from_ntu25(mid, dst, missing, source)
        report = _compose(first, second)
    report.lift = lifted
    return out, report


def _compose(first: MappingReport, second: MappingReport) -> MappingReport:
    """src -> ntu25 -> dst: a dst joint is shared only if it was copied in both steps."""
    out = MappingReport(source=first.source, target=second.target)
    for joint in get_layout(second.target).joints:
        if joint in second.zero_filled:
            out.zero_filled.append(joint)
            continue
        if joint in second.shared:
            # A copy of an ntu25 joint: it is what that joint was in the first step.
            ntu_joint = next(t for t, s in _table(second.target).shared.items() if s == joint)
            if ntu_joint in first.shared:
                out.shared.append(joint)
            elif ntu_joint in first.interpolated:
                out.interpolated[joint] = f"via ntu25 {ntu_joint} = {first.interpolated[ntu_joint]}"
            else:
                out.zero_filled.append(joint)
        else:
            out.interpolated[joint] = f"via ntu25: {second.interpolated[joint]}"
    return out
