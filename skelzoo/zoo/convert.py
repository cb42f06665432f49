"""Import the paper authors' MoCo checkpoints (``checkpoint_XXXX.pth.tar``) as skelzoo checkpoints.

The authors' pretraining saves ``{"epoch", "arch", "state_dict", "optimizer"}``; ``state_dict`` is
their MoCo module under ``DataParallel``: ``module.encoder_q.*`` is the first representation's
query encoder, ``module.encoder_r.*`` the second's, ``encoder_k`` / ``encoder_l`` their momentum
(key) copies, ``Queue_S1`` / ``Queue_S2`` the negatives. We keep the two query encoders (what the
reference evaluates) and drop keys, queues and projection heads (``fc``).

Key tables, reference name -> skelzoo name (the reference names are those of the authors' public
model code; our encoders keep the same submodule names on purpose):

=====  ===========================================================  =============================
arch   reference key (after ``module.encoder_q.`` / ``encoder_r.``)   skelzoo key
=====  ===========================================================  =============================
seq    ``encoder.gru.{weight,bias}_{ih,hh}_l<k>[_reverse]``          ``gru.<same>``
stg    ``data_bn.*``                                                 same
stg    ``l<i>.gcn1.{PA, conv_a.<s>, conv_b.<s>, conv_d.<s>,           same
       down.0, down.1, bn}.*``
stg    ``l<i>.tcn1.{conv,bn}.*``, ``l<i>.residual.{conv,bn}.*``      same
img    ``conv{1,3,4,5,6}[m].0.*``, ``conv2[m].*``                    same
all    ``fc.*`` (classifier / MoCo projection head)                  dropped
stg    ``l<i>.gcn1.A`` (fixed adjacency, if a variant stored it)     dropped (rebuilt from layout)
=====  ===========================================================  =============================

Honesty note: the GRU mapping is exact (``nn.GRU`` parameter names do not depend on the code
around it), and converted GRUs use ``reference_compat=True`` to reproduce the reference's
frame-by-frame recurrence. The stg/img tables are our reconstruction from the authors' model
definitions; they are validated on synthetic checkpoints built with those names and shapes, not on
the authors' released files. Any key the tables do not cover is refused by name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from skelzoo.errors import SkelzooError

KEY_TABLES: dict[str, list[tuple[str, str]]] = {
    "seq": [(r"^encoder\.gru\.((weight|bias)_(ih|hh)_l\d+(_reverse)?)$", r"gru.\1")],
    "stg": [
        (r"^(data_bn\.(weight|bias|running_mean|running_var|num_batches_tracked))$", r"\1"),
        (r"^(l\d+\.gcn1\.(PA|conv_[abd]\.\d+\.(weight|bias)|down\.[01]\.\w+|bn\.\w+))$", r"\1"),
        (r"^(l\d+\.(tcn1|residual)\.(conv|bn)\.\w+)$", r"\1"),
    ],
    "img": [(r"^(conv[13456]m?\.0\.(weight|bias)|conv2m?\.(weight|bias))$", r"\1")],
}
DROPPED = (r"^fc(\.|$)", r"\.gcn1\.A$")
PAIRS = ("seq-stg", "seq-img", "stg-img", "seq", "stg", "img")
# MoCo attribute of the query encoder of the first / second representation.
QUERY_PREFIXES = ("encoder_q.", "encoder_r.")


def detect_arch(state: dict[str, torch.Tensor]) -> str | None:
    keys = list(state)
    if any(k.startswith("encoder.gru.") for k in keys):
        return "seq"
    if any(k.startswith(("l1.gcn1.", "data_bn.")) for k in keys):
        return "stg"
    if any(k.startswith("conv1.0.") for k in keys) and any(k.startswith("conv1m.") for k in keys):
        return "img"
    return None


def map_keys(arch: str, state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """Rename one reference encoder's state dict by the table of `arch`; unknown keys are refused."""
    out, unknown = {}, []
    for key, value in state.items():
        if any(re.search(p, key) for p in DROPPED):
            continue
        for pattern, repl in KEY_TABLES[arch]:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise SkelzooError(
            f"{source}: {len(unknown)} {arch} keys are not in skelzoo's reference key table, e.g. "
            f"{unknown[:5]}; this checkpoint's model differs from the published reference code."
        )
    return out


def _layout_for(joints: int, source: str) -> str:
    from skelzoo.layouts import get_layout, list_layouts

    names = [n for n in list_layouts() if get_layout(n).num_joints == joints]
    if not names:
        raise SkelzooError(f"{source}: weights are for {joints} joints; no registered layout has that many.")
    return "ntu25" if "ntu25" in names else names[0]


