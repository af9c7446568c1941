"""What every load-driven suite shares: the user sweep option, the per-level record and
the one level driver.

A level is one (variant, user count) run of the load runner. `drive_levels` runs every
level of every endpoint the same way (warm-up, window, server usage, per-level save,
progress line, warnings); a suite adds its own fields to each record with probes
(rows per second, Triton's batching, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from infragap.errors import ConfigError
from infragap.reports.records import LevelRecord, ServerUsage
from infragap.reports.stats import latency_summary, rate
from infragap.suites.endpoint import Endpoint

if TYPE_CHECKING:
    from infragap.loadtests.latency_log import LevelLoad
    from infragap.suites.base import BenchContext

LOADGEN_BUSY_PERCENT = 90.0


def parse_users(text: str) -> list[int]:
    """`--users 1,8,32` -> [1, 8, 32], or ConfigError saying what is wrong."""
    try:
        users = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--users {text!r}: give user counts like 1,8,32") from None
    if not users or any(u < 1 for u in users):
        raise ConfigError(f"--users {text!r}: give positive user counts like 1,8,32")
    return users


def level_record(load: LevelLoad, server: ServerUsage) -> LevelRecord:
    """Pure: the JSON record of one level from what the load runner measured."""
    requests = len(load.latencies_ms)
    return LevelRecord(
        users=load.users,
        window_s=load.window_s,
        requests=requests,
        failures=load.failures,
        failure_messages=load.failure_messages,
        throughput_rps=rate(requests, load.window_s),
        throughput_per_s=load.throughput_per_s,
        latency_ms=latency_summary(load.latencies_ms),
        latencies_ms=[round(x, 3) for x in load.latencies_ms],
        server=server,
        loadgen={
            "cpu_percent_mean": load.loadgen_cpu_percent,
            "cpu_percent_peak": load.loadgen_cpu_peak,
        },
    )


def level_warnings(variant: str, level: LevelRecord) -> list[str]:
    """Pure: what makes a level's numbers less trustworthy."""
    where = f"{variant} at {level['users']} users"
    warnings = []
    if level["failures"]:
        warnings.append(f"{where}: {level['failures']} failed requests")
    if level["requests"] == 0:
        warnings.append(f"{where}: no request completed inside the measured window")
    peak = level["loadgen"]["cpu_percent_peak"] or 0
    if peak >= LOADGEN_BUSY_PERCENT:
        warnings.append(
            f"{where}: the load generator reached {peak:.0f}% CPU, so it may have limited the load"
        )
    return warnings


class LevelProbe:
    """Something a suite measures around each level, added to the level's record.

    `before` runs just before the load starts, `after` once it ended and returns the
    fields to add; `note` adds to the progress line. The defaults do nothing.
    """

    def before(self) -> None:
        return None

    def after(self, load: LevelLoad) -> dict[str, Any]:
        return {}

    def note(self, fields: dict[str, Any]) -> str:
        return ""


@dataclass
class UnitRate(LevelProbe):
    """Units of work (rows scored, entities looked up) per second: requests x units each."""

    key: str
    units_per_request: int

    def after(self, load: LevelLoad) -> dict[str, Any]:
        return {self.key: rate(len(load.latencies_ms) * self.units_per_request, load.window_s)}


@dataclass(frozen=True)
class LoadPlan:
    """The sweep every endpoint runs: user counts, seconds per level, the request file."""

    users: list[int]
    warmup_s: float
    duration_s: float
    requests_file: Path


def drive_levels(
    ctx: BenchContext,
    section: dict[str, Any],
    endpoints: Sequence[Endpoint],
    plan: LoadPlan,
    say: Callable[[str], None],
    probes: Callable[[Endpoint], list[LevelProbe]] = lambda _endpoint: [],
) -> None:
    """Run every level of every endpoint into section["variants"][name]["levels"].

    Saves the results after each level, so an interruption keeps what was measured.
    """
    from infragap.loadtests.runner import run_level
    from infragap.loadtests.server_usage import UsageMonitor

    variants = section.setdefault("variants", {})
    warnings = section.setdefault("warnings", [])
    for endpoint in endpoints:
        levels = variants.setdefault(endpoint.name, {"levels": []})["levels"]
        for users in plan.users:
            chosen = probes(endpoint)
            status = f"{endpoint.name}: {users} users, {plan.warmup_s:g}+{plan.duration_s:g} s"
            with ctx.console.status(status):
                for probe in chosen:
                    probe.before()
                monitor = UsageMonitor(endpoint.processes)
                monitor.start()
                try:
                    load = run_level(
                        ctx.supervisor,
                        target=endpoint.target,
                        host=endpoint.url,
                        users=users,
                        warmup_s=plan.warmup_s,
                        duration_s=plan.duration_s,
                        requests_file=plan.requests_file,
                        work_dir=ctx.work_dir / f"load-{endpoint.name}-{users}",
                        target_option=endpoint.target_option,
                    )
                finally:
                    server = monitor.stop()
                extra: dict[str, Any] = {}
                for probe in chosen:
                    extra.update(probe.after(load))
            level = cast(LevelRecord, {**level_record(load, server), **extra})
            levels.append(level)
            warnings.extend(level_warnings(endpoint.name, level))
            ctx.results.save()
            notes = "".join(note for probe in chosen if (note := probe.note(extra)))
            say(level_line(endpoint.name, level) + notes)


def level_line(name: str, level: LevelRecord) -> str:
    lat = level["latency_ms"]
    return (
        f"{name} @ {level['users']} users: {level['throughput_rps']:.1f} req/s, "
        f"p50 {_ms(lat['p50'])}, p99 {_ms(lat['p99'])}, {level['failures']} failures"
    )


def level_rows(
    section: dict[str, Any], extra: Sequence[tuple[str, Callable[[Any], str]]] = ()
) -> list[list[str]]:
    """Terminal summary rows of every level (first row: headers), plus `extra` columns."""
    rows = [["variant", "users", "req/s", "p50 ms", "p99 ms", "failures", *(h for h, _ in extra)]]
    for name, variant in section.get("variants", {}).items():
        for level in variant["levels"]:
            lat = level["latency_ms"]
            rows.append(
                [
                    name,
                    str(level["users"]),
                    f"{level['throughput_rps']:.1f}",
                    _number(lat["p50"]),
                    _number(lat["p99"]),
                    str(level["failures"]),
                    *(cell(level) for _, cell in extra),
                ]
            )
    return rows


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"
