"""The HTML report end to end, without a browser: golden pages, escaping, bad files.

Golden pages live in tests/reports/golden/. Chart payloads are replaced by a placeholder
before comparing (their bytes depend on the matplotlib version); the rest of the page
must match exactly. After an intended change, rewrite them with:
    INFRAGAP_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports/test_html_report.py
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from infragap import __version__
from infragap.errors import ResultsError
from infragap.reports import page as report_page
from infragap.reports.html import build_report, render_report
from infragap.reports.sections import GenericSection

FIXTURES = Path(__file__).parents[1] / "fixtures" / "results"
GOLDEN = Path(__file__).parent / "golden"
BEFORE = FIXTURES / "serving-before.json"
AFTER = FIXTURES / "serving-after.json"
INCOMPLETE = FIXTURES / "incomplete-mixed.json"
BENCH = FIXTURES / "microbench.json"
IMAGE = re.compile(r"data:image/(svg\+xml|png);base64,[A-Za-z0-9+/=]+")
STYLE = re.compile(r"<style>.*?</style>", re.DOTALL)


def normalise(html: str) -> str:
    """The page's content and structure: without chart bytes (they depend on the matplotlib
    version), the stylesheet (the browser test's screenshot shows the look) and our version."""
    html = STYLE.sub("<style>(stylesheet)</style>", html)
    return IMAGE.sub(r"data:image/\1;base64,(chart)", html).replace(
        f"infragap {__version__}", "infragap VERSION"
    )


def check_golden(name: str, html: str) -> None:
    path = GOLDEN / name
    text = normalise(html)
    if os.environ.get("INFRAGAP_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), f"golden/{name}", "rendered", lineterm=""
        )
        pytest.fail("the page differs from its golden file:\n" + "\n".join(list(diff)[:80]))


@pytest.mark.parametrize(
    ("name", "results", "benchmarks"),
    [
        ("serving-run.html", [BEFORE], [BENCH]),
        ("serving-comparison.html", [BEFORE, AFTER], []),
        ("incomplete-mixed.html", [INCOMPLETE], []),
    ],
)
def test_golden_pages(name, results, benchmarks):
    check_golden(name, build_report(results, benchmarks))


def test_same_input_same_bytes_charts_included(tmp_path):
    first = render_report([BEFORE, AFTER], tmp_path / "a.html")
    second = render_report([BEFORE, AFTER], tmp_path / "b.html")
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.html"]  # no temp files


def test_render_time_only_when_injected():
    html = build_report([BEFORE], generated_at="2025-03-04 12:00 UTC")
    assert "on 2025-03-04 12:00 UTC" in html
    assert "2025-03-04" not in build_report([BEFORE])


def test_incomplete_run_and_unknown_suite_are_warned_about_not_fatal():
    html = build_report([INCOMPLETE])
    assert "the run is incomplete (complete: false)" in html
    assert "the serving suite did not complete (status &#39;incomplete&#39;): interrupted" in html
    assert "the custom-embeddings suite did not complete (status &#39;failed&#39;)" in html
    assert "index build failed: out of memory" in html
    assert GenericSection("custom-embeddings").description in html
    assert 'id="suite-custom-embeddings"' in html


def test_a_section_plugin_that_raises_becomes_a_visible_note(monkeypatch):
    class Broken(GenericSection):
        def contribute(self, section, anchor):
            raise KeyError("latency_ms")

    monkeypatch.setattr(report_page, "section_for", lambda suite: Broken(suite))
    html = build_report([BEFORE])
    assert "This section could not be drawn (KeyError: &#39;latency_ms&#39;)" in html


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


HOSTILE = "<script>alert('x')</script>"


def hostile_document() -> dict:
    doc = json.loads(BEFORE.read_text())
    section = doc["suites"]["serving"]
    variants = section["variants"]
    variants[HOSTILE] = copy.deepcopy(variants["naive-hoisted"])
    variants[HOSTILE]["levels"][0]["failure_messages"] = {'<img src=x onerror="alert(1)">': 1}
    section["config"]["model_size"] = HOSTILE
    section["equivalence"]["variants"][HOSTILE] = {
        "passed": False,
        "requests_checked": 1,
        "max_abs_diff": 1.0,
        "mismatches": [HOSTILE],
    }
    section["warnings"].append(f"warning {HOSTILE}")
    doc["run"]["host"]["hostname"] = HOSTILE
    doc["run"]["command"].append(HOSTILE)
    doc["suites"][HOSTILE] = {"status": "failed", "error": f"boom {HOSTILE}", "config": {}}
    return doc


def test_everything_from_a_results_file_renders_as_text(tmp_path):
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile_document()))
    html = build_report([path])
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    elements = Elements()
    elements.feed(html)
    assert not [tag for tag, _ in elements.tags if tag == "script"]
    images = [attrs for tag, attrs in elements.tags if tag == "img"]
    assert images and all(str(a["src"]).startswith("data:image/svg+xml;base64,") for a in images)
    assert not [a for _, a in elements.tags if any(k.startswith("on") for k in a)]


