"""The sequence encoder: a 3-layer bidirectional GRU over per-frame pose vectors.

Input: the canonical (N, C, T, V, M) clip batch, flattened per frame by
:func:`skelzoo.representations.to_seq` into (N, T, M*V*C) (150 for NTU: 2 bodies x 25 joints x 3).

Feature: the top layer's final hidden state of both directions, concatenated (2 x hidden, 2048 at
paper size). For the forward direction that *is* the output at the last frame. For the backward
direction we take its final state (its output at frame 0) rather than its output at the last
frame, because the latter has read only one frame, while the final state has read the whole clip.
Clips reach the encoder already cropped and resized to a fixed length (the evaluation crop gives 64
frames, none of them padding), so "last valid frame" is frame T-1 and no length masking is needed.
The feature comes straight out of ``nn.GRU``'s ``h_n``.

Export: ``torch.jit.trace`` keeps the fused GRU op, so a traced module takes any batch and frame
count. ``torch.export`` unrolls ``nn.GRU`` over the example's frames, so there only the batch can
be dynamic. ``torch.onnx.export(dynamo=True)`` gets ONNX ``GRU`` nodes instead (see
:meth:`SeqEncoder._forward_onnx`), with dynamic batch and frames; so does the legacy exporter.

``reference_compat=True`` reproduces the authors' GRU, which is fed one frame at a time with the
hidden state carried over. Fed like that, a bidirectional ``nn.GRU`` sees sequences of length one,
so its "backward" direction also runs forward in time: each layer is two independent forward GRUs
whose outputs are concatenated for the layer above. The feature is then the top layer's output
at the last frame, both directions, which again equals the top layer's final hidden states.
Parameters (and so state_dict keys) are those of the same ``nn.GRU``, so the authors' weights load
into either mode; only the recurrence differs. The mode exports like the normal one (ONNX: two
forward ``GRU`` nodes per layer, frames dynamic; torch.export: frames fixed).
"""

from __future__ import annotations

import torch
from torch import nn

from skelzoo.errors import SkelzooError
from skelzoo.layouts import get_layout
from skelzoo.models.base import Encoder, check_common, scaled
from skelzoo.models.registry import register_encoder
from skelzoo.representations import to_seq

HIDDEN = 1024
LAYERS = 3


