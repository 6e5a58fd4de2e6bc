"""A realistic training loop: per-step loss and learning rate (and more metrics, with
n_metrics), per-epoch evaluation, weights."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from adapters.base import ARRAYS, STEPS, Adapter
from scenarios.workloads.base import Workload, metric_width, named_rows

# loss and lr: the metrics of every step before n_metrics existed (its default)
OWN_METRICS = 2


class TrainingInputs(NamedTuple):
    """A training run's data: params, per-step (loss, lr), per-epoch evaluation, weights."""

    params: dict[str, Any]
    steps: list[tuple[float, float]]
    evaluations: list[dict[str, float]]
    steps_per_epoch: int
    weights: Any  # a read-only float32 numpy array
    # with n_metrics > 2: each step's whole row (loss, lr, metric_02 ..), built untimed
    rows: list[dict[str, float]] | None = None


def _training_prepare(params: dict[str, Any]) -> TrainingInputs:
    import random

    import numpy as np  # the final weights are an array

    rng = random.Random(4)
    epochs, per_epoch = params["epochs"], params["steps_per_epoch"]
    total = epochs * per_epoch
    base_lr = 0.001
    steps = []
    for step in range(total):
        lr = base_lr * 0.5 * (1 + math.cos(math.pi * step / total))  # cosine schedule
        loss = 2.3 * math.exp(-3 * step / total) * (1 + 0.05 * rng.gauss(0, 1))
        steps.append((loss, lr))
    evaluations = [
        {
            "val_loss": 2.3 * math.exp(-3 * (e + 1) / epochs) + 0.05 * rng.random(),
            "val_accuracy": 1 - math.exp(-(e + 1)) * rng.uniform(0.8, 1.0),
        }
        for e in range(epochs)
    ]
    weights = np.random.default_rng(4).standard_normal(params["n_weights"]).astype(np.float32)
    weights.flags.writeable = False
    run_params = {
        "lr": base_lr,
        "batch_size": 64,
        "optimizer": "adamw",
        "epochs": epochs,
        "weight_decay": 0.01,
        "model": "mlp-2x256",
    }
    rows = None
    n_metrics = params["n_metrics"]
    if n_metrics < OWN_METRICS:
        raise ValueError(f"training_loop logs loss and lr every step: n_metrics >= {OWN_METRICS}")
    if n_metrics > OWN_METRICS:
        extra = named_rows(12, total, n_metrics, metric_width(n_metrics), first=OWN_METRICS)
        rows = [
            {"loss": loss, "lr": lr, **more} for (loss, lr), more in zip(steps, extra, strict=True)
        ]
    return TrainingInputs(run_params, steps, evaluations, per_epoch, weights, rows)


def _training_run(t: Adapter, inputs: TrainingInputs) -> None:
    t.start_run("training_loop", "run-0", inputs.params)
    per_epoch, rows = inputs.steps_per_epoch, inputs.rows
    for epoch, evaluation in enumerate(inputs.evaluations):
        first = epoch * per_epoch
        # the branch outside the step loop: at n_metrics=2 the timed loop is the one it was
        if rows is None:
            for step in range(first, first + per_epoch):
                loss, lr = inputs.steps[step]
                t.log({"loss": loss, "lr": lr}, step)
        else:
            for step in range(first, first + per_epoch):
                t.log(rows[step], step)
        # evaluated at the epoch's last step, as most training loops report it
        t.log(evaluation, first + per_epoch - 1)
    if ARRAYS in t.supports:
        t.log_array("weights", inputs.weights)
    t.end_run()


TRAINING_LOOP = Workload(
    name="training_loop",
    doc="1 run: 6 params, epochs x steps_per_epoch steps of n_metrics values (loss, lr, ..), "
    "val_loss and val_accuracy per epoch, final float32 weights of n_weights (with arrays)",
    run=_training_run,
    prepare=_training_prepare,
    defaults={"epochs": 3, "steps_per_epoch": 100, "n_weights": 10_000, "n_metrics": OWN_METRICS},
    param_docs={
        "epochs": "epochs, each ending with val_loss and val_accuracy at its last step",
        "steps_per_epoch": "steps per epoch",
        "n_weights": "float32 elements of the final weights array (4 bytes each)",
        "n_metrics": "metrics logged each step: loss, lr, then seeded floats metric_02 ..",
    },
    least={"n_metrics": OWN_METRICS},
    needs=frozenset({STEPS}),
)