def test_the_page_links_nowhere_outside_itself():
    elements = Elements()
    elements.feed(build_report([BEFORE, AFTER], [BENCH]))
    for tag, attrs in elements.tags:
        for key in ("href", "src"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("#", "data:image/")), (tag, key, value[:60])
    assert any(tag == "nav" for tag, _ in elements.tags)  # the table of contents


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def other_version() -> str:
    doc = json.loads(BEFORE.read_text())
    doc["schema_version"] = 2
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("v2.json", other_version(), "has schema version 2, this infragap reads 1"),
        ("cut.json", BEFORE.read_text()[:5000], "is not valid JSON .*truncated"),
        ("notes.txt", "Triton was fast, trust me\n", "is not valid JSON"),
        ("binary.json", b"\xff\xfe\x00\x01", "is not UTF-8 text"),
        ("other.json", '{"hello": "world"}', "is not an infragap results file"),
    ],
)
def test_bad_files_name_the_file_and_leave_nothing_behind(tmp_path, name, content, problem):
    bad = write(tmp_path, name, content)
    output = tmp_path / "out" / "report.html"
    with pytest.raises(ResultsError, match=problem) as caught:
        render_report([BEFORE, bad], output)
    assert str(bad) in str(caught.value)
    assert not output.exists()
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_missing_file_and_bad_benchmark_file(tmp_path):
    output = tmp_path / "report.html"
    with pytest.raises(ResultsError, match="cannot read"):
        render_report([tmp_path / "absent.json"], output)
    bench = write(tmp_path, "bench.json", '{"benchmarks": 3}')
    with pytest.raises(ResultsError, match=r"bench\.json is not a pytest-benchmark file"):
        render_report([BEFORE], output, [bench])
    assert list(tmp_path.iterdir()) == [bench]


def test_a_failed_write_keeps_the_previous_report_whole(tmp_path, monkeypatch):
    output = render_report([BEFORE], tmp_path / "report.html")
    previous = output.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        render_report([BEFORE, AFTER], output)
    assert output.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_no_results_files_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="at least one results file"):
        render_report([], tmp_path / "r.html")


def test_comparing_a_run_with_a_rerun_of_the_same_setup_says_so(tmp_path):
    rerun = json.loads(AFTER.read_text())
    before = json.loads(BEFORE.read_text())
    for key in ("git", "versions", "host", "seed", "config"):
        rerun["run"][key] = before["run"][key]
    rerun["suites"]["serving"]["config"] = before["suites"]["serving"]["config"]
    path = tmp_path / "rerun.json"
    path.write_text(json.dumps(rerun))
    html = build_report([BEFORE, path])
    assert "run-to-run variation on this machine, not the effect of a change" in html
    assert "run-to-run variation on this machine" not in build_report([BEFORE, AFTER])