class SeqEncoder(Encoder):
    arch = "seq"
    representation = "seq"

    def __init__(
        self,
        width: float = 1.0,
        layout: str = "ntu25",
        num_bodies: int = 2,
        in_channels: int = 3,
        num_layers: int = LAYERS,
        reference_compat: bool = False,
    ) -> None:
        check_common(width, num_bodies, in_channels)
        if num_layers < 1:
            raise SkelzooError(f"seq encoder: num_layers must be >= 1 (got {num_layers}); the paper uses 3.")
        layout = get_layout(layout).name
        super().__init__(
            dict(width=width, layout=layout, num_bodies=num_bodies, in_channels=in_channels,
                 num_layers=int(num_layers), reference_compat=bool(reference_compat))
        )
        self.hidden = scaled(HIDDEN, width)
        self.num_layers = int(num_layers)
        self.reference_compat = bool(reference_compat)
        input_size = num_bodies * self.num_joints * in_channels
        self.gru = nn.GRU(input_size, self.hidden, num_layers=self.num_layers,
                          bidirectional=True, batch_first=True)
        self.feature_dim = 2 * self.hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        s = to_seq(x)
        # torch.onnx.export(dynamo=True) runs torch.export (is_exporting); the legacy TorchScript
        # exporter does not, and it already turns nn.GRU into an ONNX GRU node by itself.
        if torch.onnx.is_in_onnx_export() and torch.compiler.is_exporting():
            return self._forward_onnx(s)
        if self.reference_compat:
            return self._forward_compat(s)
        _, h_n = self.gru(s)  # (layers * 2, N, H), index = layer * 2 + direction
        return torch.cat([h_n[-2], h_n[-1]], dim=1)

    def _forward_compat(self, s: torch.Tensor) -> torch.Tensor:
        """Layer by layer, each direction a forward-in-time GRU over the whole clip.

        Equal to the authors' frame-by-frame feeding: there, layer l+1 at frame t reads only
        layer l's outputs at frame t and its own state from frame t-1, so whole-sequence passes
        in layer order compute the same recurrences (with the same fused GRU kernel).
        """
        inp = s
        finals: list[torch.Tensor] = []
        for layer in range(self.num_layers):
            outs = []
            finals = []
            for suffix in ("", "_reverse"):
                params = [getattr(self.gru, f"{p}_l{layer}{suffix}")
                          for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                h0 = inp.new_zeros(1, inp.shape[0], self.hidden)
                out, h_n = torch.gru(inp, h0, params, True, 1, 0.0, self.training, False, True)
                outs.append(out)
                finals.append(h_n[0])
            inp = torch.cat(outs, dim=2)
        return torch.cat(finals, dim=1)

    def _forward_onnx(self, s: torch.Tensor) -> torch.Tensor:
        """The same network as ONNX ``GRU`` nodes, used only inside ``torch.onnx.export``.

        Exporting ``nn.GRU`` through torch.export unrolls it over the example's frame count,
        pinning T; the ONNX GRU operator keeps T dynamic and runs a fused kernel. ONNX orders the
        gates (z, r, h) where PyTorch has (r, z, n); ``linear_before_reset=1`` is PyTorch's form
        of the candidate gate. Normal mode: one bidirectional node per layer. Reference mode:
        two forward nodes per layer (see :meth:`_forward_compat`).
        """
        h = self.hidden

        def gates(w: torch.Tensor) -> torch.Tensor:  # (r, z, n) -> (z, r, n) along dim 0
            return torch.cat([w[h : 2 * h], w[:h], w[2 * h :]], dim=0)

        def weights(layer: int, suffixes: tuple[str, ...]) -> list[torch.Tensor]:
            g = self.gru
            w = torch.stack([gates(getattr(g, f"weight_ih_l{layer}{x}")) for x in suffixes])
            r = torch.stack([gates(getattr(g, f"weight_hh_l{layer}{x}")) for x in suffixes])
            b = torch.stack([torch.cat([gates(getattr(g, f"bias_ih_l{layer}{x}")),
                                        gates(getattr(g, f"bias_hh_l{layer}{x}"))]) for x in suffixes])
            return [w, r, b]

        def node(inp: torch.Tensor, params: list[torch.Tensor], direction: str):
            t, n = inp.shape[0], inp.shape[1]
            d = params[0].shape[0]
            y, y_h = torch.onnx.ops.symbolic_multi_out(
                "::GRU", [inp, *params],
                {"hidden_size": h, "direction": direction, "linear_before_reset": 1},
                dtypes=[inp.dtype, inp.dtype], shapes=[[t, d, n, h], [d, n, h]], version=14,
            )
            return y, y_h  # (T, D, N, H), (D, N, H)

        inp = s.transpose(0, 1)  # ONNX GRU wants (T, N, F)
        finals = []
        for layer in range(self.num_layers):
            if self.reference_compat:
                outs, finals = [], []
                for suffix in ("", "_reverse"):
                    y, y_h = node(inp, weights(layer, (suffix,)), "forward")
                    outs.append(y[:, 0])
                    finals.append(y_h[0])
                inp = torch.cat(outs, dim=2)
            else:
                y, y_h = node(inp, weights(layer, ("", "_reverse")), "bidirectional")
                inp = torch.cat([y[:, 0], y[:, 1]], dim=2)
                finals = [y_h[0], y_h[1]]
        return torch.cat(finals, dim=1)


@register_encoder("seq")
def seq(
    width: float = 1.0,
    layout: str = "ntu25",
    num_bodies: int = 2,
    in_channels: int = 3,
    num_layers: int = LAYERS,
    reference_compat: bool = False,
) -> SeqEncoder:
    """3-layer bidirectional GRU, 1024 units (x width); feature 2048 (x width), ~45.0 M params."""
    return SeqEncoder(width, layout, num_bodies, in_channels, num_layers, reference_compat)
