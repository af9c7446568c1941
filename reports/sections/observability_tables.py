"""The observability section's data and tables: one function per table.

Reads the suite's results section (see infragap.suites.observability.steps and its
records.py) leniently: a part an interrupted run never reached reads as empty. Pure:
plain data in, page blocks out; the charts are in `observability_charts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from infragap.reports import format as fmt
from infragap.reports.bootstrap import RatioEstimate, mean_interval, ratio_of_means
from infragap.reports.bootstrap import ratio_of_percentiles as ratio_of_tails
from infragap.reports.model import (
    Block,
    Callout,
    Cell,
    Code,
    ItemList,
    KeyValues,
    Table,
    Text,
    Tone,
)
from infragap.reports.sections import serving_data
from infragap.reports.sections.serving_data import Level
from infragap.suites.observability.records import ObservabilityLevel
from infragap.workloads.operator_questions import (
    P50,
    P99,
    P99_BY_VARIANT,
    QUESTIONS,
    REQUEST_RATE,
    STATUS_SHARE,
    TRITON_BATCH_SIZE,
    TRITON_QUEUE_VS_COMPUTE,
)

BARE = "bare"  # the endpoint untimed: every overhead is measured against it
NAIVE = "log"
METRICS = ("otel", "prometheus-client")
OTHER_SERVER = "triton"  # another server, with its own metrics: shown, never set against bare
ORDER = (BARE, NAIVE, *METRICS, OTHER_SERVER)
SLOWED = "slowed"  # the alerting check's app (infragap.suites.observability.variants.SLOWED)
SLO_LAYOUT = "slo"
TAIL = 99.0
# The observation_cost way each variant's request handler pays once per request.
COST_WAY = {
    "log": "log-line",
    "otel": "otel-record-attributes",
    "prometheus-client": "prometheus-client-observe",
}
FLOOR_WAY = "nothing"
APP_QUESTIONS = (P50, P99, REQUEST_RATE, STATUS_SHARE, P99_BY_VARIANT)
TRITON_QUESTIONS = (TRITON_QUEUE_VS_COMPUTE, TRITON_BATCH_SIZE)
LAYOUT_WORDS = {
    "otel": "OTel SDK default",
    "prometheus-client": "its seconds buckets, in ms",
    SLO_LAYOUT: "fitted to the SLO",
}
# Short names for the table's first column (which never wraps); the full text is listed.
QUESTION_LABELS = {
    P50: "p50 latency",
    P99: "p99 latency",
    REQUEST_RATE: "request rate",
    STATUS_SHARE: "share by status",
    P99_BY_VARIANT: "p99 by variant",
    TRITON_QUEUE_VS_COMPUTE: "Triton queue, compute",
    TRITON_BATCH_SIZE: "Triton batch size",
}
SOURCE_WORDS = {"log": "timing log", "promql": "PromQL"}


# --- the data ----------------------------------------------------------------------------


def levels_of(section: dict[str, Any]) -> dict[str, dict[int, Level]]:
    """{variant: {users: Level}}: bare, log, the metrics variants, Triton, then others."""
    found = serving_data.levels_of(section)
    ordered = [name for name in ORDER if name in found] + [n for n in found if n not in ORDER]
    return {name: found[name] for name in ordered}


def compared(levels: Mapping[str, Mapping[int, Level]]) -> list[str]:
    """The timed variants set against bare: every variant but bare and Triton."""
    return [name for name in levels if name not in (BARE, OTHER_SERVER)]


@dataclass(frozen=True)
class Overhead:
    """One timed variant against bare at one user level. Both ratios are variant / bare:
    a throughput ratio below 1 or a p99 ratio above 1 is what timing cost."""

    variant: str
    users: int
    throughput: RatioEstimate
    p99: RatioEstimate
    bare: Level
    timed: Level

    @property
    def measurable(self) -> bool:
        return self.throughput.direction != 0 or self.p99.direction != 0

    @property
    def better_than_bare(self) -> bool:
        """Measurably faster than the untimed endpoint: timing cannot do that, drift can."""
        return self.throughput.direction > 0 or self.p99.direction < 0


def overheads(levels: Mapping[str, Mapping[int, Level]]) -> list[Overhead]:
    """Every timed variant at every user level bare also ran, by variant then users."""
    bare = levels.get(BARE, {})
    found = []
    for name in compared(levels):
        for users in sorted(set(bare) & set(levels[name])):
            base, timed = bare[users], levels[name][users]
            found.append(
                Overhead(
                    variant=name,
                    users=users,
                    throughput=ratio_of_means(timed.per_second, base.per_second),
                    p99=ratio_of_tails(timed.latencies, base.latencies, TAIL),
                    bare=base,
                    timed=timed,
                )
            )
    return found


def top_overheads(found: Sequence[Overhead]) -> list[Overhead]:
    """Per variant, the overhead at the highest user level it shares with bare."""
    top: dict[str, Overhead] = {}
    for overhead in found:
        if overhead.variant not in top or overhead.users > top[overhead.variant].users:
            top[overhead.variant] = overhead
    return list(top.values())


def observation_ns(section: dict[str, Any], variant: str) -> float | None:
    """ns per observation of the way `variant`'s handler times a request, if measured."""
    row = (section.get("observation_cost") or {}).get(COST_WAY.get(variant, ""))
    return float(row["ns_per_observation"]) if row else None


