"""Headless Chromium opens the report from disk: charts decode, nothing errs, nothing is
fetched. The full-page screenshots are kept under test-artifacts/ for a human to look at."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from headless import IMAGES_JS, Browser, chromium_path

from infragap.reports.html import render_report

FIXTURES = Path(__file__).parents[1] / "fixtures" / "results"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
HOSTILE = "<script>alert('x')</script>"

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium); CI installs it",
)


def hostile_results(tmp_path: Path) -> Path:
    doc = json.loads((FIXTURES / "serving-before.json").read_text())
    variants = doc["suites"]["serving"]["variants"]
    variants[HOSTILE] = variants.pop("naive-hoisted")
    doc["suites"]["serving"]["error"] = f'<img src=x onerror="alert(1)">{HOSTILE}'
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc))
    return path


CASES = {
    "report-run": lambda tmp: ([FIXTURES / "serving-before.json"], [FIXTURES / "microbench.json"]),
    "report-comparison": lambda tmp: (
        [FIXTURES / "serving-before.json", FIXTURES / "serving-after.json"],
        [],
    ),
    "report-hostile": lambda tmp: ([hostile_results(tmp)], []),
}


@pytest.mark.parametrize("name", list(CASES))
def test_chromium_opens_the_report_from_disk(tmp_path, name):
    results, benchmarks = CASES[name](tmp_path)
    page = render_report(results, tmp_path / f"{name}.html", benchmarks)
    with Browser(str(chromium_path())) as browser:
        browser.open(page)
        found = browser.evaluate(IMAGES_JS)
        shot = browser.screenshot(ARTIFACTS / f"{name}.png")
        log = browser.log

    assert found["images"], "the report has no charts"
    for image in found["images"]:
        assert image["decoded"], image
        assert image["scheme"] == "data", image
        assert image["naturalWidth"] > 0 and image["naturalHeight"] > 0, image
        assert image["width"] > 0 and image["height"] > 0, image
    assert found["scripts"] == 0
    assert found["brokenLinks"] == []
    assert found["textLength"] > 1000
    assert log.console_errors == []
    assert log.exceptions == []
    assert log.dialogs == []
    fetched = [url for url in log.requests if not url.startswith(("data:", "file:"))]
    assert fetched == [], f"the page made network requests: {fetched}"
    assert [url for url in log.requests if url.startswith("file:")] == [page.resolve().as_uri()]
    assert shot.stat().st_size > 10_000


def test_the_checks_would_see_a_request_an_error_and_a_broken_image(tmp_path):
    """Guard against a vacuous pass: a page that misbehaves is caught by the same log."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><title>bad</title><p>bad page</p>"
        '<img src="http://127.0.0.1:9/chart.png" alt="remote">'
        "<script>console.error('boom')</script>",
        encoding="utf-8",
    )
    with Browser(str(chromium_path())) as browser:
        browser.open(page)
        found = browser.evaluate(IMAGES_JS)
        log = browser.log
    assert "http://127.0.0.1:9/chart.png" in log.requests
    assert any("boom" in error for error in log.console_errors)
    assert found["scripts"] == 1
    assert not found["images"][0]["decoded"]
