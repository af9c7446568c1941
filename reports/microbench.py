"""pytest-benchmark JSON files (`pytest --benchmark-json=FILE`) as a report table.

Loading checks the few fields the table uses and names the file and the problem when
one is missing; the table itself is built from plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infragap.errors import ResultsError
from infragap.reports import format as fmt
from infragap.reports.model import Block, Cell, KeyValues, Part, Table, Text
from infragap.reports.schema import read_json

STATS = ("median", "mean", "stddev", "min", "max", "rounds")


@dataclass(frozen=True)
class BenchmarkFile:
    source: str
    doc: dict[str, Any]


def validate(doc: Any, source: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise ResultsError(
            f"{source} is not a pytest-benchmark file (no 'benchmarks' list): "
            "write one with `pytest --benchmark-json=FILE`"
        )
    for index, bench in enumerate(doc["benchmarks"]):
        stats = bench.get("stats") if isinstance(bench, dict) else None
        if not isinstance(stats, dict) or "name" not in bench:
            raise ResultsError(f"{source}: benchmark {index} has no name or no stats")
        missing = [key for key in STATS if not isinstance(stats.get(key), (int, float))]
        if missing:
            raise ResultsError(
                f"{source}: benchmark {bench['name']!r} lacks the statistics {', '.join(missing)}"
            )
    return doc


def load(path: Path) -> BenchmarkFile:
    doc = read_json(path, "a pytest-benchmark file")
    return BenchmarkFile(path.name, validate(doc, str(path)))


def _where(bench: dict[str, Any]) -> str:
    """The test file (and group) a benchmark came from, as a second line."""
    module = str(bench.get("fullname") or "").rpartition("::")[0]
    group = f"group {bench['group']}" if bench.get("group") else ""
    return " · ".join(part for part in (module, group) if part)


def benchmark_rows(doc: dict[str, Any]) -> list[list[Cell]]:
    rows = []
    for bench in doc["benchmarks"]:
        stats = bench["stats"]
        ops = stats.get("ops")
        rows.append(
            [
                Cell(str(bench["name"]), note=_where(bench)),
                Cell(fmt.seconds(stats["median"])),
                Cell(fmt.seconds(stats["mean"]), note=f"± {fmt.seconds(stats['stddev'])}"),
                Cell(fmt.seconds(stats["min"])),
                Cell(fmt.seconds(stats["max"])),
                Cell(fmt.number(stats["rounds"])),
                Cell(fmt.rate(ops, "/s") if isinstance(ops, (int, float)) else fmt.MISSING),
            ]
        )
    return rows


def machine_items(doc: dict[str, Any]) -> list[tuple[str, str]]:
    machine = doc.get("machine_info") or {}
    cpu = machine.get("cpu") or {}
    commit = doc.get("commit_info") or {}
    items = [
        ("written", str(doc.get("datetime") or fmt.MISSING)),
        ("pytest-benchmark", str(doc.get("version") or fmt.MISSING)),
        (
            "python",
            f"{machine.get('python_implementation', '')} "
            f"{machine.get('python_version', '')}".strip()
            or fmt.MISSING,
        ),
        (
            "cpu",
            f"{cpu.get('brand_raw') or machine.get('machine') or fmt.MISSING}"
            + (f", {cpu['count']} cores" if cpu.get("count") else ""),
        ),
        ("host", str(machine.get("node") or fmt.MISSING)),
        (
            "commit",
            str(commit.get("id") or fmt.MISSING) + (" (dirty)" if commit.get("dirty") else ""),
        ),
    ]
    return items


def benchmark_blocks(files: list[BenchmarkFile]) -> list[Block]:
    blocks: list[Block] = [
        Text(
            "Micro-benchmarks measured by pytest-benchmark: each row is one operation timed "
            "over many rounds on the machine below."
        )
    ]
    for bench_file in files:
        blocks.append(
            Table(
                title=bench_file.source,
                columns=["benchmark", "median", "mean", "min", "max", "rounds", "ops"],
                rows=benchmark_rows(bench_file.doc),
            )
        )
        blocks.append(KeyValues(items=machine_items(bench_file.doc)))
    return blocks


def benchmark_part(files: list[BenchmarkFile], anchor: str = "microbenchmarks") -> Part | None:
    if not files:
        return None
    return Part("Micro-benchmarks", anchor, benchmark_blocks(files))