def timing_cpu_share(section: dict[str, Any], level: Level) -> float | None:
    """The share of one core the level's observations cost: ns per observation × req/s."""
    ns, rps = observation_ns(section, level.variant), level.record.get("throughput_rps")
    return ns * rps / 1e9 if ns is not None and rps is not None else None


def expected_questions(variant: str, source: str) -> tuple[str, ...]:
    """The questions a variant's answers are read for: the log side is asked all of them
    (its "cannot answer" is the finding); an app's metrics answer the app's questions,
    Triton's metrics Triton's. The suite asks every source everything, so the rest are
    "no series" noise."""
    if source == "log":
        return tuple(q.id for q in QUESTIONS)
    if variant in METRICS:
        return APP_QUESTIONS
    if variant == OTHER_SERVER:
        return TRITON_QUESTIONS
    return tuple(q.id for q in QUESTIONS)


@dataclass(frozen=True)
class Asked:
    """One variant's answers at one level, only the questions it is asked for."""

    variant: str
    users: int
    source: str  # "log" or "promql"
    items: dict[str, dict[str, Any]]  # question id -> AnswerRecord

    def answered(self) -> list[str]:
        return [q for q, item in self.items.items() if item.get("value") is not None]


def asked_at(level: Level) -> Asked | None:
    answers: Mapping[str, Any] = cast(ObservabilityLevel, level.record).get("answers") or {}
    if not answers:
        return None
    source = str(answers.get("source") or "")
    wanted = expected_questions(level.variant, source)
    items = {
        str(item.get("question")): item
        for item in answers.get("items") or []
        if item.get("question") in wanted
    }
    return Asked(level.variant, level.users, source, items)


def all_asked(levels: Mapping[str, Mapping[int, Level]]) -> list[Asked]:
    return [
        found
        for by_users in levels.values()
        for users in sorted(by_users)
        if (found := asked_at(by_users[users])) is not None
    ]


def top_asked(levels: Mapping[str, Mapping[int, Level]]) -> list[Asked]:
    """Each variant's answers at its highest user level that has any."""
    top: dict[str, Asked] = {}
    for found in all_asked(levels):
        top[found.variant] = found  # levels come in rising user order
    return list(top.values())


def answered_by(found: Sequence[Asked], source: str) -> set[str]:
    """The question ids some variant answering from `source` answered."""
    return {q for asked in found if asked.source == source for q in asked.answered()}


def layout_bounds(section: dict[str, Any], layout: str) -> list[float]:
    record = ((section.get("fidelity") or {}).get("layouts") or {}).get(layout) or {}
    return [float(b) for b in record.get("bounds") or []]


# --- formatting --------------------------------------------------------------------------


