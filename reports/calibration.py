"""The load generator's calibration in a report section: a warning and a small table.

A suite's results section may hold `calibration`: one record of
`infragap.loadtests.native.Calibration` (or a list of them), the fastest variant at the
top level driven once by a native generator (hey or wrk) and once by ours. When ours
reached less than `MIN_RATIO` of the native throughput, the load generator, not the
server, may have set the fastest variant's figures, so the report says so.
"""

from __future__ import annotations

from typing import Any

from infragap.reports import format as fmt
from infragap.reports.model import Cell, Part, Table, Text

MIN_RATIO = 0.9


def calibration_records(section: dict[str, Any]) -> list[dict[str, Any]]:
    """The section's calibration records (none, one, or several), ignoring malformed ones."""
    found = section.get("calibration")
    records = found if isinstance(found, list) else [found]
    return [r for r in records if isinstance(r, dict)]


def calibration_warnings(section: dict[str, Any]) -> list[str]:
    """One warning per calibration where ours reached less than 90% of the native rate."""
    warnings = []
    for record in calibration_records(section):
        ratio = record.get("ratio")
        if ratio is None or ratio >= MIN_RATIO:
            continue
        native = record.get("generator") or "the native generator"
        where = f"{record.get('variant', '?')} at {_users(record)}"
        figures = f"{fmt.rate(record.get('ours_rps'))} vs {fmt.rate(record.get('native_rps'))}"
        warnings.append(
            f"infragap's load generator reached only {fmt.percent(ratio * 100)} of {native}'s "
            f"throughput on {where} ({figures}): below {fmt.percent(MIN_RATIO * 100)}, so the "
            "load generator may understate the fastest variant; read its throughput as a "
            "lower bound"
        )
    return warnings


def calibration_part(section: dict[str, Any], anchor: str) -> Part | None:
    """'Load generator calibration': native vs ours, per record; None without a record."""
    records = calibration_records(section)
    if not records:
        return None
    rows = []
    for record in records:
        where = f"{record.get('variant', '?')} at {_users(record)}"
        ratio = record.get("ratio")
        rows.append(
            [
                Cell(where),
                Cell(_generator(record), note="native"),
                Cell(fmt.rate(record.get("native_rps"))),
                Cell(fmt.ms(record.get("native_p50_ms"))),
                Cell(fmt.ms(record.get("native_p99_ms"))),
                Cell(fmt.number(record.get("native_errors"))),
                Cell("100%"),
            ]
        )
        rows.append(
            [
                Cell(where),
                Cell("infragap (Locust)"),
                Cell(fmt.rate(record.get("ours_rps"))),
                Cell(fmt.MISSING),
                Cell(fmt.ms(record.get("ours_p99_ms"))),
                Cell(fmt.MISSING),
                Cell(
                    fmt.percent(ratio * 100) if ratio is not None else fmt.MISSING,
                    tone="muted" if ratio is None else "bad" if ratio < MIN_RATIO else "good",
                ),
            ]
        )
    table = Table(
        columns=["variant", "load generator", "throughput", "p50", "p99", "errors", "share"],
        rows=rows,
        numeric_from=2,
        caption="The same variant and concurrency driven by each generator, one after the "
        "other on the same servers. share: throughput as a share of the native one.",
    )
    intro = Text(
        "A load generator written in Python spends CPU on every request, and on a small "
        "machine that CPU is taken from the server, so the fastest variant is the one it "
        "can understate. A native generator drove that variant at the top level once more; "
        f"below {fmt.percent(MIN_RATIO * 100)} of its throughput, the report warns."
    )
    return Part("Load generator calibration", f"{anchor}-calibration", [intro, table])


def _generator(record: dict[str, Any]) -> str:
    name = str(record.get("generator") or "the native generator")
    version = record.get("generator_version")
    return f"{name} {version}" if version else name


def _users(record: dict[str, Any]) -> str:
    users = record.get("users")
    return fmt.users(users) if isinstance(users, int) else "the top level"
