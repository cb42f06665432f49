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


_LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    if layout.name in _LAYOUTS:
        raise ValueError(f"layout {layout.name!r} is already registered")
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
