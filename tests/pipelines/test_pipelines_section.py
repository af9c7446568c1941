"""The pipelines report section on a recorded `bench pipelines --quick` run.

The fixture is a real results file (tests/pipelines/fixtures/pipelines-quick.json), so
the section is tested on exactly what the suite writes.
"""

import copy
import json
from pathlib import Path

import pytest

from infragap.reports.model import Code, Figure, KeyValues, Table
from infragap.reports.sections.all import SECTIONS
from infragap.reports.sections.pipelines import persistent_words, summary_table

FIXTURE = Path(__file__).parent / "fixtures" / "pipelines-quick.json"


@pytest.fixture(scope="module")
def doc():
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def section(doc):
    return doc["suites"]["pipelines"]


def test_the_section_is_registered_and_says_what_happened(section):
    contribution = SECTIONS.get("pipelines").contribute(section, "pipelines")
    text = " ".join(contribution.verdicts)
    assert "finished" in text and "redid" in text
    assert "stopped the script's backfill" in text
    assert "identical metrics.json" in text
    assert [p.title for p in contribution.parts] == [
        "Runs, wall time and redone work",
        "Timelines",
        "A missing input",
        "Airflow's fixed cost",
    ]
    assert {c.label for c in contribution.claims} >= {"Airflow's fixed cost per run"}
    assert contribution.warnings == []


def test_summary_table_has_a_row_per_scenario_and_side(section):
    table = summary_table(section)
    assert isinstance(table, Table)
    assert [(r[0].text, r[1].text) for r in table.rows] == [
        (name, side)
        for name in ("clean", "transient", "backfill", "missing")
        for side in ("naive", "airflow")
    ]
    assert all(len(row) == len(table.columns) for row in table.rows)


def test_timelines_draw_one_figure_per_scenario(section):
    pytest.importorskip("matplotlib")
    contribution = SECTIONS.get("pipelines").contribute(section, "pipelines")
    timelines = next(p for p in contribution.parts if p.title == "Timelines")
    assert [type(b) for b in timelines.blocks] == [Figure] * 4
    assert all(b.uri.startswith("data:image/svg+xml;base64,") for b in timelines.blocks)


def test_the_missing_input_is_shown_for_both_sides(section):
    contribution = SECTIONS.get("pipelines").contribute(section, "pipelines")
    missing = next(p for p in contribution.parts if p.title == "A missing input")
    titles = [b.title for b in missing.blocks if isinstance(b, (KeyValues, Code))]
    assert titles == [
        "shell script",
        "the script's last words on stderr",
        "Airflow DAG",
        "extract's last task log",
    ]
    stderr, dag, log = missing.blocks[2], missing.blocks[3], missing.blocks[4]
    assert "is missing" in stderr.text and "is missing" in log.text
    assert any("upstream_failed" in v for _, v in dag.items)
    assert persistent_words(None) == []


def test_a_mismatch_with_the_schedule_turns_the_check_red(section):
    broken = copy.deepcopy(section)
    broken["scenarios"]["transient"]["sides"]["airflow"]["schedule_check"] = {
        "matched": False,
        "mismatches": ["2025-01-08 train: Airflow recorded 1 tries"],
    }
    contribution = SECTIONS.get("pipelines").contribute(broken, "p")
    summary = contribution.parts[0].blocks
    assert summary[1].tone == "bad"


def test_metrics_have_unique_keys_and_samples(section):
    metrics = SECTIONS.get("pipelines").metrics(section)
    keys = [m.key for m in metrics]
    assert len(keys) == len(set(keys)) == 4 * 2 * 3
    success = {m.key: m.value for m in metrics if m.key.endswith("/success")}
    assert success["clean/naive/success"] == success["clean/airflow/success"] == 1.0


def test_the_whole_report_renders(tmp_path):
    pytest.importorskip("jinja2")
    from infragap.reports.html import render_report

    out = render_report([FIXTURE], tmp_path / "report.html")
    html = out.read_text()
    assert "Pipelines: shell script vs Airflow DAG" in html
    assert "upstream_failed" in html