def _scalar(question: str, value: float) -> str:
    if question == STATUS_SHARE:
        return fmt.percent(value * 100)
    if question == REQUEST_RATE:
        return fmt.rate(value)
    if question == TRITON_BATCH_SIZE:
        return fmt.number(value)
    return fmt.ms(value)  # every other question asks for a duration in ms


def answer_text(question: str, value: Any) -> str:
    """An answer or exact figure in the question's unit; breakdowns as 'key: value, ...'."""
    if value is None:
        return fmt.MISSING
    if isinstance(value, dict):
        return ", ".join(
            f"{str(k).removesuffix('_ms')}: {_scalar(question, float(v))}" for k, v in value.items()
        )
    return _scalar(question, float(value))


def error_text(rel_error: float | None) -> str:
    """A relative error as a signed percentage: +76%, -41%, 0%."""
    return fmt.MISSING if rel_error is None else fmt.change(1.0 + rel_error)


def byte_size(count: float | None) -> str:
    if count is None:
        return fmt.MISSING
    if count < 1024:
        return f"{int(count)} B"
    if count < 1024**2:
        return f"{fmt.significant(count / 1024)} KiB"
    return fmt.mebibytes(count)


def bound_text(bound: float) -> str:
    """A bucket bound as configured, not rounded: 0.005 ms, 403.8 ms, 10 s."""
    return f"{bound / 1000:g} s" if abs(bound) >= 1000 else f"{bound:g} ms"


def nanoseconds(value: float | None) -> str:
    return fmt.MISSING if value is None else fmt.seconds(value * 1e-9)


def ratio_tone(estimate: RatioEstimate, worse: int) -> Tone:
    """`worse` is the direction that means timing cost something (-1 throughput, +1 p99);
    the other direction is drift between levels run at different times."""
    if estimate.direction == 0:
        return "neutral"
    return "bad" if estimate.direction == worse else "warn"


def reading(overhead: Overhead) -> str:
    """The overhead at one level in a few words."""
    if not overhead.throughput.known and not overhead.p99.known:
        return "too few samples"
    if not overhead.measurable:
        return "no measurable overhead at this load"
    words = []
    if overhead.throughput.direction < 0:
        words.append("fewer requests")
    if overhead.p99.direction > 0:
        words.append("higher p99")
    if overhead.better_than_bare:
        words.append("better than bare: drift")
    return ", ".join(words)


# --- tables ------------------------------------------------------------------------------


def _interval_note(level: Level) -> str:
    bounds = mean_interval(level.per_second)
    if bounds is None:
        return ""
    return f"95% CI {fmt.significant(bounds[0])}–{fmt.significant(bounds[1])}"


def _timing_cpu(section: dict[str, Any], level: Level) -> Cell:
    share = timing_cpu_share(section, level)
    if share is None:
        return Cell(fmt.MISSING)
    return Cell(
        fmt.percent(share * 100), note=f"{nanoseconds(observation_ns(section, level.variant))} each"
    )


def _overhead_row(section: dict[str, Any], level: Level, found: Overhead | None) -> list[Cell]:
    if found is None:
        why = {BARE: "the reference", OTHER_SERVER: "another server: not compared"}
        verdict = Cell(why.get(level.variant, "bare did not run this level"), "muted")
        ratios = [Cell(fmt.MISSING), Cell(fmt.MISSING), Cell(fmt.MISSING)]
    else:
        verdict = Cell(reading(found))
        ratios = [
            Cell(
                fmt.factor(found.throughput.point),
                ratio_tone(found.throughput, -1),
                fmt.interval(found.throughput),
            ),
            Cell(fmt.factor(found.p99.point), ratio_tone(found.p99, +1), fmt.interval(found.p99)),
            _timing_cpu(section, level),
        ]
    return [
        Cell(level.variant),
        Cell(str(level.users)),
        verdict,
        Cell(fmt.rate(level.record.get("throughput_rps"), ""), note=_interval_note(level)),
        Cell(fmt.ms(level.latency("p99"))),
        *ratios,
    ]


