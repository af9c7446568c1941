"""What every load-driven suite shares: the load options, the per-level record and the
one level driver.

A level is one run of the load runner against one variant: N closed-loop users, or an
open-loop rate. `drive_levels` runs every level of every endpoint the same way (warm-up,
steady-state windows, server usage, per-level save, progress line, warnings) and the
SLO capacity search; a suite adds its own fields to each record with probes (rows per
second, Triton's batching, ...).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from infragap.errors import ConfigError
from infragap.loadtests.arrivals import (
    ARRIVAL_KINDS,
    ArrivalKind,
    Arrivals,
    connections_for,
    parse_rates,
)
from infragap.loadtests.runner import LevelSpec, run_level
from infragap.loadtests.server_usage import UsageMonitor
from infragap.loadtests.slo import SearchPolicy, Slo, judge, next_rate, parse_slo
from infragap.loadtests.steady import SETTLE_WINDOWS, SteadyRule
from infragap.loadtests.target import Body, load_targets
from infragap.ports import LOOPBACK
from infragap.reports.records import LevelRecord, ServerUsage
from infragap.reports.stats import latency_summary, rate
from infragap.suites.endpoint import Endpoint

if TYPE_CHECKING:
    from infragap.loadtests.latency_log import LevelLoad
    from infragap.suites.base import BenchContext

LOADGEN_BUSY_PERCENT = 90.0
DEFAULT_MAX_WINDOWS = 5
DEFAULT_SLO_START = 10.0
# perf_analyzer's least measurement-request-count: fewer and a window says little.
MIN_WINDOW_REQUESTS = 50
# One Locust process is one core of Python: at 32 users it held Triton to 76% of hey's
# rate on 2 cores, two processes to 97% (README, "Measured figures").
DEFAULT_LOAD_PROCESSES = min(2, os.cpu_count() or 1)
GENERATOR_BEHIND_SHARE = 0.01  # more than 1% of sends over 10 ms late


def parse_users(text: str) -> list[int]:
    """`--users 1,8,32` -> [1, 8, 32], or ConfigError saying what is wrong."""
    try:
        users = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--users {text!r}: give user counts like 1,8,32") from None
    if not users or any(u < 1 for u in users):
        raise ConfigError(f"--users {text!r}: give positive user counts like 1,8,32")
    return users


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The load options every load-driven suite reads (see load_config)."""
    group = parser.add_argument_group(
        "load (every load-driven suite)",
        "Closed loop (--users) is the default. --rates runs an open loop: sends on a seeded "
        "schedule whatever the server does, latency from each intended send time. --slo "
        "searches each variant's highest rate that meets the SLO.",
    )
    group.add_argument("--users", help="closed-loop user counts, e.g. 1,8,32")
    group.add_argument("--duration", type=float, help="measured seconds per level")
    group.add_argument("--warmup", type=float, help="warm-up seconds per level, not measured")
    group.add_argument("--rates", help="open-loop rates in requests per second, e.g. 50,100,200")
    group.add_argument(
        "--arrival",
        choices=ARRIVAL_KINDS,
        default="poisson",
        help="open-loop spacing of sends (default poisson)",
    )
    group.add_argument(
        "--connections",
        type=int,
        help="open-loop connections (default: rate x 0.25 s, between 4 and 256)",
    )
    group.add_argument(
        "--slo", help="find each variant's highest rate under this SLO, e.g. p99=100ms,errors<0.1%%"
    )
    group.add_argument(
        "--slo-start",
        type=float,
        help="first rate the SLO search tries (default: half the best closed-loop rate, or 10)",
    )
    group.add_argument(
        "--slo-trials", type=int, default=10, help="most rates the SLO search tries (default 10)"
    )
    group.add_argument(
        "--load-processes",
        type=int,
        default=DEFAULT_LOAD_PROCESSES,
        help="Locust worker processes on this machine; above 1, a Locust master runs them "
        f"(default {DEFAULT_LOAD_PROCESSES}: one per core, at most 2)",
    )
    group.add_argument(
        "--load-expect-workers",
        type=int,
        default=0,
        help="workers the master also waits for from other machines (see README)",
    )
    group.add_argument(
        "--load-master-bind",
        default=LOOPBACK,
        help="address the Locust master listens on (default 127.0.0.1; remote workers "
        "need one they can reach)",
    )
    group.add_argument(
        "--calibrate",
        choices=("auto", "always", "never"),
        default="auto",
        help="drive the fastest variant at the top user level with hey or wrk too, and record "
        "both figures (auto: when one is on PATH)",
    )
    group.add_argument(
        "--max-windows",
        type=int,
        default=DEFAULT_MAX_WINDOWS,
        help=f"a level is measured in windows of duration/3 until the last 3 agree within "
        f"10%%, at most this many (default {DEFAULT_MAX_WINDOWS}; below 3: one fixed window)",
    )


