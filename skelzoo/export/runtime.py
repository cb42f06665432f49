"""Run an exported ONNX encoder with ONNX Runtime: numpy clips in, numpy features out.

``OnnxEncoder(path)`` reads the input spec that ``skelzoo export`` stored in the file's metadata
and checks every batch against it (coordinates, joints, bodies, and the frame count for encoders
built for one clip length), so a mismatched file or batch fails with a message instead of
producing features of the wrong thing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelzoo.errors import SkelzooError

SPEC_KEY = "skelzoo.input_spec"
# Keys that must agree between an exported file and what the caller expects (e.g. a zoo entry).
MATCH_KEYS = ("layout", "joints", "channels", "bodies", "frames", "preprocessing")


def providers_for(device: str) -> list[str]:
    """ONNX Runtime execution providers for 'auto' | 'cpu' | 'cuda' | 'cuda:N'."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    has_cuda = "CUDAExecutionProvider" in available
    if device == "auto":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"] if has_cuda else ["CPUExecutionProvider"]
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if not has_cuda:
            raise SkelzooError(
                f"device {device!r}: this onnxruntime has no CUDA provider (available: "
                f"{', '.join(available)}); install the GPU build (pip install 'skelzoo[gpu]') or use --device cpu."
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise SkelzooError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'.")


def _provider_options(device: str, providers: list[str], tf32: bool) -> list[dict[str, Any]]:
    opts: list[dict[str, Any]] = []
    for p in providers:
        if p == "CUDAExecutionProvider":
            o: dict[str, Any] = {"use_tf32": "1" if tf32 else "0"}
            if device.startswith("cuda:"):
                o["device_id"] = device.split(":", 1)[1]
            opts.append(o)
        else:
            opts.append({})
    return opts


def read_spec(path: str | Path) -> dict[str, Any]:
    """The input spec stored in an ONNX file by ``skelzoo export`` (without building a session)."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise SkelzooError(f"{path}: no such ONNX file.")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise SkelzooError(f"{path}: not an ONNX model ({_first_line(err)}). Export one with `skelzoo export --format onnx`.") from None
    return _spec_from_props({p.key: p.value for p in model.metadata_props}, path)


def _spec_from_props(props: dict[str, str], path: Path) -> dict[str, Any]:
    if SPEC_KEY not in props:
        raise SkelzooError(
            f"{path}: an ONNX model without skelzoo's input spec ({SPEC_KEY!r} metadata), so its "
            "expected joints, bodies and frames are unknown. Export it with `skelzoo export`."
        )
    try:
        spec = json.loads(props[SPEC_KEY])
    except json.JSONDecodeError as err:
        raise SkelzooError(f"{path}: the {SPEC_KEY!r} metadata is not valid JSON ({err}).") from None
    if not isinstance(spec, dict):
        raise SkelzooError(f"{path}: the {SPEC_KEY!r} metadata is not a JSON object.")
    return spec


def check_matches_spec(onnx_spec: dict[str, Any], expected_spec: dict[str, Any], source: str) -> None:
    """Raise when an exported file's input spec disagrees with `expected_spec` (e.g. a zoo entry's
    ``input_spec``) on layout, joints, coordinates, bodies, frames or preprocessing.

    Keys missing on either side are not compared; empty preprocessing means "unknown". A file with
    a dynamic time axis accepts any clip length, so its frame count is not held against it."""
    problems = []
    for key in MATCH_KEYS:
        if key not in onnx_spec or key not in expected_spec:
            continue
        have, want = onnx_spec[key], expected_spec[key]
        if key == "preprocessing" and (not have or not want):
            continue
        if key == "frames" and onnx_spec.get("dynamic_frames"):
            continue
        if str(have) != str(want):
            problems.append(f"{key} {have!r} (expected {want!r})")
    if problems:
        raise SkelzooError(
            f"{source}: the exported model does not match the expected input: {'; '.join(problems)}. "
            "Re-export it from the matching checkpoint (`skelzoo export`), or pick the model that "
            "was trained on this data."
        )


class OnnxEncoder:
    """An ONNX encoder exported by ``skelzoo export``.

    ``enc = OnnxEncoder("seq.onnx"); feats = enc(clips)`` with clips a float32 array
    ``(N, C, T, V, M)``; returns float32 ``(N, D)``. ``device``: 'auto' (CUDA when the GPU build of
    onnxruntime is installed, else CPU), 'cpu', 'cuda' or 'cuda:N'. ``batch_size`` splits large
    inputs into runs of that many clips (None: one run).
    """

    def __init__(self, path: str | Path, device: str = "auto", batch_size: int | None = None,
                 tf32: bool = True, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise SkelzooError(f"{self.path}: no such ONNX file.")
        providers = providers_for(device)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # errors only: provider fallbacks are reported via .providers
        if threads:
            opts.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(
                str(self.path), sess_options=opts, providers=providers,
                provider_options=_provider_options(device, providers, tf32),
            )
        except Exception as err:
            raise SkelzooError(
                f"{self.path}: ONNX Runtime cannot load it as a model ({_first_line(err)}). "
                "Is it an .onnx file written by `skelzoo export`?"
            ) from None
        if device.startswith("cuda") and "CUDAExecutionProvider" not in self.session.get_providers():
            raise SkelzooError(f"{self.path}: the CUDA provider failed to start (CUDA/cuDNN libraries missing?); use --device cpu.")
        self.input_spec = _spec_from_props(self.session.get_modelmeta().custom_metadata_map, self.path)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise SkelzooError(f"{self.path}: expected one input and one output, found {len(inputs)} and {len(outputs)}.")
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        self.arch = str(self.input_spec.get("arch", "onnx"))
        self.feature_dim = int(self.input_spec.get("feature_dim", 0))
        self.batch_size = batch_size

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def check_input(self, x: np.ndarray) -> None:
        spec = self.input_spec
        if x.ndim != 5:
            raise SkelzooError(
                f"{self.path}: expects clips (N, C, T, V, M), got an array of shape {x.shape}; "
                "add the batch axis with x[None] for one clip."
            )
        _, c, t, v, m = x.shape
        want = {"C (coordinates)": (c, spec.get("channels")), "V (joints)": (v, spec.get("joints")),
                "M (bodies)": (m, spec.get("bodies"))}
        bad = [f"{k} = {have} but the model takes {exp}" for k, (have, exp) in want.items()
               if exp is not None and int(have) != int(exp)]
        if spec.get("dynamic_frames", False):
            if t < int(spec.get("min_frames", 1)):
                bad.append(f"T = {t} frames, fewer than the {spec['min_frames']} the model needs")
        elif spec.get("frames") is not None and t != int(spec["frames"]):
            bad.append(f"T = {t} frames but the model was exported for exactly {spec['frames']}")
        if bad:
            raise SkelzooError(
                f"{self.path}: input {tuple(x.shape)} does not match the model's input spec "
                f"(layout {spec.get('layout')!r}): {'; '.join(bad)}. Convert the clips "
                "(skelzoo extract does the evaluation crop to the model's frame count)."
            )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise SkelzooError(f"{self.path}: expects float clips, got dtype {x.dtype}.")
        self.check_input(x)
        x = np.ascontiguousarray(x, dtype=np.float32)
        if len(x) == 0:
            return np.zeros((0, self.feature_dim), np.float32)
        step = self.batch_size or len(x)
        outs = [self.session.run([self.output_name], {self.input_name: x[i : i + step]})[0]
                for i in range(0, len(x), step)]
        return np.concatenate(outs).astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"OnnxEncoder({str(self.path)!r}, arch={self.arch!r}, providers={self.providers})"


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__