def overhead_table(section: dict[str, Any], levels: Mapping[str, Mapping[int, Level]]) -> Table:
    """Every level of every variant; the timed ones against bare at the same users."""
    by_key = {(o.variant, o.users): o for o in overheads(levels)}
    rows = [
        _overhead_row(section, by_users[users], by_key.get((name, users)))
        for name, by_users in levels.items()
        for users in sorted(by_users)
    ]
    return Table(
        columns=[
            "variant",
            "users",
            "reading",
            "req/s",
            "p99",
            "req/s vs bare",
            "p99 vs bare",
            "timing CPU",
        ],
        rows=rows,
        numeric_from=3,
        caption="Ratios are variant / bare at the same users, with 95% bootstrap intervals "
        "(throughput over the per-second samples, p99 over every request). Red: the interval "
        "excludes 1 the costly way; grey: it includes 1, so this run shows no measurable "
        "overhead at that load; amber: measurably better than the untimed endpoint, which "
        "timing cannot cause: each variant runs its level at another time, and the "
        "intervals do not see the drift between them. Timing CPU: one observation's "
        "in-process cost (below) times the variant's throughput, in percent of one core: "
        "what timing alone should cost. Triton is another server, shown for scale.",
    )


def answers_table(found: Sequence[Asked]) -> Table:
    """Per question, each side's answer at its top level beside the exact figure."""
    rows = []
    for question in QUESTIONS:
        first = True
        for asked in found:
            item = asked.items.get(question.id)
            if item is None:
                continue
            label = QUESTION_LABELS.get(question.id, question.id) if first else ""
            rows.append([Cell(label), *_answer_cells(asked, item)])
            first = False
    return Table(
        columns=["question", "asked of", "answer", "exact", "error", "read", "took"],
        rows=rows,
        numeric_from=4,
        caption="Each variant's answers after its highest user level, over that level's "
        "measured window. Exact figures are the load engine's: latencies seen by the "
        "client. The handler-side timers, the log line and the histograms alike, miss the "
        "HTTP server's own time, so both sides read low by the same amount; the error of "
        "the buckets alone is the next table's. Read: bytes of log parsed, or of "
        "Prometheus's HTTP answers; took: wall time to answer.",
    )


def questions_list() -> ItemList:
    """The operator's questions in full, under the short names the answers table uses."""
    return ItemList(
        [f"{QUESTION_LABELS.get(q.id, q.id)}: {q.text}" for q in QUESTIONS],
        title="In full",
    )


def _answer_cells(asked: Asked, item: dict[str, Any]) -> list[Cell]:
    question, value = str(item.get("question")), item.get("value")
    note = str(item.get("note") or "")
    who = Cell(
        asked.variant,
        note=f"{SOURCE_WORDS.get(asked.source, asked.source)}, {fmt.users(asked.users)}",
    )
    if value is None:
        cannot = note.startswith("cannot answer")
        text = "cannot answer" if cannot else "no answer"
        detail = note.removeprefix("cannot answer: ") if cannot else note
        return [
            who,
            Cell(text, "bad" if cannot else "warn", detail),
            Cell(answer_text(question, item.get("exact"))),
            *(Cell(fmt.MISSING) for _ in range(3)),
        ]
    return [
        who,
        Cell(answer_text(question, value), note=note),
        Cell(answer_text(question, item.get("exact"))),
        Cell(error_text(item.get("rel_error"))),
        Cell(byte_size(item.get("bytes_read"))),
        Cell(fmt.seconds(item.get("seconds"))),
    ]


def promql_blocks(found: Sequence[Asked]) -> list[Block]:
    """The PromQL behind each answered question, from the first variant that answered it."""
    queries: dict[str, str] = {}
    for asked in found:
        if asked.source != "promql":
            continue
        for question, item in asked.items.items():
            if item.get("value") is not None and item.get("source"):
                queries.setdefault(question, f"# {question} ({asked.variant})\n{item['source']}")
    ordered = [queries[q.id] for q in QUESTIONS if q.id in queries]
    return [Code("\n\n".join(ordered), title="the PromQL asked")] if ordered else []


