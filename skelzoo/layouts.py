"""Skeleton joint layouts: joint names, bones and the centre joint, in one registry.

A layout is everything the rest of skelzoo needs to know about a skeleton format: how many joints,
what they are called, which pairs are bones (the graph encoder's adjacency comes from them) and
which joint is the body centre. Joints are 0-based everywhere in skelzoo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skelzoo.errors import SkelzooError, unknown


@dataclass(frozen=True)
class Layout:
    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]  # (child, parent), pointing towards `center`
    center: int
    description: str = ""
    extras: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = len(self.joints)
        if len(set(self.joints)) != n:
            raise ValueError(f"layout {self.name}: joint names are not unique")
        for child, parent in self.bones:
            if not (0 <= child < n and 0 <= parent < n) or child == parent:
                raise ValueError(f"layout {self.name}: bad bone ({child}, {parent})")
        if not 0 <= self.center < n:
            raise ValueError(f"layout {self.name}: centre joint {self.center} out of range")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        try:
            return self.joints.index(joint)
        except ValueError:
            raise unknown(f"joint of layout {self.name}", joint, self.joints) from None

    @property
    def parents(self) -> tuple[int, ...]:
        """Each joint's parent (one step towards `center`); the centre is its own parent."""
        parent = list(range(self.num_joints))
        for child, par in self.bones:
            parent[child] = par
        return tuple(parent)

    def tree_problems(self) -> list[str]:
        """Why the bones are not a tree rooted at `center` (empty when they are).

        Graph encoders build their adjacency from the bones and partition neighbours by their
        distance to the centre, so every joint must reach the centre along exactly one path.
        """
        n = self.num_joints
        problems = []
        children = [c for c, _ in self.bones]
        doubled = sorted({self.joints[c] for c in children if children.count(c) > 1})
        if doubled:
            problems.append(f"joints with more than one parent: {', '.join(doubled)}")
        if self.center in children:
            problems.append(f"the centre {self.joints[self.center]!r} has a parent")
        if len(self.bones) != n - 1:
            problems.append(f"{len(self.bones)} bones for {n} joints (a tree has {n - 1})")
        parent = self.parents
        for j in range(n):
            seen, k = set(), j
            while k != self.center and k not in seen:
                seen.add(k)
                k = parent[k]
            if k != self.center:
                problems.append(f"joint {self.joints[j]!r} does not reach the centre")
        return problems


_LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    if layout.name in _LAYOUTS:
        raise ValueError(f"layout {layout.name!r} is already registered")
    problems = layout.tree_problems()
    if problems:
        raise ValueError(f"layout {layout.name!r}: the bones are not a tree rooted at the centre: {'; '.join(problems)}")
    _LAYOUTS[layout.name] = layout
    return layout


def get_layout(name: str | Layout) -> Layout:
    if isinstance(name, Layout):
        return name
    try:
        return _LAYOUTS[name]
    except KeyError:
        raise unknown("layout", name, _LAYOUTS) from None


def list_layouts() -> list[str]:
    return sorted(_LAYOUTS)


def check_joint_count(num_joints: int, layout: str | Layout, source: str) -> None:
    """Raise a clear error when data with `num_joints` joints is read as `layout`."""
    lay = get_layout(layout)
    if num_joints != lay.num_joints:
        raise SkelzooError(
            f"{source}: {num_joints} joints, but layout {lay.name!r} has {lay.num_joints}. "
            f"Pass the layout the data was recorded in (known: {', '.join(list_layouts())})."
        )


# Kinect v2 as used by NTU RGB+D 60/120 and PKU-MMD.
NTU25 = register_layout(
    Layout(
        name="ntu25",
        joints=(
            "spine_base", "spine_mid", "neck", "head",
            "left_shoulder", "left_elbow", "left_wrist", "left_hand",
            "right_shoulder", "right_elbow", "right_wrist", "right_hand",
            "left_hip", "left_knee", "left_ankle", "left_foot",
            "right_hip", "right_knee", "right_ankle", "right_foot",
            "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
        ),
        bones=(
            (0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6),
            (8, 20), (9, 8), (10, 9), (11, 10), (12, 0), (13, 12), (14, 13), (15, 14),
            (16, 0), (17, 16), (18, 17), (19, 18), (21, 22), (22, 7), (23, 24), (24, 11),
        ),
        center=20,
        description="Kinect v2 (NTU RGB+D 60/120, PKU-MMD), 25 joints, metres, camera frame",
    )
)


