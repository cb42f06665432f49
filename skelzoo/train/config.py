"""Training configuration: a dataclass tree, recipes (YAML files), and dotted overrides.

A recipe is a YAML file in ``skelzoo/recipes/`` (or any path) holding a subset of the fields of
:class:`TrainConfig`; whatever it leaves out keeps the default below. Any field can then be changed
with ``--set section.field=value`` (values parsed as YAML, then checked against the field's type).
Unknown names anywhere are a :class:`SkelzooError` with a suggestion.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from skelzoo.errors import SkelzooError, closest, unknown

RECIPE_DIR = Path(__file__).resolve().parent.parent / "recipes"
DEFAULT_RECIPE = "synth-seq-stg"
REPRESENTATIONS = ("seq", "stg", "img")


@dataclass
class DataConfig:
    path: Optional[str] = None  # benchmark directory (array format); None: the synthetic set
    dataset: str = "synth"  # what the recipe was written for (checked against meta.json)
    benchmark: str = "xview"
    synth_size: str = "default"  # synthetic set only: "default" or "tiny"
    synth_seed: int = 0
    train_split: str = "train"
    val_split: str = "val"
    workers: int = 0  # DataLoader worker processes; 0 loads in the training process
    max_clips: Optional[int] = None  # train on a seeded random subset of N clips (quick runs)
    layout: Optional[str] = None  # joint layout of the data when meta.json doesn't say (e.g. coco17)


@dataclass
class ModelConfig:
    encoders: list[str] = field(default_factory=lambda: ["seq", "stg"])
    width: float = 1.0
    head_dim: int = 128
    kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-encoder builder extras


@dataclass
class MocoConfig:
    queue_size: int = 16384
    momentum: float = 0.999
    temperature: float = 0.07


@dataclass
class AugmentConfig:
    spatial: bool = True
    temporal: bool = True
    min_ratio: float = 0.1
    frames: int = 64


@dataclass
class OptimConfig:
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    milestones: list[int] = field(default_factory=list)  # epochs at which lr *= gamma
    gamma: float = 0.1


@dataclass
class TrainConfig:
    name: str = DEFAULT_RECIPE  # the recipe
    description: str = ""
    run_name: Optional[str] = None  # runs/<run_name>/; default: the recipe name
    out: str = "runs"
    epochs: int = 450
    batch_size: int = 64  # global: split evenly over DDP ranks
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the query branches
    save_every: int = 10  # epochs between checkpoints (and always the last one)
    knn_every: int = 0  # epochs between 1-NN monitor runs on the val split; 0: off
    log_every: int = 10  # steps between log.jsonl lines (and always the last of an epoch)
    csv: bool = False  # also write log.csv
    tensorboard: bool = False  # also write TensorBoard events, if tensorboard is installed
    progress: bool = True
    resume: Optional[str] = None  # a checkpoint path, or "auto" (the run directory's)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    moco: MocoConfig = field(default_factory=MocoConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / (self.run_name or self.name)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "TrainConfig":
        cfg = cls()
        _merge(cfg, data, source, prefix="")
        return cfg

    def validate(self) -> "TrainConfig":
        """Checks that need no data; data-dependent ones (queue vs dataset) run in the trainer."""
        encs = list(self.model.encoders)
        if not encs:
            raise SkelzooError("model.encoders is empty; name one to three of seq, stg, img (e.g. --pair seq,stg).")
        for e in encs:
            if e not in REPRESENTATIONS:
                raise unknown("encoder", e, REPRESENTATIONS)
        if len(set(encs)) != len(encs):
            raise SkelzooError(
                f"encoders {','.join(encs)}: inter-skeleton contrast needs distinct representations "
                "(e.g. seq,stg); for single-representation MoCo name one encoder (e.g. --encoders seq)."
            )
        for name, value in (("epochs", self.epochs), ("batch_size", self.batch_size),
                            ("moco.queue_size", self.moco.queue_size), ("augment.frames", self.augment.frames)):
            if value < 1:
                raise SkelzooError(f"{name} must be at least 1; got {value}.")
        if self.moco.queue_size < self.batch_size:
            raise SkelzooError(
                f"queue size {self.moco.queue_size} is smaller than the batch {self.batch_size}; "
                "a step's keys must fit the queue (raise moco.queue_size or lower --batch-size)."
            )
        if self.save_every < 0 or self.knn_every < 0 or self.log_every < 1:
            raise SkelzooError("save_every and knn_every must be >= 0 and log_every >= 1.")
        if not self.optim.lr > 0:
            raise SkelzooError(f"optim.lr must be > 0; got {self.optim.lr}.")
        if not 0 < self.augment.min_ratio <= 1:
            raise SkelzooError(f"augment.min_ratio must lie in (0, 1]; got {self.augment.min_ratio}.")
        if self.data.workers < 0:
            raise SkelzooError(f"data.workers must be >= 0; got {self.data.workers}.")
        for name in (self.run_name, self.name):
            if name is not None and (not name or "/" in name or "\\" in name or name in (".", "..")):
                raise SkelzooError(f"run name {name!r} must be a plain directory name (no slashes).")
        return self


# ---------------------------------------------------------------------------------------- recipes


def list_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def recipe_path(name_or_path: str | Path) -> Path:
    """A recipe name (``ntu60-xview-seq-stg``) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise SkelzooError(f"{p}: no such recipe file.")
        return p
    candidate = RECIPE_DIR / f"{name_or_path}.yaml"
    if not candidate.is_file():
        err = unknown("recipe", str(name_or_path), list_recipes())
        raise SkelzooError(f"{err} List them with `skelzoo train --list-recipes`.")
    return candidate