def fidelity_blocks(fidelity: dict[str, Any] | None) -> list[Block]:
    if not fidelity or not fidelity.get("layouts"):
        return [Text("The bucket layouts' error was not measured in this run.")]
    quantiles = list(fidelity.get("quantiles") or [])
    intro = Text(
        f"The same {fmt.number(fidelity.get('samples'))} durations ({fidelity.get('source')}) "
        "counted into each layout's buckets, and each quantile read back the way "
        "Prometheus's histogram_quantile reads it, against the exact (nearest-rank) value."
    )
    rows = [
        _layout_row(name, layout, quantiles, fidelity.get("slo_ms"))
        for name, layout in fidelity["layouts"].items()
    ]
    columns = ["layout", "buckets"]
    for q in quantiles:
        columns += [f"{q} exact", f"{q} read", f"{q} error"]
    table = Table(
        columns=columns,
        rows=rows,
        numeric_from=1,
        caption="Read: what Prometheus's histogram_quantile answers from the buckets. A "
        "histogram keeps one counter per bucket, so a quantile is interpolated linearly "
        "inside the bucket it falls in: as exact as that bucket is narrow (its width under "
        "the error). Buckets: how many, +Inf included, over the range of the "
        "finite bounds. prometheus_client's defaults are meant for seconds; the "
        "app observes milliseconds, so they end at 10 ms. A quantile past the last finite "
        "bound is in +Inf, and Prometheus answers the last bound: red, it cannot see above.",
    )
    return [intro, table]


def _layout_row(name: str, layout: dict[str, Any], quantiles: list[str], slo_ms: Any) -> list[Cell]:
    bounds = [float(b) for b in layout.get("bounds") or []]
    words = LAYOUT_WORDS.get(name, "")
    if name == SLO_LAYOUT and slo_ms is not None:
        words = f"fitted to the {fmt.ms(slo_ms)} SLO"
    span = f"{bound_text(bounds[0])} … {bound_text(bounds[-1])}" if bounds else fmt.MISSING
    cells = [Cell(name, note=words), Cell(fmt.number(layout.get("buckets")), note=span)]
    for q in quantiles:
        answer = (layout.get("answers") or {}).get(q) or {}
        cells += _quantile_cells(answer, bounds)
    return cells


def _quantile_cells(answer: dict[str, Any], bounds: list[float]) -> list[Cell]:
    histogram = Cell(fmt.ms(answer.get("histogram_ms")))
    if answer.get("above_last_bound"):
        last = bound_text(bounds[-1]) if bounds else "the last bound"
        histogram = Cell(histogram.text, "bad", f"cannot see above {last}")
    width = answer.get("bucket_width_ms")
    note = f"bucket {fmt.ms(width)}" if width is not None else ""
    return [
        Cell(fmt.ms(answer.get("exact_ms"))),
        histogram,
        Cell(error_text(answer.get("rel_error")), note=note),
    ]


def observation_cost_table(costs: dict[str, Any]) -> Table:
    rows = []
    for way, row in costs.items():
        floor = way == FLOOR_WAY
        rows.append(
            [
                Cell(way, note=str(row.get("description") or "")),
                Cell(nanoseconds(row.get("ns_per_observation")), "muted" if floor else ""),
                Cell(nanoseconds(row.get("min_ns"))),
                Cell(f"{fmt.number(row.get('repeats'))} × {fmt.number(row.get('observations'))}"),
            ]
        )
    return Table(
        columns=["way", "per observation", "fastest repeat", "repeats × calls"],
        rows=rows,
        numeric_from=1,
        caption="Timed in the harness process before any server started, each way called "
        "exactly as the app calls it, the repeats taking turns between the ways. Per "
        "observation: the median repeat's ns per call minus the empty loop's (nothing, the "
        "floor, shown as measured).",
    )


def alert_rule_items(alerting: dict[str, Any]) -> list[tuple[str, str]]:
    slowed = alerting.get("slowed") or {}
    return [
        (
            "alert rule",
            f"p99 over {alerting.get('window')} above {fmt.ms(alerting.get('slo_ms'))}, "
            f"held for {alerting.get('for')}",
        ),
        (
            "slowed app",
            f"{fmt.percent((slowed.get('share') or 0) * 100)} of requests delayed "
            f"{fmt.ms(slowed.get('delay_ms'))}, driven by "
            f"{fmt.users(int(slowed.get('users') or 0))}",
        ),
        ("its p99, as the load engine saw it", fmt.ms(slowed.get("p99_ms"))),
        ("its requests", fmt.number(slowed.get("requests"))),
    ]


