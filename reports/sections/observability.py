"""The observability pair's report section: a timing log line against metrics scraped by
a real Prometheus.

Reads the observability suite's results section (see infragap.suites.observability.steps
and records.py). The headline states what one observation costs each way, how far the
default bucket layouts put the p99, whether the SLO alert fired on the slowed app, how
many of the operator's questions each side answered, and what timing cost under load
against the untimed endpoint (each ratio with a bootstrap interval). The tables and
charts follow, one part per question; the shared level views come from the serving
section's modules and `load_views`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infragap.reports import format as fmt
from infragap.reports.compare import Metric
from infragap.reports.model import Block, Claim, Part
from infragap.reports.sections import (
    SECTIONS,
    Contribution,
    load_views,
    serving_charts,
    serving_tables,
)
from infragap.reports.sections import observability_charts as charts
from infragap.reports.sections import observability_tables as tables
from infragap.reports.sections.observability_tables import (
    FLOOR_WAY,
    METRICS,
    NAIVE,
    SLOWED,
    Asked,
    Overhead,
)
from infragap.reports.sections.serving import equivalence_words
from infragap.reports.sections.serving_data import MIN_SECONDS, Level, level_metrics
from infragap.workloads.operator_questions import P99, QUESTIONS

Levels = Mapping[str, Mapping[int, Level]]
# Observation cost claims, in the order a reader compares them: the naive way first.
COST_CLAIMS = (
    ("log-line", "one timing log line"),
    ("otel-record-attributes", "one OTel histogram record, with the app's attributes"),
    ("prometheus-client-observe", "one prometheus_client observe, as the app"),
)


# --- verdicts ----------------------------------------------------------------------------


def cost_words(section: dict[str, Any], levels: Levels) -> list[str]:
    costs = section.get("observation_cost") or {}
    shown = [(way, row) for way, row in costs.items() if way != FLOOR_WAY]
    if not shown:
        return []
    listed = ", ".join(
        f"{way} {tables.nanoseconds(row['ns_per_observation'])}" for way, row in shown
    )
    text = f"One observation costs: {listed}"
    floor = costs.get(FLOOR_WAY)
    if floor:
        text += f" (the empty loop, {tables.nanoseconds(floor['ns_per_observation'])}, subtracted)"
    shares = [
        (share, level)
        for by_users in levels.values()
        for level in by_users.values()
        if (share := tables.timing_cpu_share(section, level)) is not None
    ]
    if shares:
        share, level = max(shares, key=lambda pair: pair[0])
        text += (
            f"; at the rates served here that is at most {fmt.percent(share * 100)} of one "
            f"CPU core ({level.variant} at {fmt.users(level.users)})"
        )
    return [text + "."]


def fidelity_words(fidelity: dict[str, Any] | None) -> list[str]:
    layouts = (fidelity or {}).get("layouts") or {}
    found = [
        (name, (layout.get("answers") or {}).get("p99") or {}) for name, layout in layouts.items()
    ]
    found = [(name, answer) for name, answer in found if answer.get("rel_error") is not None]
    if not found:
        return []

    def said(name: str, answer: dict[str, Any]) -> str:
        words = f"{name} {tables.error_text(answer['rel_error'])}"
        if answer.get("above_last_bound"):
            words += f" (stuck at its last bound, {fmt.ms(answer.get('histogram_ms'))})"
        return words

    return [
        f"On the same {fmt.number((fidelity or {}).get('samples'))} durations, whose exact "
        f"p99 is {fmt.ms(found[0][1].get('exact_ms'))}, the p99 read from each bucket layout "
        f"is off by: {', '.join(said(n, a) for n, a in found)}."
    ]


def alert_words(alerting: dict[str, Any] | None) -> list[str]:
    if not alerting:
        return []
    jobs = alerting.get("jobs") or {}
    slowed, rule = (
        jobs.get(SLOWED),
        (
            f"p99 over {alerting.get('window')} above {fmt.ms(alerting.get('slo_ms'))} for "
            f"{alerting.get('for')}"
        ),
    )
    words = []
    if slowed is not None:
        delay = (alerting.get("slowed") or {}).get("delay_ms")
        when = slowed.get("first_firing_s_after_start")
        if slowed.get("fired") and when is not None:
            words.append(
                f"The SLO alert ({rule}) fired on the slowed app (requests delayed "
                f"{fmt.ms(delay)}) {fmt.seconds(when)} after its slow-down began."
            )
        else:
            words.append(f"The SLO alert ({rule}) did not fire on the slowed app.")
    if alerting.get("naive"):
        words.append(f"The log side {alerting['naive']}.")
    return words


def answers_words(top: Sequence[Asked]) -> list[str]:
    if not top:
        return []
    total = len(QUESTIONS)
    log, promql = tables.answered_by(top, "log"), tables.answered_by(top, "promql")
    words = []
    if any(a.source == "promql" for a in top):
        words.append(f"Prometheus answered {len(promql)} of the operator's {total} questions")
    if any(a.source == "log" for a in top):
        words.append(f"the timing log {len(log)}")
    text = " and ".join(words)
    return [text[0].upper() + text[1:] + " (each variant at its highest user level)."]


def overhead_sentence(overhead: Overhead, timing_share: float | None = None) -> str:
    """How one timed variant compares with bare at one level, in plain words;
    `timing_share` is the share of a core its observations alone cost at that rate."""
    tp, tail = overhead.throughput, overhead.p99
    who = f"{overhead.variant} at {fmt.users(overhead.users)}"
    bare_p99, timed_p99 = (
        fmt.ms(overhead.bare.latency("p99")),
        fmt.ms(overhead.timed.latency("p99")),
    )
    if not tp.known and not tail.known:
        return f"{who}: too few samples to compare with bare."
    if not overhead.measurable:
        return (
            f"{who}: no measurable overhead at this load: {fmt.factor(tp.point)} bare's "
            f"throughput ({fmt.interval(tp)}) and p99 {bare_p99} → {timed_p99} "
            f"({fmt.interval(tail)}), both intervals include 1."
        )
    if tp.direction < 0:
        served = f"served {fmt.factor(tp.point)} bare's requests ({fmt.interval(tp)})"
    elif tp.direction > 0:
        served = f"served more than bare, {fmt.factor(tp.point)} ({fmt.interval(tp)})"
    else:
        served = f"served as many requests as bare within noise ({fmt.interval(tp)})"
    if tail.direction > 0:
        p99 = f"p99 rose {bare_p99} → {timed_p99} ({fmt.factor(tail.point)}, {fmt.interval(tail)})"
    elif tail.direction < 0:
        p99 = f"p99 fell {bare_p99} → {timed_p99} ({fmt.interval(tail)})"
    else:
        p99 = f"p99 {bare_p99} → {timed_p99}, within noise ({fmt.interval(tail)})"
    text = f"{who} {served}; {p99}."
    lost = 1.0 - (tp.point or 1.0)
    if tp.direction < 0 and timing_share is not None and lost > 3 * timing_share:
        text += (
            f" Its observations cost only {fmt.percent(timing_share * 100)} of one core at "
            f"that rate, far less than this {fmt.percent(lost * 100)} loss: the rest comes "
            "from elsewhere (the library's other work, or drift between levels)."
        )
    if overhead.better_than_bare:
        text += (
            " Timing cannot make a server faster: that is drift between levels run at "
            "different times."
        )
    return text


# --- claims ------------------------------------------------------------------------------


def cost_claims(costs: dict[str, Any]) -> list[Claim]:
    floor = (costs.get(FLOOR_WAY) or {}).get("ns_per_observation")
    return [
        Claim(
            label=label,
            value=tables.nanoseconds(costs[way]["ns_per_observation"]),
            detail=f"per request, in-process; loop floor {tables.nanoseconds(floor)} subtracted"
            + _without_attributes(costs, way),
            tone="bad" if way == "log-line" else "neutral",
        )
        for way, label in COST_CLAIMS
        if way in costs
    ]


def _without_attributes(costs: dict[str, Any], way: str) -> str:
    plain = costs.get("otel-record") if way == "otel-record-attributes" else None
    return f"; {tables.nanoseconds(plain['ns_per_observation'])} without them" if plain else ""


def fidelity_claims(fidelity: dict[str, Any] | None) -> list[Claim]:
    claims = []
    for name, layout in ((fidelity or {}).get("layouts") or {}).items():
        p99 = (layout.get("answers") or {}).get("p99") or {}
        if p99.get("rel_error") is None:
            continue
        clipped = bool(p99.get("above_last_bound"))
        claims.append(
            Claim(
                label=f"p99 error of the {name} bucket layout",
                value=tables.error_text(p99["rel_error"]),
                detail=f"{fmt.number(layout.get('buckets'))} buckets; "
                f"{fmt.ms(p99.get('exact_ms'))} read as {fmt.ms(p99.get('histogram_ms'))}"
                + ("; cannot see above its last bound" if clipped else ""),
                tone="bad" if clipped else "neutral",
            )
        )
    return claims


def alert_claims(alerting: dict[str, Any] | None) -> list[Claim]:
    slowed = ((alerting or {}).get("jobs") or {}).get(SLOWED)
    if slowed is None:
        return []
    when = slowed.get("first_firing_s_after_start")
    fired = bool(slowed.get("fired")) and when is not None
    return [
        Claim(
            label="SLO alert on the slowed app, after its slow-down began",
            value=fmt.seconds(when) if fired else "never",
            detail="the timing log cannot alert at all",
            tone="good" if fired else "bad",
        )
    ]


def answers_claims(top: Sequence[Asked]) -> list[Claim]:
    if not top:
        return []
    total = len(QUESTIONS)
    promql, log = tables.answered_by(top, "promql"), tables.answered_by(top, "log")
    return [
        Claim(
            label="operator's questions answered, PromQL vs timing log",
            value=f"{len(promql)} vs {len(log)}",
            detail=f"of {total}, each variant at its highest user level",
            tone="good" if len(promql) > len(log) else "neutral",
        )
    ]


def overhead_claims(found: Sequence[Overhead]) -> list[Claim]:
    return [
        Claim(
            label=f"{o.variant}'s throughput vs bare, at {fmt.users(o.users)}",
            value=fmt.factor(o.throughput.point),
            detail=fmt.interval(o.throughput)
            + ("; includes 1: no measurable overhead" if o.throughput.spans_one else ""),
            tone=tables.ratio_tone(o.throughput, -1),
        )
        for o in found
    ]


# --- validity ----------------------------------------------------------------------------


def validity_warnings(section: dict[str, Any], levels: Levels) -> list[str]:
    """Problems the report sees in the data that the run itself did not record."""
    warnings = equivalence_warnings(section)
    warnings += sample_warnings(levels)
    warnings += drift_warnings(tables.overheads(levels))
    warnings += answer_warnings(section, levels)
    warnings += alert_warnings(section)
    status = ((section.get("artifacts") or {}).get("console") or {}).get("status")
    if status is not None and status != 200:
        warnings.append(f"Prometheus served the console page with HTTP {status}, not 200")
    return warnings


def equivalence_warnings(section: dict[str, Any]) -> list[str]:
    equivalence = section.get("equivalence")
    if not equivalence:
        return ["no equivalence check was recorded: the variants' answers were not compared"]
    if not equivalence.get("passed"):
        return ["the equivalence check failed: a variant computes something else"]
    return []


def sample_warnings(levels: Levels) -> list[str]:
    all_levels = [level for by_users in levels.values() for level in by_users.values()]
    few = [
        lv for lv in all_levels if lv.record.get("requests") and len(lv.per_second) < MIN_SECONDS
    ]
    if not few:
        return []
    seconds = sorted({len(lv.per_second) for lv in few})
    return [
        f"{len(few)} of {len(all_levels)} levels have only {'/'.join(map(str, seconds))} "
        f"per-second throughput samples (fewer than {MIN_SECONDS}), so their throughput "
        "intervals are rough"
    ]


def drift_warnings(found: Sequence[Overhead]) -> list[str]:
    return [
        f"{o.variant} at {fmt.users(o.users)} did measurably better than the untimed bare "
        f"endpoint (throughput {fmt.factor(o.throughput.point)}, p99 {fmt.factor(o.p99.point)} "
        "of bare's): each variant runs its level at another time (interleaved), so the "
        "drift between them is larger than the intervals show; read overheads of this size "
        "as noise"
        for o in found
        if o.better_than_bare
    ]


def answer_warnings(section: dict[str, Any], levels: Levels) -> list[str]:
    warnings = []
    for name, by_users in levels.items():
        for users in sorted(by_users):
            asked = tables.asked_at(by_users[users])
            where = f"{name} at {fmt.users(users)}"
            if asked is None:
                if name in (NAIVE, *METRICS):
                    warnings.append(f"{where}: no answers were recorded")
                continue
            if asked.source == "promql":
                missing = [q for q, item in asked.items.items() if item.get("value") is None]
                if missing:
                    warnings.append(f"{where}: Prometheus gave no answer to {', '.join(missing)}")
            warnings += clipped_p99(section, asked, where)
    return warnings


def clipped_p99(section: dict[str, Any], asked: Asked, where: str) -> list[str]:
    """A metrics variant's p99 answer at its layout's last finite bound is in +Inf."""
    bounds = tables.layout_bounds(section, asked.variant)
    value = (asked.items.get(P99) or {}).get("value")
    if not bounds or not isinstance(value, (int, float)) or value < bounds[-1] * (1 - 1e-9):
        return []
    return [
        f"{where}: its p99 answer, {fmt.ms(value)}, is its default layout's last finite bound: "
        f"the true p99 is somewhere above {tables.bound_text(bounds[-1])}"
    ]


def alert_warnings(section: dict[str, Any]) -> list[str]:
    alerting = section.get("alerting") or {}
    warnings = []
    for job, outcome in (alerting.get("jobs") or {}).items():
        blind = tables.blind_to_slo(section, job)
        if job == SLOWED and not outcome.get("fired"):
            warnings.append("the SLO alert never fired on the slowed app")
        elif job != SLOWED and outcome.get("fired"):
            warnings.append(f"the SLO alert fired on {job} during the load levels")
        elif blind is not None:
            warnings.append(
                f"{job}'s SLO alert cannot fire: its default buckets end at "
                f"{tables.bound_text(blind)}, below the {fmt.ms(alerting.get('slo_ms'))} SLO, "
                "so its silence says nothing"
            )
    return warnings


# --- the section -------------------------------------------------------------------------


class ObservabilitySection:
    title = "Observability: timing log lines vs metrics scraped by Prometheus"
    description = (
        "The load-once Flask endpoint of the serving pair, kept five ways: untimed (bare), "
        "timed by a log line to a file (log, the naive side), by an OpenTelemetry SDK "
        "histogram (otel) or by a prometheus_client histogram (prometheus-client), and "
        "Triton with its own metrics (triton). A real Prometheus scrapes every metrics "
        "variant each second. The same load drives each; after each level the operator's "
        "questions are asked of the log and of Prometheus and set against the load "
        "engine's exact figures. Each bucket layout's error is computed on the same "
        "durations, and a seeded slow-down checks that the SLO alert fires."
    )

    def contribute(self, section: dict[str, Any], anchor: str) -> Contribution:
        levels = tables.levels_of(section)
        found = tables.overheads(levels)
        top = tables.top_overheads(found)
        asked = tables.top_asked(levels)
        verdicts = [
            *cost_words(section, levels),
            *fidelity_words(section.get("fidelity")),
            *alert_words(section.get("alerting")),
            *answers_words(asked),
            *(overhead_sentence(o, tables.timing_cpu_share(section, o.timed)) for o in top),
            *equivalence_words(section.get("equivalence")),
        ]
        claims = [
            *cost_claims(section.get("observation_cost") or {}),
            *fidelity_claims(section.get("fidelity")),
            *alert_claims(section.get("alerting")),
            *answers_claims(asked),
            *overhead_claims(top),
        ]
        warnings = validity_warnings(section, levels) + load_views.load_warnings(section)
        return Contribution(verdicts, claims, self._parts(section, levels, found, anchor), warnings)

    def _parts(
        self, section: dict[str, Any], levels: Levels, found: list[Overhead], anchor: str
    ) -> list[Part]:
        palette = charts.colours(list(levels))
        by_level = {name: dict(by_users) for name, by_users in levels.items()}
        parts: list[Part] = []
        if levels:
            parts.append(
                Part(
                    "What timing costs under load",
                    f"{anchor}-overhead",
                    [
                        tables.overhead_table(section, levels),
                        *serving_charts.optional(charts.overhead_forest(found, palette)),
                    ],
                )
            )
        asked = tables.all_asked(levels)
        if asked:
            top = tables.top_asked(levels)
            parts.append(
                Part(
                    "The operator's questions",
                    f"{anchor}-answers",
                    [
                        tables.questions_list(),
                        tables.answers_table(top),
                        *serving_charts.optional(charts.answers_chart(asked, palette)),
                        *tables.promql_blocks(top),
                    ],
                )
            )
        fidelity = section.get("fidelity")
        parts.append(
            Part(
                "Bucket layouts and the p99",
                f"{anchor}-fidelity",
                [
                    *tables.fidelity_blocks(fidelity),
                    *serving_charts.optional(charts.layouts_chart(fidelity, palette)),
                ],
            )
        )
        parts.append(Part("The SLO alert", f"{anchor}-alerting", tables.alert_blocks(section)))
        costs = section.get("observation_cost")
        if costs:
            parts.append(
                Part(
                    "The cost of one observation",
                    f"{anchor}-observation-cost",
                    [tables.observation_cost_table(costs)],
                )
            )
        parts += self._load_parts(section, by_level, palette, anchor)
        parts.append(
            Part(
                "Artifacts", f"{anchor}-artifacts", tables.artifact_blocks(section.get("artifacts"))
            )
        )
        return parts

    def _load_parts(
        self,
        section: dict[str, Any],
        levels: dict[str, dict[int, Level]],
        palette: Any,
        anchor: str,
    ) -> list[Part]:
        """The views every load-driven suite shares: levels, open loop, resources, checks."""
        parts: list[Part] = []
        if levels:
            blocks: list[Block] = [
                serving_tables.levels_table(levels),
                *serving_charts.optional(serving_charts.throughput_latency(levels, palette)),
            ]
            parts.append(Part("Throughput and latency by level", f"{anchor}-levels", blocks))
        for part in (
            load_views.capacity_part(section, anchor, palette),
            load_views.rates_part(section, anchor, palette),
        ):
            if part is not None:
                parts.append(part)
        if levels:
            parts.append(
                Part(
                    "Server and load generator resources",
                    f"{anchor}-resources",
                    [serving_tables.resources_table(levels)],
                )
            )
        parts += serving_tables.check_parts(section, levels, anchor)
        return parts

    def metrics(self, section: dict[str, Any]) -> list[Metric]:
        """Throughput, p50 and p99 per variant at each level, and any open-loop figures."""
        found = [
            metric
            for name, by_users in tables.levels_of(section).items()
            for users in sorted(by_users)
            for metric in level_metrics(
                f"{name}/{users}", f"{name} at {fmt.users(users)}", by_users[users]
            )
        ]
        return found + load_views.load_metrics(section)


SECTIONS.register("observability")(ObservabilitySection())
