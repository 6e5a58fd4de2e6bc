"""Prints each benchmark's median as a ratio to the raw floor measured in the same run."""

from __future__ import annotations

from typing import Any

# (benchmark name, the floor it is compared with, target ratio or None when only reported)
RATIOS: set[tuple[str, str, float | None]] = set()
# Lines of comparisons made inside one test, whose two sides alternate round by round so that
# the machine's noise hits both (pytest-benchmark runs one test's rounds after another's).
MEASURED: list[str] = []


def report(name: str, what: str, measured: float, target: float, unit: str = "x") -> None:
    """Print a measurement beside its target now, and again in the summary."""
    verdict = "ok" if measured <= target else "OVER TARGET"
    line = f"{name}: {what} target: <= {target:g}{unit} measured: {measured:.2f}{unit} {verdict}"
    print(line)
    MEASURED.append(line)


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    medians = {bench.name: bench.stats.median for bench in session.benchmarks if bench.stats}
    lines = []
    for name, floor, target in sorted(RATIOS, key=str):
        if name in medians and floor in medians:
            ratio = medians[name] / medians[floor]
            verdict = "" if target is None else (" ok" if ratio <= target else " OVER TARGET")
            bound = "report only" if target is None else f"target <= {target}x"
            lines.append(f"{name} / {floor} = {ratio:.2f}x ({bound}){verdict}")
    lines += MEASURED
    if lines:
        terminalreporter.section("ratios of medians, measured in this run")
        for line in lines:
            terminalreporter.line(line)
