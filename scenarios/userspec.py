"""A user's own workload: a small TOML file, or `--set scenario.param=value` overrides.

    # my-project.toml: what my training jobs do, measured on the trackers I consider
    frameworks = ["tracker", "mlflow", "wandb"]   # optional: default all
    repeat = 5                                    # optional: default the grid's

    [scenarios.training_loop]
    epochs = 20
    steps_per_epoch = [500, 2000]                 # a list: one configuration per value
    n_metrics = 30

`trackbench run --spec my-project.toml` runs exactly those configurations; `--set
training_loop.epochs=20,40` changes one parameter of every configuration of a scenario in
the chosen grid (or of the spec). Every key, its type and default: the README's "Your own
workload". Every bad value is one line naming the file, the key and what it should be.
Standard library only.
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from results.errors import UsageError
from scenarios import estimates, grids, workloads

SPEC_KEYS = frozenset(
    {"frameworks", "repeat", "budget", "timeout", "runs_per_day", "with", "scenarios"}
)
# Sizes a spec may ask for. A parameter beyond MAX_WHOLE, or a configuration logging more
# than MAX_VALUES values or MAX_MEGABYTES of arrays, would only end in a timeout or out of
# memory for every framework (the full grid's largest: 10^7 values, a 1 GB array).
MAX_WHOLE = 10**9
MAX_VALUES = 10**9
MAX_MEGABYTES = 10_000
MAX_REPEAT = 1000  # the full grid repeats 10 times


class SpecError(UsageError):
    """A spec file or override that cannot be used (one line, naming what is wrong)."""


class Spec(NamedTuple):
    """A user's workload: configurations per scenario, and optionally the suite's settings."""

    scenarios: dict[str, list[dict[str, Any]]]
    frameworks: list[str]
    repeat: int | None
    budget: float | None = None  # seconds per framework
    timeout: float | None = None  # seconds per cell
    runs_per_day: float | None = None  # how many runs of this workload the team makes a day
    with_: tuple[str, ...] = ()  # requirements of other versions to measure


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


def toml_text(value: Any) -> str:
    """A value as a TOML file spells it (`"lots"`, `true`, `nan`, `a table`)."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (str, int, float)):
        return json.dumps(value)
    return f"a {type(value).__name__}"  # a TOML date or time


def _whole(value: Any) -> bool:
    if type(value) is int:
        return True
    return type(value) is float and math.isfinite(value) and value.is_integer()


def _checked(
    where: str, value: Any, default: Any, least: int = 0, show: Callable[[Any], str] = repr
) -> Any:
    """The value, of its parameter's type (that of its default): a whole number for a count,
    from `least` to MAX_WHOLE."""
    if type(default) is int:
        if not _whole(value):
            raise SpecError(f"{where}: {show(value)} is not a whole number")
        value = int(value)
        if value < least:
            floor = "negative" if least == 0 else f"less than {least}"
            raise SpecError(f"{where}: {show(value)} must not be {floor}")
        if value > MAX_WHOLE:
            raise SpecError(f"{where}: {show(value)} is more than {MAX_WHOLE:.0e} (the largest "
                            "size a cell can hold)")  # fmt: skip
        return value
    if type(default) is float:
        if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
            raise SpecError(f"{where}: {show(value)} is not a number of 0 or more")
        return float(value)
    if not isinstance(value, str):
        raise SpecError(f"{where}: {show(value)} is not text")
    return value


def _scenario(name: str, where: str = "") -> workloads.Workload:
    if name not in workloads.SCENARIOS:
        known = ", ".join(workloads.SCENARIOS)
        raise SpecError(f"{where}unknown scenario {name!r}; known: {known}")
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
        default, least = workload.defaults[param], workload.least.get(param, 0)
        values = [
            _checked(item, parse_value(v), default, least) for v in text.split(",") if v.strip()
        ]
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
    return from_dict(data, f"spec {path}")


def _positive(where: str, key: str, value: Any) -> float | None:
    """An optional positive finite number (seconds, runs a day)."""
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or value <= 0:
        raise SpecError(f"{where}: {key}: {toml_text(value)} is not a positive number")
    return float(value)


