"""`import tracker` stays cheap: heavy libraries load only when a value needs them."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "pandas", "pyarrow", "sqlalchemy")


def _loaded_after(code: str, names: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    modules = set(json.loads(out.splitlines()[-1]))
    return [name for name in names if name in modules]


def test_import_pulls_in_no_heavy_library() -> None:
    assert _loaded_after("import tracker") == []


def test_logging_a_float_does_not_import_numpy(tmp_path) -> None:
    code = (
        "import tracker\n"
        f"db = tracker.connect({str(tmp_path / 'x.db')!r})\n"
        "with db.experiment('e').run(params={'lr': 0.1}) as run:\n"
        "    run.log({'loss': 0.5, 'nan': float('nan')}, step=0)\n"
        "    run['note'] = 'text'\n"
    )
    assert _loaded_after(code) == []


def test_zoneinfo_loads_only_for_a_datetime_with_a_zone(tmp_path) -> None:
    code = (
        "import datetime as dt, tracker\n"
        f"db = tracker.connect({str(tmp_path / 'x.db')!r})\n"
        "with db.experiment('e').run() as run:\n"
        "    run['naive'] = dt.datetime(2026, 1, 1)\n"
        "    run['fixed'] = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)\n"
        "print(db.get_run(run.id)['naive'], db.get_run(run.id)['fixed'])\n"
    )
    assert _loaded_after(code, ("zoneinfo",)) == []
