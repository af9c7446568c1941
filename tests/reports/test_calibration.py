"""The calibration warning and table a report section shows."""

from __future__ import annotations

from infragap.loadtests.native import NativeResult, calibration_record
from infragap.reports.calibration import calibration_part, calibration_warnings
from infragap.reports.model import Table, Text


def record(ours_rps: float, native_ok: int = 2155, variant: str = "triton") -> dict:
    native = NativeResult(
        generator="hey",
        version="0.1.4-2+b4",
        concurrency=32,
        duration_s=1.0,
        requests=native_ok,
        ok=native_ok,
        p50_ms=12.0,
        p90_ms=20.0,
        p99_ms=36.0,
    )
    return dict(calibration_record(native, ours_rps, 45.0, 32, variant))


def test_a_generator_below_90_percent_of_the_native_one_is_warned_about():
    [warning] = calibration_warnings({"status": "ok", "calibration": record(1507.0)})
    assert "70%" in warning and "hey" in warning and "triton at 32 users" in warning
    assert "may understate the fastest variant" in warning
    assert "1,507 req/s vs 2,155 req/s" in warning


def test_no_warning_at_90_percent_or_without_a_calibration():
    assert calibration_warnings({"calibration": record(2155 * 0.9)}) == []
    assert calibration_warnings({"status": "ok"}) == []
    assert calibration_warnings({"calibration": record(100.0, native_ok=0)}) == []
    assert calibration_warnings({"calibration": "garbage"}) == []


def test_several_calibrations_are_each_checked():
    section = {"calibration": [record(2000.0), record(10.0, 365, "naive-hoisted")]}
    [warning] = calibration_warnings(section)
    assert "naive-hoisted" in warning


def test_the_part_tables_native_and_ours_with_our_share():
    part = calibration_part({"calibration": record(1507.0)}, "serving")
    assert part is not None
    assert part.title == "Load generator calibration"
    assert part.anchor == "serving-calibration"
    intro, table = part.blocks
    assert isinstance(intro, Text) and isinstance(table, Table)
    native, ours = ([cell.text for cell in row] for row in table.rows)
    assert native == [
        "triton at 32 users",
        "hey 0.1.4-2+b4",
        "2,155 req/s",
        "12.0 ms",
        "36.0 ms",
        "0",
        "100%",
    ]
    assert ours == [
        "triton at 32 users",
        "infragap (Locust)",
        "1,507 req/s",
        "–",
        "45.0 ms",
        "–",
        "70%",
    ]
    assert table.rows[1][-1].tone == "bad"
    good = calibration_part({"calibration": record(2100.0)}, "serving")
    assert good is not None and isinstance(good.blocks[1], Table)
    assert good.blocks[1].rows[1][-1].tone == "good"


def test_no_part_without_a_calibration():
    assert calibration_part({"status": "ok"}, "serving") is None