def _texts(where: str, key: str, value: Any, example: str) -> list[str]:
    """A list of non-empty strings."""
    if not isinstance(value, list):
        raise SpecError(f"{where}: {key}: {toml_text(value)} is not a list of strings "
                        f"(e.g. {example})")  # fmt: skip
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise SpecError(f"{where}: {key}: {toml_text(item)} is not a non-empty string "
                            f"(e.g. {example})")  # fmt: skip
    return [item.strip() for item in value]


def _frameworks(where: str, value: Any) -> list[str]:
    """Registered framework names (or `module:Class` adapters), at least one."""
    from adapters.registry import ADAPTERS  # names only: no adapter module is imported

    names = _texts(where, "frameworks", value, '["tracker", "mlflow"]')
    if not names:
        raise SpecError(f"{where}: frameworks: an empty list (leave the key out to run all)")
    for name in names:
        if name not in ADAPTERS and ":" not in name:
            raise SpecError(
                f"{where}: frameworks: unknown framework {name!r}; known: {', '.join(ADAPTERS)}"
            )
    return list(dict.fromkeys(names))


def _repeat(where: str, value: Any) -> int | None:
    if value is None:
        return None
    if not _whole(value) or not 1 <= value <= MAX_REPEAT:
        raise SpecError(f"{where}: repeat: {toml_text(value)} is not a whole number from 1 to "
                        f"{MAX_REPEAT}")  # fmt: skip
    return int(value)


def _configurations(where: str, name: str, table: Any) -> list[dict[str, Any]]:
    """One scenario's table: every combination of its values, smallest first."""
    workload = _scenario(name, f"{where}: scenarios.{name}: ")
    if not isinstance(table, dict):
        raise SpecError(f"{where}: scenarios.{name}: {toml_text(table)} is not a table of "
                        f"parameters ([scenarios.{name}])")  # fmt: skip
    axes: dict[str, list[Any]] = {}
    for param, value in table.items():
        here = f"{where}: scenarios.{name}.{param}"
        if param not in workload.defaults:
            known = ", ".join(workload.defaults) or "none"
            raise SpecError(f"{here}: unknown parameter; known: {known}")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise SpecError(f"{here}: an empty list")
        default, least = workload.defaults[param], workload.least.get(param, 0)
        axes[param] = [_checked(here, v, default, least, toml_text) for v in values]
    combos = [dict(zip(axes, vs, strict=True)) for vs in itertools.product(*axes.values())]
    for combo in combos:
        _, logged, megabytes = estimates.workload_size(name, workload.params(combo))
        if logged > MAX_VALUES or megabytes > MAX_MEGABYTES:
            label = ", ".join(f"{k}={v}" for k, v in combo.items())
            raise SpecError(
                f"{where}: scenarios.{name}: {label} logs {logged:,} values and "
                f"{megabytes:,.0f} MB a cell; at most {MAX_VALUES:,} values and "
                f"{MAX_MEGABYTES:,} MB"
            )
    return sorted(combos, key=grids.size)


def from_dict(data: dict[str, Any], where: str = "spec") -> Spec:
    """A Spec from parsed TOML; `where` begins every error (e.g. `spec my.toml`)."""
    unknown = sorted(set(data) - SPEC_KEYS)
    if unknown:
        raise SpecError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(SPEC_KEYS))}"
        )
    frameworks = _frameworks(where, data["frameworks"]) if "frameworks" in data else []
    scenarios = data.get("scenarios")
    if not isinstance(scenarios, dict) or not scenarios:
        raise SpecError(f"{where}: needs at least one [scenarios.NAME] table")
    return Spec(
        scenarios={name: _configurations(where, name, t) for name, t in scenarios.items()},
        frameworks=frameworks,
        repeat=_repeat(where, data.get("repeat")),
        budget=_positive(where, "budget", data.get("budget")),
        timeout=_positive(where, "timeout", data.get("timeout")),
        runs_per_day=_positive(where, "runs_per_day", data.get("runs_per_day")),
        with_=tuple(_texts(where, "with", data.get("with", []), '["mlflow==2.11.0"]')),
    )