def infer_kwargs(arch: str, sd: dict[str, torch.Tensor], source: str) -> dict[str, Any]:
    """create_encoder kwargs that reproduce the shapes of a mapped state dict."""
    try:
        if arch == "seq":
            hidden = sd["gru.weight_hh_l0"].shape[1]
            layers = sum(1 for k in sd if re.fullmatch(r"gru\.weight_ih_l\d+", k))
            per_frame = sd["gru.weight_ih_l0"].shape[1]
            channels, joints = 3, 25
            if per_frame % (channels * joints):
                raise SkelzooError(f"{source}: GRU input size {per_frame} is not bodies x 25 joints x 3.")
            return dict(width=hidden / 1024, layout=_layout_for(joints, source),
                        num_bodies=per_frame // (channels * joints), in_channels=channels,
                        num_layers=layers, reference_compat=True)
        if arch == "stg":
            conv = sd["l1.gcn1.conv_d.0.weight"]
            joints = sd["l1.gcn1.PA"].shape[-1]
            channels = conv.shape[1]
            return dict(width=conv.shape[0] / 64, layout=_layout_for(joints, source),
                        num_bodies=sd["data_bn.weight"].shape[0] // (joints * channels),
                        in_channels=channels)
        if arch == "img":
            conv1 = sd["conv1.0.weight"]
            # HCN's max over bodies holds no weights; the reference always used two bodies
            return dict(width=conv1.shape[0] / 64, layout=_layout_for(sd["conv3.0.weight"].shape[1], source),
                        num_bodies=2, in_channels=conv1.shape[1], frames=sd["conv2.weight"].shape[0])
    except KeyError as err:
        raise SkelzooError(f"{source}: {arch} weights lack {err.args[0]!r}; cannot infer the architecture.") from None
    raise SkelzooError(f"unknown arch {arch!r}")


def read_reference(path: str | Path) -> tuple[dict[str, torch.Tensor], int | None]:
    """The reference MoCo state dict and epoch, read without running any pickled code."""
    path = Path(path)
    if not path.is_file():
        raise SkelzooError(f"{path}: no such file.")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise SkelzooError(f"{path}: not readable with torch.load(weights_only=True) ({first}); "
                           "files holding arbitrary Python objects are refused.") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SkelzooError(f"{path}: expected the authors' checkpoint, a dict with a 'state_dict' of tensors.")
    epoch = obj.get("epoch") if isinstance(obj.get("epoch"), int) else None
    # DataParallel adds 'module.'; single-GPU runs do not
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}, epoch


def convert_isc_checkpoint(path: str | Path, out: str | Path, pair: str | None = None) -> dict[str, Any]:
    """Convert the authors' checkpoint at `path` to a skelzoo checkpoint at `out`; returns a summary.

    `pair` ("seq-stg", "seq-img", "stg-img", or one arch for an intra-skeleton checkpoint) is
    checked against what the keys show; None detects it.
    """
    from skelzoo.checkpoint import encoder_from_entry, save_checkpoint

    source = str(path)
    state, epoch = read_reference(path)
    found: list[tuple[str, dict[str, torch.Tensor]]] = []
    for prefix in QUERY_PREFIXES:
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            continue
        arch = detect_arch(sub)
        if arch is None:
            raise SkelzooError(f"{source}: cannot tell which encoder '{prefix}*' is (keys like {list(sub)[:3]}).")
        found.append((arch, sub))
    if not found:
        raise SkelzooError(f"{source}: no 'module.encoder_q.*' keys; not an ISC/MoCo checkpoint of the reference code.")
    detected = "-".join(a for a, _ in found)
    if pair is not None and pair not in PAIRS:
        from skelzoo.errors import unknown

        raise unknown("pair", pair, PAIRS)
    if pair is not None and pair != detected:
        raise SkelzooError(f"{source}: --pair {pair} given, but the checkpoint holds {detected} "
                           "(encoder_q first, encoder_r second).")
    encoders: dict[str, dict[str, Any]] = {}
    for arch, sub in found:
        mapped = map_keys(arch, sub, f"{source} ({arch})")
        entry = {"arch": arch, "kwargs": infer_kwargs(arch, mapped, source), "state_dict": mapped}
        encoder_from_entry(entry, f"{source} ({arch})")  # strict load now, not at first use
        encoders[arch] = {**entry, "state_dict": {k: v.clone() for k, v in mapped.items()}}
    first = next(iter(encoders.values()))["kwargs"]
    input_spec = {"layout": first["layout"], "frames": 64, "bodies": first["num_bodies"],
                  "channels": first["in_channels"], "preprocessing": "ntu-reference"}
    save_checkpoint(out, {
        "encoders": encoders,
        "default_encoder": found[0][0],
        "input_spec": input_spec,
        "recipe": {"name": f"isc-reference-{detected}", "imported_from": Path(path).name,
                   "reference_epoch": epoch},
        "metrics": {},
    })
    return {"out": str(out), "pair": detected, "epoch": epoch,
            "encoders": {k: {"kwargs": v["kwargs"], "tensors": len(v["state_dict"])} for k, v in encoders.items()}}