# Bones of the layouts below: (child, parent) pairs, parent one step closer to the centre. Where a
# format's own drawing has cycles (a torso rectangle, a hand triangle) one edge of each cycle is
# left out, so every layout is a tree: graph encoders partition neighbours by depth from the centre.


def _bones(layout_joints: tuple[str, ...], pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[int, int], ...]:
    index = {name: i for i, name in enumerate(layout_joints)}
    return tuple((index[c], index[p]) for c, p in pairs)


def _limbs(side: str, *chain: str) -> tuple[tuple[str, str], ...]:
    """('left', 'wrist', 'elbow', '=neck') -> (left_wrist, left_elbow), (left_elbow, neck).

    A name starting with '=' is a midline joint and gets no side prefix."""
    names = [f"{side}_{c}" if not c.startswith("=") else c[1:] for c in chain]
    return tuple(zip(names[:-1], names[1:]))


def _both(*chain: str) -> tuple[tuple[str, str], ...]:
    return _limbs("left", *chain) + _limbs("right", *chain)


_COCO17_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# COCO has no neck or pelvis joint, so the nose is the centre (as in the common ST-GCN "coco"
# graph) and each hip hangs from the shoulder on its side.
COCO17 = register_layout(
    Layout(
        name="coco17",
        joints=_COCO17_JOINTS,
        bones=_bones(_COCO17_JOINTS, (
            *_both("ear", "eye", "=nose"),
            *_both("wrist", "elbow", "shoulder", "=nose"),
            *_both("ankle", "knee", "hip", "shoulder"),
        )),
        center=0,
        description="COCO keypoints (17 joints; 2D image coordinates, or 3D after lifting), e.g. from ViTPose, RTMPose, Detectron2",
    )
)

_MEDIAPIPE33_JOINTS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
MEDIAPIPE33 = register_layout(
    Layout(
        name="mediapipe33",
        joints=_MEDIAPIPE33_JOINTS,
        bones=_bones(_MEDIAPIPE33_JOINTS, (
            *_both("ear", "eye_outer", "eye", "eye_inner", "=nose"),
            ("mouth_left", "nose"), ("mouth_right", "nose"),
            *_both("wrist", "elbow", "shoulder", "=nose"),
            *_both("pinky", "wrist"), *_both("index", "wrist"), *_both("thumb", "wrist"),
            *_both("ankle", "knee", "hip", "shoulder"),
            *_both("heel", "ankle"), *_both("foot_index", "ankle"),
        )),
        center=0,
        description="MediaPipe Pose / BlazePose (33 landmarks); use the world landmarks (metres, hip-centred, 3D)",
    )
)

_OPENPOSE18_JOINTS = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)
OPENPOSE18 = register_layout(
    Layout(
        name="openpose18",
        joints=_OPENPOSE18_JOINTS,
        bones=_bones(_OPENPOSE18_JOINTS, (
            ("nose", "neck"), *_both("ear", "eye", "=nose"),
            *_both("wrist", "elbow", "shoulder", "=neck"),
            *_both("ankle", "knee", "hip", "shoulder"),
        )),
        center=1,
        description="OpenPose COCO-18 (Kinetics-skeleton of ST-GCN): 2D image coordinates; drop the confidence channel",
    )
)

_BODY25_JOINTS = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
    "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)
BODY25 = register_layout(
    Layout(
        name="body25",
        joints=_BODY25_JOINTS,
        bones=_bones(_BODY25_JOINTS, (
            ("nose", "neck"), *_both("ear", "eye", "=nose"),
            *_both("wrist", "elbow", "shoulder", "=neck"),
            ("mid_hip", "neck"), *_both("ankle", "knee", "hip", "=mid_hip"),
            *_both("small_toe", "big_toe", "ankle"), *_both("heel", "ankle"),
        )),
        center=1,
        description="OpenPose BODY_25 (25 joints with mid-hip and feet): 2D image coordinates; drop the confidence channel",
    )
)
