"""`trackbench profile` on the real reference tracker: a file per parameters, the
framework's frames alone unless --all-frames, what the profile cannot see stated, and
one-line refusals and failures."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

from scenarios.cli import main

SMALL, OTHER = "n_values=20", "n_values=30"


def profile(*argv: str) -> tuple[int, str, str]:
    """`trackbench profile ARGV`: its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["profile", *argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three profiles of the tracker's high_frequency cell: two parameters, then the first
    again with --all-frames (in a folder of its own: the same name)."""
    found: dict[str, Any] = {}
    for key, folder, argv in (("small", "a", [SMALL]), ("other", "a", [OTHER]),
                              ("all", "b", [SMALL, "--all-frames"])):  # fmt: skip
        out = tmp_path_factory.mktemp(folder) if folder not in found else found[folder]
        found[folder] = out
        found[key] = profile("tracker", "high_frequency", *argv, "--out", os.fspath(out))
    return found


def test_profiles_of_other_parameters_are_other_files(profiled: dict[str, Any]) -> None:
    for key in ("small", "other"):
        code, out, err = profiled[key]
        assert code == 0, err
        assert "(ok, tracking " in out
    names = sorted(p.name for p in profiled["a"].iterdir())
    assert names == [f"tracker-high_frequency-{p}.{ext}" for p in (SMALL, OTHER)
                     for ext in ("html", "importtime.txt", "summary.txt")]  # fmt: skip
    importtime = (profiled["a"] / f"tracker-high_frequency-{SMALL}.importtime.txt").read_text()
    assert "import time:" in importtime and "adapters.base" in importtime


def test_the_page_shows_the_framework_alone_unless_all_frames(profiled: dict[str, Any]) -> None:
    page = (profiled["a"] / f"tracker-high_frequency-{SMALL}.html").read_text(encoding="utf-8")
    everything = (profiled["b"] / f"tracker-high_frequency-{SMALL}.html").read_text("utf-8")
    framework = re.compile(r"/tracker/\w+\.py")  # the framework's own modules
    assert framework.search(page) and "adapters/reference.py" in page
    assert "scenarios/worker.py" not in page and "scenarios/workloads/" not in page
    assert framework.search(everything) and "scenarios/worker.py" in everything
    for key, kept in (("small", "left out"), ("all", "kept")):
        share = re.search(r"the harness's own code: (\d+)% of the sampled time, (kept|left out)",
                          profiled[key][1])  # fmt: skip
        assert share and 0 < int(share[1]) < 100 and share[2] == kept, profiled[key][1]


def test_what_the_profile_cannot_see_is_stated(profiled: dict[str, Any]) -> None:
    summary = (profiled["a"] / f"tracker-high_frequency-{SMALL}.summary.txt").read_text("utf-8")
    for text in (profiled["small"][1], summary):
        found = re.search(r"not covered: (\d+\.\d+) s CPU in other threads and processes, "
                          r"of (\d+\.\d+) s in all \(the profile shows the main thread only\)",
                          text)  # fmt: skip
        assert found and 0 <= float(found[1]) <= float(found[2]) and float(found[2]) > 0, text


def one_line(err: str, match: str) -> None:
    """`err` is one line, an error containing `match`."""
    assert err.count("\n") == 1 and err.startswith("trackbench: error: "), err
    assert match in err, err


def test_an_unsupported_cell_is_refused_before_running(tmp_path: Path) -> None:
    code, out, err = profile("sqltrack", "arrays", "--out", os.fspath(tmp_path / "p"))
    assert code == 2 and out == ""
    one_line(err, "sqltrack cannot run arrays: sqltrack has no arrays: ")
    assert not (tmp_path / "p").exists()


def test_a_cell_that_fails_under_the_profiler_is_one_line(tmp_path: Path) -> None:
    code, out, err = profile("tracker", "startup", "--timeout", "0.05", "--out", str(tmp_path))
    assert code == 1 and out == ""
    one_line(err, "tracker startup under the profiler: timeout: killed after 0.05 s")
    assert "not covered: unknown" in (tmp_path / "tracker-startup.summary.txt").read_text()


def test_a_bad_parameter_is_one_line(tmp_path: Path) -> None:
    code, _out, err = profile("tracker", "high_frequency", "n_values=1.5", "--out", str(tmp_path))
    assert code == 2
    one_line(err, "1.5 is not a whole number")
