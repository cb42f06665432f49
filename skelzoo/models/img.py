"""The image encoder: HCN (hierarchical co-occurrence network), a CNN over the clip as an image.

Per body, two streams read the (C, T, V) "image": positions, and motion (the difference of
consecutive frames). Each stream: a 1x1 conv on the coordinates (point level), a (3, 1) temporal
conv, then joints are moved onto the channel axis so the next 3x3 convs see every joint at once
(co-occurrence), with max pooling. The two streams are concatenated and two more 3x3 conv + pool
stages follow. The flattened map is max-pooled over bodies.

Motion has T-1 differences; as in HCN, it is resized back to T frames by linear interpolation
(align_corners=False) rather than zero-padded, so the last frame does not read as "stopped".

The feature size depends on the clip length: four 2x poolings turn (T, 64) into (T/16, 4), so at
paper size the feature is 256 x 4 x 4 = 4096 for the 64-frame evaluation crop. The encoder is
therefore built for one length (``frames``, default 64, a multiple of 16) and refuses others.
The second conv has ``frames`` output channels (HCN's ``window_size``), which is what gives the
4x4 map; it is not scaled by ``width``, so small widths keep a valid map.

Parameter names follow the HCN code (``conv1``..``conv6``, ``conv1m``..``conv4m``) so that
published weights map one to one. Dropout (2-D, p=0.5) sits where HCN has it and is off in eval.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skelzoo.errors import SkelzooError
from skelzoo.layouts import get_layout
from skelzoo.models.base import Encoder, check_common, scaled
from skelzoo.models.registry import register_encoder

CHANNELS = 64
POOLS = 4
DROPOUT = 0.5


def _stream(cin: int, c: int, frames: int, joints: int) -> dict[str, nn.Module]:
    return {
        "conv1": nn.Sequential(nn.Conv2d(cin, c, 1), nn.ReLU()),
        "conv2": nn.Conv2d(c, frames, (3, 1), padding=(1, 0)),
        "conv3": nn.Sequential(nn.Conv2d(joints, max(1, c // 2), 3, padding=1), nn.MaxPool2d(2)),
        "conv4": nn.Sequential(nn.Conv2d(max(1, c // 2), c, 3, padding=1),
                               nn.Dropout2d(DROPOUT), nn.MaxPool2d(2)),
    }


class ImgEncoder(Encoder):
    arch = "img"
    representation = "img"

    def __init__(
        self,
        width: float = 1.0,
        layout: str = "ntu25",
        num_bodies: int = 2,
        in_channels: int = 3,
        frames: int = 64,
    ) -> None:
        check_common(width, num_bodies, in_channels)
        if frames < 16 or frames % 16:
            raise SkelzooError(
                f"img encoder: frames must be a positive multiple of 16 (got {frames}); "
                "HCN pools time four times by 2. The evaluation crop gives 64."
            )
        layout = get_layout(layout).name
        super().__init__(dict(width=width, layout=layout, num_bodies=num_bodies,
                              in_channels=in_channels, frames=frames))
        self.frames = int(frames)
        c = scaled(CHANNELS, width)
        for suffix in ("", "m"):
            for name, module in _stream(in_channels, c, frames, self.num_joints).items():
                self.add_module(name + suffix, module)
        self.conv5 = nn.Sequential(nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(),
                                   nn.Dropout2d(DROPOUT), nn.MaxPool2d(2))
        self.conv6 = nn.Sequential(nn.Conv2d(2 * c, 4 * c, 3, padding=1), nn.ReLU(),
                                   nn.Dropout2d(DROPOUT), nn.MaxPool2d(2))
        self.feature_dim = 4 * c * (frames // 16) ** 2
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)  # HCN's Glorot-uniform init, zero bias
                nn.init.zeros_(m.bias)

    def check_input(self, x: torch.Tensor) -> None:
        super().check_input(x)
        if x.shape[2] != self.frames:
            raise SkelzooError(
                f"img encoder was built for T={self.frames} frames (its feature size depends on "
                f"it), got T={x.shape[2]} from input {tuple(x.shape)}. Crop/resize clips to "
                f"{self.frames} frames (skelzoo's evaluation crop does) or build it with "
                f"frames={x.shape[2]}."
            )

    def _branch(self, x: torch.Tensor, suffix: str) -> torch.Tensor:
        x = getattr(self, "conv2" + suffix)(getattr(self, "conv1" + suffix)(x))
        x = x.permute(0, 3, 2, 1)  # (B, frames-as-channels, T, V) -> (B, V, T, ch): joints on channels
        return getattr(self, "conv4" + suffix)(getattr(self, "conv3" + suffix)(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        n, c, t, v, m = x.shape
        pos = x.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v)  # bodies into the batch
        motion = F.interpolate(pos[:, :, 1:] - pos[:, :, :-1], size=(t, v), mode="bilinear",
                               align_corners=False)
        y = torch.cat([self._branch(pos, ""), self._branch(motion, "m")], dim=1)
        y = self.conv6(self.conv5(y))
        return y.reshape(n, m, -1).amax(dim=1)


@register_encoder("img")
def img(
    width: float = 1.0,
    layout: str = "ntu25",
    num_bodies: int = 2,
    in_channels: int = 3,
    frames: int = 64,
) -> ImgEncoder:
    """HCN, position + motion streams, 64..256 channels (x width); feature 4096 at 64 frames."""
    return ImgEncoder(width, layout, num_bodies, in_channels, frames)
