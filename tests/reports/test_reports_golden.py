"""The report of the golden database, checked against medians and ratios computed by hand.

golden.db (see data/make_golden.py) holds, in milliseconds of wall time per repetition:

    suite alpha-2 on alpha, startup:  tracker 50 48 53; mltraq 1100 1150 1130;
                                      mlflow 4800 (crash) 4900
    suite alpha-2, high_frequency:    n_values=100:   tracker 40..45, mltraq 1000..1050,
                                                      mlflow 5000..5500 (6 each, even steps)
                                      n_values=1000:  tracker 45..50, mltraq 1100..1150,
                                                      mlflow 9500..10000
                                      n_values=10000: tracker 60..65, mltraq unsupported x6,
                                                      mlflow 64000..66500
    suite beta-1 on beta, startup:    tracker 60 61 75; mltraq 72 80 90; mlflow 5000 5100 5200
    suite alpha-1 on alpha (older):   startup only; not in the default report
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from reports import analysis
from results.cells import load

# | configuration | framework | version | ok / cells | median s | IQR s | interval s |
# | vs fastest | vs tracker | server start s | durability | fidelity | other outcomes |
# (the configuration only on its first row, the fastest's; the rows below it leave it empty)
# (golden.db, results schema 1, records a server start of 0 s for every ok cell and no
# durability; its reference tracker is known by its name)
EXPECTED_ROWS = [
    # alpha-2 startup. tracker: sorted 48 50 53 -> median 50, q1 49, q3 51.5, IQR 2.5
    "| default | tracker (reference) | 0.1.0 | 3 / 3 | 0.0500 | 0.00250 | 0.0480 to 0.0530 "
    "(range) | 1x (fastest) | 1x (reference) | 0.00 | - | exact | - |",
    # mltraq: 1100 1130 1150 -> median 1130, IQR 1140-1115 = 25; 1130/50 = 22.6;
    # ranges 1100..1150 and 48..53 do not overlap: no ~
    "|  | mltraq | 0.1.165 | 3 / 3 | 1.13 | 0.0250 | 1.10 to 1.15 (range) "
    "| 22.6x | 22.6x | 0.00 | - | exact | - |",
    # mlflow: the crashed repetition is left out: 4800 4900 -> median 4850, IQR 50; with 2
    # ok repetitions no ratio is claimed
    "|  | mlflow | 3.17.2 | 2 / 3 | 4.85 | 0.0500 | 4.80 to 4.90 (range) "
    "| not ranked (2 ok < 3) | not ranked (2 ok < 3) | 0.00 | - | exact | crash 1/3 |",
    # high_frequency n_values=100: tracker 40..45 -> median 42.5, IQR 43.75-41.25 = 2.5;
    # mltraq median 1025 -> 1025/42.5 = 24.12; mlflow 5250/42.5 = 123.5
    "|  | mltraq | 0.1.165 | 6 / 6 | 1.02 | 0.0250 |",
    "| 24.1x | 24.1x | 0.00 | - | exact | - |",
    "|  | mlflow | 3.17.2 | 6 / 6 | 5.25 | 0.250 |",
    "| 124x | 124x | 0.00 | - | lossy: metric steps stored as float32 (synthetic) | - |",
    # n_values=1000: tracker median 47.5; mltraq 1125/47.5 = 23.68; mlflow 9750/47.5 = 205.3
    "| n_values=1000 | tracker (reference) | 0.1.0 | 6 / 6 | 0.0475 |",
    "| 23.7x | 23.7x | 0.00 | - | exact | - |",
    "| 205x | 205x | 0.00 | - | lossy: metric steps stored as float32 (synthetic) | - |",
    # n_values=10000: tracker 62.5; mlflow 65250/62.5 = 1044; mltraq has no ok cell
    "|  | mlflow | 3.17.2 | 6 / 6 | 65.2 | 1.25 |",
    "| 1044x | 1044x | 0.00 | - | lossy: metric steps stored as float32 (synthetic) | - |",
    "|  | mltraq | 0.1.165 | 0 / 6 | - | - | - | - | - | - | - | - | unsupported 6/6 |",
    # beta-1 startup. tracker: 60 61 75 -> median 61, q1 60.5, q3 68, IQR 7.5;
    # mltraq 80/61 = 1.311, its range 72..90 overlaps 60..75: within the noise;
    # mlflow 5100/61 = 83.6
    "| default | tracker (reference) | 0.1.0 | 3 / 3 | 0.0610 | 0.00750 | 0.0600 to 0.0750 "
    "(range) | 1x (fastest) | 1x (reference) | 0.00 | - | exact | - |",
    "|  | mltraq | 0.1.165 | 3 / 3 | 0.0800 | 0.00900 | 0.0720 to 0.0900 (range) "
    "| \\~1.31x | \\~1.31x | 0.00 | - | exact | - |",  # \\~: a lone ~ is strikethrough on GitHub
    "|  | mlflow | 3.17.2 | 3 / 3 | 5.10 | 0.100 | 5.00 to 5.20 (range) "
    "| 83.6x | 83.6x | 0.00 | - | exact | - |",
]


@pytest.fixture(scope="module")
def markdown(report_dir: Path) -> str:
    return (report_dir / "report.md").read_text("utf-8")


@pytest.fixture(scope="module")
def page(report_dir: Path) -> str:
    return (report_dir / "index.html").read_text("utf-8")


@pytest.mark.parametrize("expected", EXPECTED_ROWS)
def test_markdown_numbers_match_hand_computed_ones(markdown: str, expected: str) -> None:
    assert expected in markdown


def test_html_carries_the_same_numbers(page: str) -> None:
    for text in [
        "22.6x",
        "not ranked (2 ok &lt; 3)",
        "124x",
        "205x",
        "1044x",
        "83.6x",
        "0.0500",
        "0.0610",
        "crash 1/3",
        "unsupported 6/6",
        "0.0480 to 0.0530 (range)",
    ]:
        assert f">{text}<" in page, text
    assert '<span class="noise" title="within the noise">~1.31x</span>' in page


def test_machines_and_suites_are_never_pooled(markdown: str) -> None:
    # tracker startup pooled over alpha-2 and beta-1: 48 50 53 60 61 75 -> median 56.5
    assert "0.0565" not in markdown
    # the older suite on alpha (tracker 40 41 42 -> 0.0410) is listed but not reported
    assert "0.0410" not in markdown
    assert "## suite alpha-2 on alpha" in markdown
    assert "## suite beta-1 on beta" in markdown
    assert "- alpha-1 on alpha" in markdown


def test_bootstrap_intervals_with_six_repetitions(golden_db: Path) -> None:
    res = load(str(golden_db))
    (alpha,) = analysis.sections(res, ["alpha-2"])
    rows = {(r.config, r.framework): r for r in analysis.rows(alpha, "high_frequency")}
    row = rows[("n_values=100", "tracker")]
    assert row.summary is not None
    assert row.summary.kind == "ci95"
    # 40..45: a bootstrap median interval lies within the sample range, around the median
    assert 40e6 <= row.summary.low <= 42.5e6 <= row.summary.high <= 45e6
    assert row.summary.median == 42.5e6


def test_failures_are_listed_with_their_reasons(markdown: str, page: str) -> None:
    # one row per framework, outcome and reason: how many cells, where, the reason
    crash = (
        "| mlflow | crash | 1 | startup (default) | exit code 1: sqlite3.OperationalError: "
        "database is locked |"
    )
    assert crash in markdown
    assert (
        "| mltraq | unsupported | 6 | high_frequency (n_values=10000) | mltraq "
        "keeps every value in memory until persist(); 10^4 values exceed the cap |"
    ) in markdown
    assert "database is locked" in page
    assert "10^4 values exceed the cap" in page


def test_provenance_on_both_pages(markdown: str, page: str) -> None:
    for text in [
        "Linux-6.1.0-x86_64-with-glibc2.36",
        "2 x Synthetic CPU @ 2.0GHz (alpha)",
        "3.11.7",
        "abc1234+dirty",
        "trackbench run --grid quick --scenarios startup high_frequency",
        "trackbench report --db golden.db",  # by its name: a page is published as it is
        "3.17.2",
        "0.1.165",
        "UTC",
    ]:
        assert text in markdown, text
        assert text in page, text


def test_every_image_exists_as_png_and_svg(report_dir: Path, markdown: str, page: str) -> None:
    sources = re.findall(r'<img src="([^"]+)"', page)
    # per section: bars, phases, resources per scenario, scaling for high_frequency, fidelity
    assert len(sources) == (3 * 2 + 1 + 1) + (3 + 1)
    for src in sources:
        assert not src.startswith(("/", "http", "file:")), "images must be relative"
        png = report_dir / src
        assert png.stat().st_size > 1000
        assert png.with_suffix(".svg").stat().st_size > 1000
        assert f"]({src})" in markdown
    for kind in ["bars", "scaling", "phases", "resources", "fidelity"]:
        assert any(f"-{kind}" in Path(s).stem for s in sources), kind


def _png_text(path: Path) -> dict[str, str]:
    """The tEXt/iTXt chunks of a PNG."""
    data = path.read_bytes()
    pos, out = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _tkey, _, text = rest.partition(b"\0")
            out[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode()
        pos += 12 + length
    return out


def test_images_carry_their_provenance(report_dir: Path, golden_db: Path) -> None:
    for png in sorted((report_dir / "img").glob("alpha-*.png")):
        meta = _png_text(png)
        described = meta["Description"]
        for text in [
            "alpha",
            "suite alpha-2",
            "commit abc1234+dirty",
            "Python 3.11.7",
            "results: trackbench run --grid quick",
            "figure: trackbench report",
            "mlflow 3.17.2",
        ]:
            assert text in described, (png.name, text)
        svg = png.with_suffix(".svg").read_text("utf-8")
        # the footer is drawn into the figure itself (SVG text stays text)
        assert "commit abc1234+dirty" in svg
        assert "results: trackbench run --grid quick" in svg


def test_golden_db_is_what_its_script_writes(tmp_path: Path) -> None:
    import importlib.util

    script = Path(__file__).parent / "data" / "make_golden.py"
    spec = importlib.util.spec_from_file_location("make_golden", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, version in (("golden.db", 1), ("golden2.db", 2)):
        module.main(tmp_path / name, version)
        # the committed file, copied: opening it in place would leave WAL files beside it
        committed_path = tmp_path / f"committed-{name}"
        committed_path.write_bytes((script.parent / name).read_bytes())
        fresh, committed = load(str(tmp_path / name)), load(str(committed_path))
        assert fresh.cells.equals(committed.cells), "run make_golden.py and commit " + name
        assert [r.params for r in fresh.suite_runs] == [r.params for r in committed.suite_runs]


def test_lossy_results_are_noted_with_their_reason(markdown: str) -> None:
    # mlflow's 18 high-frequency cells came back lossy (3 configurations x 6 repetitions)
    expected = (
        "| mlflow | lossy | metric steps stored as float32 (synthetic) | high_frequency | 18 |"
    )
    assert expected in markdown


def test_leftovers_are_listed(markdown: str, page: str) -> None:
    # one of mlflow's 21 cells in alpha-2 (3 startup, 18 high_frequency) left something
    expected = (
        "| mlflow | 1 / 21 | 1 | 2 | \\~/.config/mlflow/telemetry.json, \\~/.cache/mlflow/x.lock |"
    )
    assert expected in markdown
    assert "~/.config/mlflow/telemetry.json" in page
    # beta-1 left nothing behind, and says so
    assert "None: no cell left a process running" in markdown.split("## suite beta-1")[1]
