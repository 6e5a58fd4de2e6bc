"""The HTML report in headless Chromium: every image loads, the console shows no error, a
click on a column header sorts its table, the overview matrix has a row per framework, and
the top of the page at 1400x900 shows the verdict and the matrix without scrolling.

Needs the Debian package `chromium` (CI installs it); nothing here downloads a browser.
Without it the tests skip on a developer's machine and fail under CI, so a missing install
step cannot pass unnoticed.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from report_browser import chromium_binary, inspect

from reports import analysis
from results.cells import load


@pytest.fixture(autouse=True)
def _need_chromium() -> None:
    if chromium_binary() is None:
        message = "the Debian package chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_report_opens_offline_with_every_image(report_dir: Path) -> None:
    seen = inspect((report_dir / "index.html").as_uri())
    assert seen["errors"] == []
    assert seen["title"].startswith("trackbench report")
    images = seen["images"]
    assert len(images) == 12  # as counted in test_reports_golden.py
    for image in images:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    # everything the page loaded came from the report's own directory
    assert seen["requests"], "no request seen"
    assert all(u.startswith(report_dir.as_uri()) for u in seen["requests"]), seen["requests"]


def test_the_check_catches_a_broken_page(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body>"
        '<img src="img/missing.png"><script>console.error("boom")</script></body></html>',
        "utf-8",
    )
    seen = inspect(page.as_uri())
    assert [i["width"] for i in seen["images"]] == [0]
    assert any("boom" in e for e in seen["errors"])
    assert any("missing.png" in e or "ERR_FILE_NOT_FOUND" in e for e in seen["errors"])


# Run in the page: the matrix's rows, then a scenario table's framework column with the sort
# keys of its medians, before and after clicks on its "median s" header (once: ascending,
# twice: descending) and then on "framework" (by name); and where the top's parts are.
CLICKS = """(function () {
  var matrix = document.querySelector("table.overview");
  var names = Array.from(matrix.querySelectorAll("tbody tr:not(.group)"))
      .map(function (r) { return r.cells[0].textContent; });
  var table = document.querySelector("section[id$='-startup'] table");
  var heads = Array.from(table.querySelectorAll("thead th"));
  var col = heads.findIndex(function (th) { return th.textContent === "median s"; });
  function column() {
    return Array.from(table.querySelectorAll("tbody tr:not(.group)")).map(function (r) {
      return [r.cells[0].textContent, Number(r.cells[col].getAttribute("data-sort"))]; });
  }
  var before = column();
  heads[col].click();
  var up = column();
  heads[col].click();
  var down = column();
  heads[0].click();
  var byName = column();
  return {matrix: names, bottom: matrix.getBoundingClientRect().bottom,
          verdict: document.querySelector("ul.verdict").getBoundingClientRect().top,
          before: before, up: up, down: down, byName: byName};
})()"""


def _png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_the_top_shows_the_matrix_and_tables_sort_by_a_click(
    report2_dir: Path, golden2_db: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "top.png"
    seen = inspect((report2_dir / "index.html").as_uri(), script=CLICKS, screenshot=shot)
    assert seen["errors"] == []
    assert all(i["complete"] and i["width"] > 0 for i in seen["images"]), seen["images"]
    value = seen["value"]
    # the first section's matrix: a row per framework of its suite, the floor at the bottom
    (alpha, _beta) = analysis.sections(load(str(golden2_db)))
    assert sorted(value["matrix"]) == sorted(
        f"{f} (reference)" if f == "tracker" else f"{f} (floor)" if f == "sqlite" else f
        for f in alpha.frameworks()
    )
    assert value["matrix"][-1] == "sqlite (floor)"
    # the verdict and the whole matrix are in the window as the page opens
    assert 0 < value["verdict"] < value["bottom"] <= 900
    assert _png_size(shot) == (1400, 900)
    # startup's table as rendered (fastest first, wandb's wrong data at 21 ms leading), then
    # sorted by a click on "median s", then reversed by a second one
    medians = [key for _, key in value["before"]]
    assert medians == sorted(medians)
    assert value["up"] == sorted(value["before"], key=lambda r: r[1])
    assert value["down"] == sorted(value["before"], key=lambda r: -r[1])
    assert value["down"] != value["before"]
    names = [name for name, _ in value["byName"]]
    assert names == sorted(names) and names != [name for name, _ in value["before"]]