def load_config(args: argparse.Namespace, quick: bool, default_users: list[int]) -> dict[str, Any]:
    """The load part of a suite's configuration, validated before any server starts."""
    # An open loop replaces the closed one unless --users asks for both.
    open_loop = bool(args.rates or args.slo)
    users = parse_users(args.users) if args.users else ([] if open_loop else default_users)
    if args.connections is not None and args.connections < 1:
        raise ConfigError("--connections must be at least 1")
    if args.load_processes < 1:
        raise ConfigError("--load-processes must be at least 1 (1: one Locust process)")
    if args.load_expect_workers < 0:
        raise ConfigError("--load-expect-workers must be 0 or more")
    if args.duration is not None and not args.duration > 0:
        raise ConfigError("--duration must be a positive number of seconds")
    if args.warmup is not None and args.warmup < 0:
        raise ConfigError("--warmup must be 0 or more seconds")
    if args.slo:
        parse_slo(args.slo)
        SearchPolicy(args.slo_start or 1.0, max_trials=args.slo_trials)
    return {
        "users": users,
        "rates": parse_rates(args.rates) if args.rates else [],
        "arrival": args.arrival,
        "connections": args.connections,
        "slo": args.slo,
        "slo_start": args.slo_start,
        "slo_trials": args.slo_trials,
        "max_windows": args.max_windows,
        "load_processes": args.load_processes,
        "load_expect_workers": args.load_expect_workers,
        "load_master_bind": args.load_master_bind,
        "calibrate": _calibrate_choice(args.calibrate),
        "duration_s": args.duration or (5.0 if quick else 30.0),
        "warmup_s": args.warmup if args.warmup is not None else (2.0 if quick else 5.0),
    }


def _calibrate_choice(choice: str) -> bool:
    from infragap.loadtests.native import find_native, require_native

    if choice == "always":
        require_native()  # before any server starts: say how to install hey
    return choice != "never" and find_native() is not None


def load_plan(config: dict[str, Any], requests_file: Path, seed: int) -> LoadPlan:
    """The LoadPlan of a suite configuration made by load_config."""
    return LoadPlan(
        users=config["users"],
        warmup_s=config["warmup_s"],
        duration_s=config["duration_s"],
        requests_file=requests_file,
        rates=config.get("rates") or [],
        arrival=config.get("arrival") or "poisson",
        connections=config.get("connections"),
        seed=seed,
        slo=parse_slo(config["slo"]) if config.get("slo") else None,
        slo_start=config.get("slo_start"),
        slo_trials=config.get("slo_trials") or 10,
        max_windows=config.get("max_windows") or 0,
        calibrate=bool(config.get("calibrate")),
        processes=config.get("load_processes") or 1,
        remote_workers=config.get("load_expect_workers") or 0,
        master_bind=config.get("load_master_bind") or LOOPBACK,
    )


def level_record(
    load: LevelLoad, server: ServerUsage, spec: LevelSpec | None = None
) -> LevelRecord:
    """Pure: the JSON record of one level from what the load runner measured."""
    requests = len(load.latencies_ms)
    record = LevelRecord(
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
            "cores": load.loadgen_cores,
        },
        sends={
            "count": load.sends,
            "late": load.late_sends,
            "backlogged": load.backlogged_sends,
            "max_delay_ms": round(load.max_delay_ms, 3),
            "generator_behind": load.late_sends > GENERATOR_BEHIND_SHARE * load.sends,
        },
    )
    if spec is not None and spec.arrivals is not None:
        record["arrival"] = {
            "kind": spec.arrivals.kind,
            "offered_rps": spec.arrivals.rate_per_s,
            "connections": spec.users,
        }
    if spec is not None and spec.steady is not None and load.settled is not None:
        record["steady"] = {
            "window_s": spec.steady.window_s,
            "percentile": spec.steady.percentile,
            "tolerance": spec.steady.tolerance,
            "windows": [[round(rps, 3), ms] for rps, ms in load.windows],
            "settled": load.settled,
            "judged_on": load.judged_on,
        }
    return record


