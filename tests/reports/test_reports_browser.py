"""The HTML report in headless Chromium: every image loads, the console shows no error.

Needs the Debian package `chromium` (CI installs it); nothing here downloads a browser.
Without it the tests skip on a developer's machine and fail under CI, so a missing install
step cannot pass unnoticed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from report_browser import chromium_binary, inspect


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
