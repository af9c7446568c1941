"""`render_report`: results files in, one self-contained HTML page out.

The flow is load -> build the page (plain data, charts as data URIs) -> render the
template -> write atomically. Every file is read and checked before anything is written,
so a bad input leaves no output behind, and a failed render never leaves half a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infragap.atomic import write_atomically
from infragap.errors import MissingDependency
from infragap.reports import microbench, schema
from infragap.reports.model import Page
from infragap.reports.page import build_page
from infragap.reports.runs import label_runs

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE = "report.j2"


def environment() -> Any:
    """The Jinja2 environment: autoescaping on for everything, undefined names are errors."""
    try:
        import jinja2
    except ImportError:
        raise MissingDependency("Jinja2 (needed to write the HTML report)", "report") from None
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_html(page: Page) -> str:
    return str(environment().get_template(TEMPLATE).render(page=page))


def build_report(
    results_paths: Sequence[Path],
    benchmark_paths: Sequence[Path] = (),
    generated_at: str | None = None,
) -> str:
    """The report's HTML for the given files; raises ResultsError naming a bad file."""
    if not results_paths:
        raise ValueError("render_report needs at least one results file")
    docs = [schema.load(Path(p)) for p in results_paths]
    benchmarks = [microbench.load(Path(p)) for p in benchmark_paths]
    runs = label_runs([Path(p).name for p in results_paths], docs)
    return render_html(build_page(runs, benchmarks, generated_at))


def render_report(
    results_paths: Sequence[Path],
    output: Path,
    benchmark_paths: Sequence[Path] = (),
    *,
    generated_at: str | None = None,
) -> Path:
    """Write the report for `results_paths` to `output` and return `output`.

    One results file renders that run; with two or more, runs of the same suite are also
    compared (the first file is the baseline). `benchmark_paths` are pytest-benchmark JSON
    files shown as a micro-benchmark table. The page carries no render time unless
    `generated_at` is given, so the same inputs give the same page.
    """
    html = build_report(results_paths, benchmark_paths, generated_at)
    output = Path(output)
    write_atomically(output, html)
    return output