def read_recipe_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SkelzooError(f"{path}: not valid YAML ({str(err).splitlines()[0]}).") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SkelzooError(f"{path}: a recipe is a YAML mapping of fields; got {type(data).__name__}.")
    return data


def load_recipe(name_or_path: str | Path = DEFAULT_RECIPE, overrides: list[str] | None = None) -> TrainConfig:
    """The recipe as a :class:`TrainConfig`, with ``key.sub=value`` overrides applied, validated."""
    path = recipe_path(name_or_path)
    data = read_recipe_yaml(path)
    data.setdefault("name", path.stem)
    cfg = TrainConfig.from_dict(data, source=str(path))
    apply_overrides(cfg, overrides or [])
    return cfg.validate()


# -------------------------------------------------------------------------------------- overrides


def apply_overrides(cfg: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply ``section.field=value`` strings; values are YAML (``[350]``, ``null``, ``true``)."""
    for item in overrides:
        if "=" not in item:
            raise SkelzooError(f"override {item!r} is not KEY=VALUE (e.g. --set optim.lr=0.02).")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        set_field(cfg, key.strip(), value)
    return cfg


def set_field(cfg: Any, dotted: str, value: Any, source: str = "override") -> None:
    parts = dotted.split(".")
    obj, prefix = cfg, ""
    for part in parts[:-1]:
        sub = _field_map(obj).get(part)
        if sub is None or not dataclasses.is_dataclass(getattr(obj, part)):
            raise _unknown_key(obj, part, prefix, source)
        obj, prefix = getattr(obj, part), f"{prefix}{part}."
    last = parts[-1]
    fields = _field_map(obj)
    if last not in fields:
        raise _unknown_key(obj, last, prefix, source)
    if dataclasses.is_dataclass(getattr(obj, last)):
        if not isinstance(value, dict):
            raise SkelzooError(f"{source}: {prefix}{last} is a section; set its fields ({prefix}{last}.<field>=...).")
        _merge(getattr(obj, last), value, source, prefix=f"{prefix}{last}.")
        return
    setattr(obj, last, _coerce(value, _hints(type(obj))[last], f"{prefix}{last}", source))


def _merge(obj: Any, data: dict[str, Any], source: str, prefix: str) -> None:
    if not isinstance(data, dict):
        raise SkelzooError(f"{source}: {prefix.rstrip('.') or 'the recipe'} must be a mapping.")
    for key, value in data.items():
        key = str(key)
        if "." in key:
            raise SkelzooError(f"{source}: key {prefix}{key!r} has a dot; nest it as a mapping instead.")
        fields = _field_map(obj)
        if key not in fields:
            raise _unknown_key(obj, key, prefix, source)
        if dataclasses.is_dataclass(getattr(obj, key)):
            _merge(getattr(obj, key), value, source, prefix=f"{prefix}{key}.")
        else:
            setattr(obj, key, _coerce(value, _hints(type(obj))[key], f"{prefix}{key}", source))


def _field_map(obj: Any) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(obj)}


def _unknown_key(obj: Any, key: str, prefix: str, source: str) -> SkelzooError:
    names = list(_field_map(obj))
    return SkelzooError(
        f"{source}: unknown config field {prefix + key!r}.{closest(key, names)} "
        f"Fields{' of ' + prefix.rstrip('.') if prefix else ''}: {', '.join(names)}."
    )


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, tp: Any, name: str, source: str) -> Any:
    """Check (and gently convert) `value` to the annotated type `tp`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], name, source)
    bad = SkelzooError(f"{source}: {name} must be {_type_name(tp)}; got {value!r}.")
    if origin is list:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            # "--set model.encoders=seq,stg" and "--set optim.milestones=350" read naturally.
            value = [v for v in str(value).split(",") if v.strip()] if isinstance(value, str) else [value]
        if not isinstance(value, (list, tuple)):
            raise bad
        return [_coerce(v.strip() if isinstance(v, str) else v, args[0], name, source) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        return {str(k): v for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            if isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    pass
            raise bad
        return int(value)
    if tp is float:
        if isinstance(value, bool):
            raise bad
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad from None
    if tp is str:
        if isinstance(value, (dict, list)) or value is None:
            raise bad
        return str(value)
    return value


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


# Fields that define what a checkpoint *is*; a resume must agree on them (run mechanics such as
# epochs, device, workers, logging may change).
RESUME_KEYS = ("name", "batch_size", "model", "moco", "augment", "seed")


def resume_mismatches(saved: dict[str, Any], cfg: TrainConfig) -> list[str]:
    now = cfg.to_dict()
    out = []
    for key in RESUME_KEYS:
        if saved.get(key) != now.get(key):
            out.append(f"{key}: checkpoint {saved.get(key)!r} vs now {now.get(key)!r}")
    return out