def blind_to_slo(section: dict[str, Any], job: str) -> float | None:
    """The job's last finite bucket bound when it lies below the alert's SLO: its p99 can
    never read above that bound, so its alert can never fire. None otherwise."""
    slo = (section.get("alerting") or {}).get("slo_ms")
    bounds = layout_bounds(section, job)
    if slo is None or not bounds or bounds[-1] >= float(slo):
        return None
    return bounds[-1]


def alert_table(section: dict[str, Any]) -> Table:
    rows = []
    for job, outcome in ((section.get("alerting") or {}).get("jobs") or {}).items():
        fired = bool(outcome.get("fired"))
        when = outcome.get("first_firing_s_after_start")
        since = "the slow-down began" if job == SLOWED else "the run began"
        blind = blind_to_slo(section, job)
        if job == SLOWED:
            meaning = Cell("should fire", "good" if fired else "bad")
        elif blind is not None:
            meaning = Cell(f"cannot fire: its buckets end at {bound_text(blind)}", "warn")
        else:
            meaning = Cell("should stay silent", "good" if not fired else "warn")
        rows.append(
            [
                Cell(job, note="SLO layout" if job == SLOWED else "default layout"),
                Cell("fired" if fired else "silent", "bad" if fired else ""),
                Cell(f"{fmt.seconds(when)} after {since}" if when is not None else fmt.MISSING),
                meaning,
            ]
        )
    return Table(
        columns=["job", "alert", "first firing", "expected"],
        rows=rows,
        numeric_from=4,
        caption="From Prometheus's own ALERTS series, to the rule evaluation interval. The "
        "slowed app is a prometheus_client histogram with buckets fitted to the SLO; the "
        "other jobs are the load levels' variants with their default layouts, over the "
        "whole run.",
    )


def alert_blocks(section: dict[str, Any]) -> list[Block]:
    alerting = section.get("alerting")
    if not alerting:
        return [Text("The SLO alert was not checked in this run.")]
    blocks: list[Block] = [KeyValues(alert_rule_items(alerting)), alert_table(section)]
    if alerting.get("naive"):
        blocks.append(Callout("bad", f"The log side {alerting['naive']}.", title="the log side"))
    return blocks


def artifact_items(artifacts: dict[str, Any]) -> list[tuple[str, str]]:
    items = [("Prometheus version", str(artifacts.get("prometheus_version") or fmt.MISSING))]
    if artifacts.get("alert_rules"):
        items.append(("alert rules (passed promtool)", str(artifacts["alert_rules"])))
    for job, path in (artifacts.get("grafana_dashboards") or {}).items():
        items.append((f"Grafana dashboard, {job}", str(path)))
    if artifacts.get("console_template"):
        items.append(("console template", str(artifacts["console_template"])))
    console = artifacts.get("console") or {}
    if console:
        items.append(
            (
                "console page, as Prometheus served it",
                f"HTTP {console.get('status')}, {byte_size(console.get('bytes'))} from "
                f"{console.get('url_path')}; saved to {console.get('saved')}",
            )
        )
    if artifacts.get("prometheus_config"):
        items.append(("Prometheus configuration", str(artifacts["prometheus_config"])))
    return items


def artifact_blocks(artifacts: dict[str, Any] | None) -> list[Block]:
    if not artifacts:
        return [Text("The run recorded no artifacts.")]
    blocks: list[Block] = [
        Text(
            "What the run wrote beside its results, on the machine that ran it: the "
            "alert rules Prometheus loaded, a Grafana dashboard per metrics variant (Grafana "
            "itself is not run), and the console page the real Prometheus served."
        ),
        KeyValues(artifact_items(artifacts)),
    ]
    status = (artifacts.get("console") or {}).get("status")
    if status is not None and status != 200:
        blocks.append(Callout("bad", f"Prometheus answered the console page with HTTP {status}."))
    return blocks