def level_name(variant: str, level: LevelRecord) -> str:
    arrival = level.get("arrival")
    if arrival:
        return f"{variant} at {arrival['offered_rps']:g} req/s offered"
    return f"{variant} at {level['users']} users"


def level_warnings(variant: str, level: LevelRecord) -> list[str]:
    """Pure: what makes a level's numbers less trustworthy."""
    where = level_name(variant, level)
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
    sends = level.get("sends")
    if sends and sends["generator_behind"]:
        warnings.append(
            f"{where}: the load generator fell behind its schedule ({sends['late']} of "
            f"{sends['count']} sends over 10 ms late, the latest by {sends['max_delay_ms']:.0f} ms)"
        )
    steady = level.get("steady")
    if steady and not steady["settled"]:
        warnings.append(
            f"{where}: not in steady state after {len(steady['windows'])} windows of "
            f"{steady['window_s']:g} s (throughput or p{steady['percentile']:g} moved by more "
            f"than {steady['tolerance']:.0%}); its last windows are reported"
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
    """The sweep every endpoint runs: closed-loop user counts, open-loop rates and an
    optional SLO capacity search, all from one seeded request file. With `max_windows`
    of 3 or more each level is measured in windows of duration_s / 3 until it settles."""

    users: list[int]
    warmup_s: float
    duration_s: float
    requests_file: Path
    rates: list[float] = field(default_factory=list)
    arrival: ArrivalKind = "poisson"
    connections: int | None = None
    seed: int = 0
    slo: Slo | None = None
    slo_start: float | None = None
    slo_trials: int = 10
    max_windows: int = 0
    calibrate: bool = False
    processes: int = 1
    remote_workers: int = 0
    master_bind: str = LOOPBACK

    def steady(self, rate_per_s: float | None = None) -> SteadyRule | None:
        """Windows of duration / 3; an open loop's hold MIN_WINDOW_REQUESTS sends where a
        window of at most --duration can."""
        if self.max_windows < SETTLE_WINDOWS:
            return None
        window_s = self.duration_s / SETTLE_WINDOWS
        if rate_per_s:
            # at most --duration per window, or a rate of 1/s would take minutes a level
            window_s = max(window_s, min(MIN_WINDOW_REQUESTS / rate_per_s, self.duration_s))
        percentile = self.slo.watched_percentile if self.slo else 99.0
        return SteadyRule(window_s, self.max_windows, percentile)

    def closed(self, users: int) -> LevelSpec:
        spec = LevelSpec(users, self.warmup_s, self.duration_s, steady=self.steady())
        return self._spread(spec)

    def open(self, rate_per_s: float) -> LevelSpec:
        arrivals = Arrivals(self.arrival, rate_per_s, self.seed)
        connections = self.connections or connections_for(rate_per_s)
        steady = self.steady(rate_per_s)
        duration_s = SETTLE_WINDOWS * steady.window_s if steady else self.duration_s
        spec = LevelSpec(connections, self.warmup_s, duration_s, arrivals, steady)
        return self._spread(spec)

    def _spread(self, spec: LevelSpec) -> LevelSpec:
        """The same level over this plan's Locust processes and remote workers."""
        return dataclasses.replace(
            spec,
            processes=self.processes,
            remote_workers=self.remote_workers,
            master_bind=self.master_bind,
        )


@dataclass
class LevelDriver:
    """Runs levels against endpoints into a results section, saving after each one."""

    ctx: BenchContext
    section: dict[str, Any]
    plan: LoadPlan
    say: Callable[[str], None]
    probes: Callable[[Endpoint], list[LevelProbe]] = lambda _endpoint: []

    def variant(self, endpoint: Endpoint) -> dict[str, Any]:
        variants = self.section.setdefault("variants", {})
        return cast(dict[str, Any], variants.setdefault(endpoint.name, {"levels": []}))

    def run(self, endpoint: Endpoint, spec: LevelSpec) -> LevelRecord:
        """One level: probes, server usage and the load runner; the record it makes."""
        chosen = self.probes(endpoint)
        load_text = (
            f"{spec.arrivals.rate_per_s:g} req/s offered"
            if spec.arrivals
            else f"{spec.users} users"
        )
        with self.ctx.console.status(f"{endpoint.name}: {load_text}, warm-up {spec.warmup_s:g} s"):
            for probe in chosen:
                probe.before()
            monitor = UsageMonitor(endpoint.processes)
            monitor.start()
            try:
                load = run_level(
                    self.ctx.supervisor,
                    target=endpoint.target,
                    host=endpoint.url,
                    spec=spec,
                    requests_file=self.plan.requests_file,
                    work_dir=self.ctx.work_dir / f"load-{endpoint.name}-{spec.label}",
                    target_option=endpoint.target_option,
                )
            finally:
                server = monitor.stop()
            extra: dict[str, Any] = {}
            for probe in chosen:
                extra.update(probe.after(load))
        level = cast(LevelRecord, {**level_record(load, server, spec), **extra})
        self.section.setdefault("warnings", []).extend(level_warnings(endpoint.name, level))
        notes = "".join(note for probe in chosen if (note := probe.note(extra)))
        self.say(level_line(endpoint.name, level) + notes)
        return level

    def sweep(self, endpoint: Endpoint) -> None:
        """The closed-loop users, then the open-loop rates."""
        variant = self.variant(endpoint)
        for users in self.plan.users:
            variant["levels"].append(self.run(endpoint, self.plan.closed(users)))
            self.ctx.results.save()
        for rate_per_s in self.plan.rates:
            variant.setdefault("rates", []).append(self.run(endpoint, self.plan.open(rate_per_s)))
            self.ctx.results.save()

    def interleaved_sweep(self, endpoints: Sequence[Endpoint]) -> None:
        """Each closed-loop level, then each open-loop rate, run on every endpoint in
        turn, the first one rotating from level to level: a drift of the machine over
        the run (heat, a neighbour) then falls on every variant alike, not on the ones
        that happen to run last."""
        specs = [("levels", self.plan.closed(users)) for users in self.plan.users]
        specs += [("rates", self.plan.open(rate)) for rate in self.plan.rates]
        for index, (key, spec) in enumerate(specs):
            for endpoint in rotated(endpoints, index):
                self.variant(endpoint).setdefault(key, []).append(self.run(endpoint, spec))
                self.ctx.results.save()

    def search_start(self, endpoint: Endpoint) -> float:
        """--slo-start, else half the best closed-loop rate measured, else 10 req/s."""
        if self.plan.slo_start:
            return self.plan.slo_start
        measured = [lv["throughput_rps"] for lv in self.variant(endpoint)["levels"]]
        best = max(measured, default=0.0)
        return round(best / 2, 1) if best >= 2 else DEFAULT_SLO_START

    def capacity(self, endpoint: Endpoint) -> None:
        """The SLO search: every rate tried kept, the best one that met the SLO named."""
        slo = self.plan.slo
        if slo is None:
            return
        policy = SearchPolicy(self.search_start(endpoint), max_trials=self.plan.slo_trials)
        record: dict[str, Any] = {"slo": slo.to_record(), "trials": [], "capacity_rps": None}
        self.variant(endpoint)["capacity"] = record
        tried: list[tuple[float, bool]] = []
        while (rate_per_s := next_rate(tried, policy)) is not None:
            level = cast(dict[str, Any], self.run(endpoint, self.plan.open(rate_per_s)))
            verdict = judge(slo, level)
            level["slo"] = {"met": verdict.met, "reasons": verdict.reasons}
            record["trials"].append(level)
            tried.append((rate_per_s, verdict.met))
            record.update(capacity_summary(record["trials"]))
            self.ctx.results.save()
            met = "meets" if verdict.met else "misses"
            self.say(f"{endpoint.name}: {rate_per_s:g} req/s {met} {slo.text}")
        record["search_complete"] = True
        self.ctx.results.save()

    def calibrate(self, endpoints: Sequence[Endpoint]) -> None:
        """The fastest variant at the top closed-loop level, driven again by hey or wrk at the
        same concurrency with the stream's first request (a native generator sends one
        body): what our generator reaches of a native one."""
        from infragap.loadtests.native import calibration_record, find_native, run_native

        generator = find_native()
        top = {e.name: _top_level(self.variant(e)["levels"]) for e in endpoints}
        measured = [(level["throughput_rps"], e) for e in endpoints if (level := top[e.name])]
        if generator is None or not measured:
            return
        _, fastest = max(measured, key=lambda pair: pair[0])
        level = top[fastest.name]
        assert level is not None
        target = load_targets().get(fastest.target)
        body = Body(*target.bodies(self.plan.requests_file, fastest.target_option)[0])
        with self.ctx.console.status(f"calibrating: {generator.name} on {fastest.name}"):
            native = run_native(
                generator,
                fastest.url + target.path(fastest.target_option),
                body.payload,
                body.headers,
                level["users"],
                level["window_s"] or self.plan.duration_s,
                self.ctx.work_dir / "calibration",
                self.ctx.supervisor,
            )
        record = calibration_record(
            native,
            level["throughput_rps"],
            level["latency_ms"]["p99"],
            level["users"],
            fastest.name,
        )
        self.section["calibration"] = record
        self.ctx.results.save()
        ratio = record["ratio"]
        self.say(
            f"calibration: {generator.name} drove {fastest.name} at {native.rps:.0f} req/s, "
            f"infragap at {level['throughput_rps']:.0f}"
            + (f" ({ratio:.0%})" if ratio is not None else "")
        )


def _top_level(levels: Sequence[LevelRecord]) -> LevelRecord | None:
    """The closed-loop level with the most users."""
    return max(levels, key=lambda level: level["users"], default=None)


def capacity_summary(trials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pure: the best trial that met the SLO and the lowest offered rate above it that did not."""
    met = [t for t in trials if t["slo"]["met"]]
    best = max(met, key=lambda t: t["arrival"]["offered_rps"], default=None)
    best_offered = best["arrival"]["offered_rps"] if best else 0.0
    missed = [
        t["arrival"]["offered_rps"]
        for t in trials
        if not t["slo"]["met"] and t["arrival"]["offered_rps"] > best_offered
    ]
    return {
        "capacity_rps": best["throughput_rps"] if best else None,
        "capacity_offered_rps": best["arrival"]["offered_rps"] if best else None,
        "capacity_trial": trials.index(best) if best else None,
        "first_miss_offered_rps": min(missed, default=None),
    }


def drive_levels(
    ctx: BenchContext,
    section: dict[str, Any],
    endpoints: Sequence[Endpoint],
    plan: LoadPlan,
    say: Callable[[str], None],
    probes: Callable[[Endpoint], list[LevelProbe]] = lambda _endpoint: [],
    interleave: bool = False,
) -> None:
    """Run every level of every endpoint into section["variants"][name]: "levels" (closed
    loop), "rates" (open loop) and "capacity" (the SLO search), saving after each level.
    By default each endpoint runs all its levels before the next; `interleave` runs each
    level on every endpoint in turn (LevelDriver.interleaved_sweep)."""
    driver = LevelDriver(ctx, section, plan, say, probes)
    section.setdefault("warnings", [])
    if interleave:
        for endpoint in endpoints:
            driver.variant(endpoint)  # variants keep the order they were given in
        driver.interleaved_sweep(endpoints)
    for endpoint in endpoints:
        if not interleave:
            driver.sweep(endpoint)
        driver.capacity(endpoint)
    if plan.calibrate:
        driver.calibrate(endpoints)


def rotated(items: Sequence[Endpoint], turn: int) -> list[Endpoint]:
    """Pure: `items` starting from index `turn` (modulo their count), wrapping round."""
    if not items:
        return []
    start = turn % len(items)
    return [*items[start:], *items[:start]]


def level_line(name: str, level: LevelRecord) -> str:
    lat = level["latency_ms"]
    return (
        f"{level_name(name, level)}: {level['throughput_rps']:.1f} req/s, "
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
                    ms_cell(lat["p50"]),
                    ms_cell(lat["p99"]),
                    str(level["failures"]),
                    *(cell(level) for _, cell in extra),
                ]
            )
    return rows


def ms_cell(value: float | None) -> str:
    """A latency in a summary table cell: one decimal, or n/a."""
    return "n/a" if value is None else f"{value:.1f}"


def _ms(value: float | None) -> str:
    return f"{ms_cell(value)} ms" if value is not None else "n/a"
