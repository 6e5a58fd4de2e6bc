"""Framework names users type, mapped to `module:Class` strings resolved only in the worker."""

from __future__ import annotations

import importlib

from adapters.base import Adapter

ADAPTERS: dict[str, str] = {
    # the reference tracker and the floors it is measured against
    "tracker": "adapters.reference:TrackerAdapter",
    "tracker-fsync": "adapters.reference:TrackerFsyncAdapter",
    "tracker-postgresql": "adapters.reference:TrackerPostgresqlAdapter",
    "sqlite": "adapters.floors:SqliteFloor",
    "numpy": "adapters.floors:NumpyFloor",
    # the harness's own cost: an adapter that does nothing
    "null": "adapters.null:NullAdapter",
    # peers
    "mltraq": "adapters.mltraq:MltraqAdapter",
    "mlflow": "adapters.mlflow:MlflowAdapter",
    "mlflow-server": "adapters.mlflow:MlflowServerAdapter",
    "mlflow-async": "adapters.mlflow:MlflowAsyncAdapter",
    "wandb": "adapters.wandb:WandbAdapter",
    "neptune": "adapters.neptune:NeptuneAdapter",
    "neptune-scale": "adapters.neptune_scale:NeptuneScaleAdapter",
    "aim": "adapters.aim:AimAdapter",
    "comet": "adapters.comet:CometAdapter",
    "fasttrackml": "adapters.fasttrackml:FasttrackmlAdapter",
    "sqltrack": "adapters.sqltrack:SqltrackAdapter",
    "sacred": "adapters.sacred:SacredAdapter",
    "ploomber": "adapters.ploomber:PloomberAdapter",
    "trackio": "adapters.trackio:TrackioAdapter",
    "swanlab": "adapters.swanlab:SwanlabAdapter",
    "tensorboard": "adapters.tensorboard:TensorboardAdapter",
    "dvclive": "adapters.dvclive:DvcliveAdapter",
    "clearml": "adapters.clearml:ClearmlAdapter",
}


def resolve(target: str) -> type[Adapter]:
    """The adapter class for a registry name or a `module:Class` string."""
    spec = ADAPTERS.get(target, target)
    module_name, _, class_name = spec.partition(":")
    if not class_name:
        known = ", ".join(sorted(ADAPTERS))
        raise KeyError(f"unknown framework {target!r}; known: {known}")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise TypeError(f"{spec} is not an Adapter subclass")
    return cls
