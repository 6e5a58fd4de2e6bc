"""A user's own workload: a small TOML file, or `--set scenario.param=value` overrides.

    # my-project.toml: what my training jobs do, measured on the trackers I consider
    frameworks = ["tracker", "mlflow", "wandb"]   # optional: default all
    repeat = 5                                    # optional: default the grid's

    [scenarios.training_loop]
    epochs = 20
    steps_per_epoch = [500, 2000]                 # a list: one configuration per value
    n_weights = 1_000_000

    [scenarios.many_runs]
    n_runs = 200
    n_values = 50

`trackbench run --spec my-project.toml` runs exactly those configurations; `--set
training_loop.epochs=20,40` changes one parameter of every configuration of a scenario in
the chosen grid (or of the spec). Standard library only.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from results.errors import UsageError
from scenarios import grids, workloads

SPEC_KEYS = frozenset({"frameworks", "repeat", "scenarios"})


class SpecError(UsageError):
    """A spec file or override that cannot be used (one line, naming what is wrong)."""


class Spec(NamedTuple):
    """A user's workload: configurations per scenario, and optionally frameworks and repeat."""

    scenarios: dict[str, list[dict[str, Any]]]
    frameworks: list[str]
    repeat: int | None


def parse_value(text: str) -> int | float | str | bool:
    """`1000`, `1e4`, `10_000`, `0.5`, `true`; anything else stays text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(lowered.replace("_", ""))
    except ValueError:
        pass
    try:
        number = float(lowered.replace("_", ""))
    except ValueError:
        return text.strip()
    return int(number) if number.is_integer() and "e" in lowered else number


def _checked(where: str, value: Any, default: Any) -> Any:
    """The value, of its parameter's type (that of its default): a whole number for a count."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(f"{where}: {value!r} is not a number or a word")
    if type(default) is int:
        whole = type(value) is int or (
            type(value) is float and math.isfinite(value) and value.is_integer()
        )
        if not whole:
            raise SpecError(f"{where}: {value!r} is not a whole number")
        value = int(value)
    if isinstance(value, (int, float)) and value < 0:
        raise SpecError(f"{where}: {value!r} must not be negative")
    return value


def _scenario(name: str) -> workloads.Workload:
    if name not in workloads.SCENARIOS:
        raise SpecError(f"unknown scenario {name!r}; known: {', '.join(workloads.SCENARIOS)}")
    return workloads.get(name)


def parse_set(items: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    """`scenario.param=value[,value...]` overrides as {scenario: {param: [values]}}."""
    out: dict[str, dict[str, list[Any]]] = {}
    for item in items:
        target, sep, text = item.partition("=")
        scenario, dot, param = target.strip().partition(".")
        if not sep or not dot or not param or not text.strip():
            raise SpecError(f"--set wants scenario.param=value (e.g. high_frequency.n_values="
                            f"10000), got {item!r}")  # fmt: skip
        workload = _scenario(scenario)
        if param not in workload.defaults:
            known = ", ".join(workload.defaults) or "none"
            raise SpecError(f"scenario {scenario!r} has no parameter {param!r}; known: {known}")
        default = workload.defaults[param]
        values = [_checked(item, parse_value(v), default) for v in text.split(",") if v.strip()]
        out.setdefault(scenario, {})[param] = values
    return out


def load(path: str | Path) -> Spec:
    """Read a spec file; SpecError (one line) if it is missing, malformed or names unknowns."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"spec {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"spec {path} is not valid TOML: {exc}") from None
    return from_dict(data, str(path))


def from_dict(data: dict[str, Any], where: str = "spec") -> Spec:
    """A Spec from parsed TOML."""
    unknown = sorted(set(data) - SPEC_KEYS)
    if unknown:
        raise SpecError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(SPEC_KEYS))}"
        )
    frameworks = data.get("frameworks", [])
    if not isinstance(frameworks, list) or not all(isinstance(f, str) for f in frameworks):
        raise SpecError(f"{where}: frameworks must be a list of names")
    repeat = data.get("repeat")
    if repeat is not None and (type(repeat) is not int or repeat < 1):
        raise SpecError(f"{where}: repeat must be a positive integer, got {repeat!r}")
    scenarios = data.get("scenarios")
    if not isinstance(scenarios, dict) or not scenarios:
        raise SpecError(f"{where}: needs at least one [scenarios.NAME] table")
    out: dict[str, list[dict[str, Any]]] = {}
    for name, table in scenarios.items():
        workload = _scenario(name)
        if not isinstance(table, dict):
            raise SpecError(f"{where}: scenarios.{name} must be a table of parameters")
        axes: dict[str, list[Any]] = {}
        for param, value in table.items():
            if param not in workload.defaults:
                known = ", ".join(workload.defaults) or "none"
                raise SpecError(f"{where}: scenario {name!r} has no parameter {param!r}; "
                                f"known: {known}")  # fmt: skip
            values = value if isinstance(value, list) else [value]
            if not values:
                raise SpecError(f"{where}: scenarios.{name}.{param} is an empty list")
            here = f"{where}: scenarios.{name}.{param}"
            axes[param] = [_checked(here, v, workload.defaults[param]) for v in values]
        combos = [dict(zip(axes, vs, strict=True)) for vs in itertools.product(*axes.values())]
        out[name] = sorted(combos, key=grids.size)
    return Spec(out, list(frameworks), repeat)
