"""Self-supervised pre-training: MoCo / inter-skeleton contrast, recipes, and the trainer.

``train(config) -> run_dir`` runs a recipe (a :class:`TrainConfig`, a recipe name or a YAML path);
``load_recipe(name, overrides)`` builds a config; ``list_recipes()`` names the bundled ones.
"""

from __future__ import annotations

from skelzoo.train.config import TrainConfig, apply_overrides, list_recipes, load_recipe

__all__ = ["TrainConfig", "apply_overrides", "list_recipes", "load_recipe", "train", "MoCo"]


def __getattr__(name: str):
    # The trainer pulls in torch, models and data; importing the config stays light.
    if name in ("train", "Trainer"):
        from skelzoo.train import trainer

        return getattr(trainer, name)
    if name == "MoCo":
        from skelzoo.train.moco import MoCo

        return MoCo
    raise AttributeError(f"module 'skelzoo.train' has no attribute {name!r}")
