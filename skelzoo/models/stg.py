"""The graph encoder: the joint stream of 2s-AGCN (adaptive graph convolution), 10 units.

Input: the canonical (N, C, T, V, M) batch. A batch norm over the M*V*C input channels
normalises each coordinate of each joint of each body; then every body runs through the network
as its own sample, and the feature is the mean over time and joints, then over bodies
(256 channels x width).

Each unit is a spatial graph convolution followed by a temporal convolution (kernel 9) and a
residual. The spatial part sums three subsets (identity, inward, outward bones of the layout); per
subset the adjacency is the fixed normalised graph A_k (a non-persistent buffer: it follows
``.to(device)`` and is a constant in exported graphs, and it is rebuilt from the layout rather
than stored in checkpoints) plus a learned B_k (initialised to zero, as in the 2s-AGCN paper)
plus a data-dependent C_k = softmax over joints of theta(x)^T phi(x) / (channels * frames).
Only conv2d, batch norm, matmul, softmax and reshapes are used, with the time dim left symbolic,
so the module exports with dynamic batch and frames.

Parameter names follow the 2s-AGCN code (``data_bn``, ``l1``..``l10``, ``gcn1.PA``, ``conv_a``,
``conv_b``, ``conv_d``, ``down``, ``tcn1``, ``residual``) so that published weights map one to one.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from skelzoo.layouts import get_layout
from skelzoo.models.base import Encoder, check_common, scaled
from skelzoo.models.graph import spatial_adjacency
from skelzoo.models.registry import register_encoder

# (in, out, stride, residual) of the ten units at width 1.
UNITS = (
    (None, 64, 1, False), (64, 64, 1, True), (64, 64, 1, True), (64, 64, 1, True),
    (64, 128, 2, True), (128, 128, 1, True), (128, 128, 1, True),
    (128, 256, 2, True), (256, 256, 1, True), (256, 256, 1, True),
)
TEMPORAL_KERNEL = 9
EMBED_RATIO = 4  # theta/phi embed to out_channels // 4 channels


def _conv_init(conv: nn.Conv2d) -> None:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    nn.init.zeros_(conv.bias)


class TemporalConv(nn.Module):
    """Conv (k x 1) over time, then batch norm; also the strided 1x1 residual projection."""

    def __init__(self, cin: int, cout: int, kernel: int = TEMPORAL_KERNEL, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, (kernel, 1), padding=((kernel - 1) // 2, 0),
                              stride=(stride, 1))
        self.bn = nn.BatchNorm2d(cout)
        _conv_init(self.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class AdaptiveGraphConv(nn.Module):
    """Sum over subsets k of conv_d_k(x @ (A_k + B_k + C_k(x))), batch norm, residual, ReLU."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor):
        super().__init__()
        subsets = adjacency.shape[0]
        self.inter = max(1, cout // EMBED_RATIO)
        self.register_buffer("A", adjacency.clone(), persistent=False)
        self.PA = nn.Parameter(torch.zeros_like(adjacency))  # learned B, starts at "no change"
        self.conv_a = nn.ModuleList(nn.Conv2d(cin, self.inter, 1) for _ in range(subsets))
        self.conv_b = nn.ModuleList(nn.Conv2d(cin, self.inter, 1) for _ in range(subsets))
        self.conv_d = nn.ModuleList(nn.Conv2d(cin, cout, 1) for _ in range(subsets))
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
                     if cin != cout else nn.Identity())
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _conv_init(m)
        # Each branch starts small and the unit's output BN starts near zero, so at
        # initialisation a unit is close to its residual path.
        for conv in self.conv_d:
            nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / (cout * cin * subsets)))
        nn.init.constant_(self.bn.weight, 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[2]
        adj = self.A + self.PA
        y = None
        for k in range(adj.shape[0]):
            theta = self.conv_a[k](x)  # (n, inter, t, v)
            phi = self.conv_b[k](x)
            # theta^T phi summed over embedding channels and frames, as batched (v, t) @ (t, v)
            # products: merging the channel and (symbolic) time dims into one axis with a reshape
            # would make torch.export guard on the frame count and pin it.
            scores = torch.matmul(theta.transpose(2, 3), phi).sum(dim=1) / (self.inter * t)
            # softmax over the source joint i for each target joint j (dim -2)
            att = torch.softmax(scores, dim=-2)
            z = torch.matmul(x, (att + adj[k]).unsqueeze(1))  # out[..., j] = sum_i x[..., i] A[i, j]
            z = self.conv_d[k](z)
            y = z if y is None else y + z
        return self.relu(self.bn(y) + self.down(x))


class Unit(nn.Module):
    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, stride: int, residual: bool):
        super().__init__()
        self.gcn1 = AdaptiveGraphConv(cin, cout, adjacency)
        self.tcn1 = TemporalConv(cout, cout, stride=stride)
        self.relu = nn.ReLU()
        self.has_residual = residual
        if residual and (cin != cout or stride != 1):
            self.residual: nn.Module = TemporalConv(cin, cout, kernel=1, stride=stride)
        else:
            self.residual = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn1(self.gcn1(x))
        if self.has_residual:
            y = y + self.residual(x)
        return self.relu(y)


class StgEncoder(Encoder):
    arch = "stg"
    representation = "stg"

    def __init__(
        self,
        width: float = 1.0,
        layout: str = "ntu25",
        num_bodies: int = 2,
        in_channels: int = 3,
    ) -> None:
        check_common(width, num_bodies, in_channels)
        layout = get_layout(layout).name
        super().__init__(dict(width=width, layout=layout, num_bodies=num_bodies,
                              in_channels=in_channels))
        adjacency = spatial_adjacency(layout)
        self.data_bn = nn.BatchNorm1d(num_bodies * self.num_joints * in_channels)
        cout = in_channels
        for i, (cin, cout_1, stride, residual) in enumerate(UNITS, start=1):
            cin = in_channels if cin is None else scaled(cin, width)
            cout = scaled(cout_1, width)
            self.add_module(f"l{i}", Unit(cin, cout, adjacency, stride, residual))
        self.feature_dim = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)
        x = self.data_bn(x)
        x = x.reshape(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for i in range(1, len(UNITS) + 1):
            x = getattr(self, f"l{i}")(x)
        # mean over frames and joints per body, then over bodies
        return x.mean(dim=(2, 3)).reshape(n, m, -1).mean(dim=1)


@register_encoder("stg")
def stg(
    width: float = 1.0,
    layout: str = "ntu25",
    num_bodies: int = 2,
    in_channels: int = 3,
) -> StgEncoder:
    """2s-AGCN joint stream, 10 units 64..256 (x width); feature 256 (x width), ~3.45 M params."""
    return StgEncoder(width, layout, num_bodies, in_channels)
