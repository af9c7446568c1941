"""The serving pair's report section: Triton's advantage over the naive Flask endpoints.

Reads the serving suite's results section (see infragap.suites.serving.steps): the
headline compares `triton` with `naive-reload` and `naive-hoisted` at the highest user
level they share, each ratio with a bootstrap interval; then tables and charts per level.
"""

from __future__ import annotations

from typing import Any

from infragap.reports import format as fmt
from infragap.reports.compare import Metric
from infragap.reports.model import Claim, Part
from infragap.reports.sections import SECTIONS, Contribution, load_views
from infragap.reports.sections import serving_charts as charts
from infragap.reports.sections import serving_tables as tables
from infragap.reports.sections.serving_data import (
    BASELINES,
    MIN_SECONDS,
    PROVEN,
    Advantage,
    Level,
    advantages,
    describe,
    headline,
    levels_of,
    metrics,
)
from infragap.reports.sections.serving_own import own_parts
from infragap.reports.sections.serving_tables import tone


def throughput_words(adv: Advantage) -> str:
    est, who = adv.throughput, describe(adv.baseline)
    if not est.known:
        return (
            f"at {fmt.users(adv.users)} there are too few throughput samples to compare with {who}"
        )
    if est.direction > 0:
        return (
            f"Triton served {fmt.factor(est.point)} the requests of {who} at "
            f"{fmt.users(adv.users)} ({fmt.interval(est)})"
        )
    if est.direction < 0:
        return (
            f"Triton served only {fmt.factor(est.point)} the requests of {who} at "
            f"{fmt.users(adv.users)} ({fmt.interval(est)}): fewer, not more"
        )
    return (
        f"at {fmt.users(adv.users)} Triton's throughput is within noise of {who}: the ratio "
        f"{fmt.factor(est.point)} has a {fmt.interval(est)}, which includes 1, so this run "
        "shows no difference"
    )


def tail_words(adv: Advantage) -> str:
    est = adv.tail
    before, after = fmt.ms(adv.baseline_p99), fmt.ms(adv.proven_p99)
    if not est.known:
        return "p99 latency cannot be compared (no successful requests on one side)"
    if est.direction > 0:
        return (
            f"p99 fell from {before} to {after} "
            f"({fmt.factor(est.point)} lower, {fmt.interval(est)})"
        )
    if est.direction < 0:
        inv = est.inverted()
        return (
            f"p99 rose from {before} to {after} "
            f"({fmt.factor(inv.point)} higher, {fmt.interval(inv)})"
        )
    return (
        f"p99 went from {before} to {after}, but the ratio's {fmt.interval(est)} includes 1, "
        "so the tails do not clearly differ"
    )


def sentence(adv: Advantage) -> str:
    text = f"{throughput_words(adv)}; {tail_words(adv)}."
    return text[0].upper() + text[1:]


def equivalence_words(equivalence: dict[str, Any] | None) -> list[str]:
    if not equivalence:
        return []
    variants = equivalence.get("variants") or {}
    if not equivalence.get("passed"):
        failed = ", ".join(n for n, v in variants.items() if not v.get("passed"))
        return [
            f"The equivalence check failed for {failed or 'a variant'}: its speed is not "
            "comparable, because it computes something else."
        ]
    checked = max((int(v.get("requests_checked") or 0) for v in variants.values()), default=0)
    return [
        f"All {len(variants)} variants returned the same scores as the model run in-process "
        f"on {checked} requests (tolerance {fmt.plain(equivalence.get('tolerance_abs'))}), so "
        "their speeds compare like with like."
    ]


def advantage_claims(adv: Advantage) -> list[Claim]:
    return [
        Claim(
            label=f"throughput of {adv.baseline}, at {fmt.users(adv.users)}",
            value=fmt.factor(adv.throughput.point),
            detail=fmt.interval(adv.throughput),
            tone=tone(adv.throughput),
        ),
        Claim(
            label=f"lower p99 latency than {adv.baseline}, at {fmt.users(adv.users)}",
            value=fmt.factor(adv.tail.point),
            detail=f"{fmt.ms(adv.baseline_p99)} → {fmt.ms(adv.proven_p99)}; "
            f"{fmt.interval(adv.tail)}",
            tone=tone(adv.tail),
        ),
    ]


def own_claims(section: dict[str, Any], levels: dict[str, dict[int, Level]]) -> list[Claim]:
    """The pair's own figures: how much Triton batched, and how near the bare model it got."""
    proven = levels.get(PROVEN, {})
    if not proven:
        return []
    top = proven[max(proven)]
    claims = []
    batch = top.triton.get("mean_batch_size")
    if batch is not None:
        claims.append(
            Claim(
                label=f"Triton's mean batch at {fmt.users(top.users)}",
                value=fmt.number(batch, 3),
                detail="requests per model execution",
            )
        )
    ceiling = section.get("ceiling") or {}
    ceiling_rps = ceiling.get("requests_per_s")
    if ceiling_rps and top.record.get("throughput_rps") is not None:
        share = top.record["throughput_rps"] / ceiling_rps * 100
        claims.append(
            Claim(
                label=f"Triton at {fmt.users(top.users)} vs the bare model",
                value=fmt.percent(share),
                detail=f"of the in-process ceiling, {fmt.rate(ceiling_rps)} at batch "
                f"{ceiling.get('batch_rows', '?')}",
            )
        )
    return claims


def validity_warnings(section: dict[str, Any], levels: dict[str, dict[int, Level]]) -> list[str]:
    """Problems the report sees in the data that the run itself did not record."""
    warnings = []
    equivalence = section.get("equivalence")
    if not equivalence:
        warnings.append(
            "no equivalence check was recorded: the variants' answers were not compared"
        )
    elif not equivalence.get("passed"):
        warnings.append("the equivalence check failed: a variant computes something else")
    for by_users in levels.values():
        for level in by_users.values():
            seconds = len(level.per_second)
            if level.record.get("requests") and seconds < MIN_SECONDS:
                warnings.append(
                    f"{level.variant} at {fmt.users(level.users)}: only {seconds} per-second "
                    "throughput samples, so its intervals are rough"
                )
    return warnings


class ServingSection:
    title = "Serving: naive Flask endpoints vs Triton"
    description = (
        "The same TorchScript ranking model behind Flask apps written the way teams write "
        "them (naive-reload: the model reloaded on every request; naive-hoisted: loaded "
        "once; naive-batched: loaded once, with a hand-written micro-batching queue) and "
        "behind Triton Inference Server with dynamic batching, its configuration chosen by "
        "a short measured search, sent binary tensors (triton) or JSON ones (triton-json). "
        "Locust drives each with a closed-loop sweep of concurrent users and, when asked, "
        "open-loop rates and a search for the highest rate that meets a latency SLO."
    )

    def contribute(self, section: dict[str, Any], anchor: str) -> Contribution:
        levels = levels_of(section)
        found = advantages(levels)
        top = headline(found)
        capacity = load_views.capacity_ratios(load_views.capacities(section), PROVEN, BASELINES)
        verdicts = [load_views.capacity_sentence(r, "Triton", str) for r in capacity]
        verdicts += [sentence(adv) for adv in top]
        if not found and levels and not capacity:
            verdicts.append(
                "No headline: the run has no user level that Triton and a naive variant both ran."
            )
        verdicts += equivalence_words(section.get("equivalence"))
        claims = load_views.capacity_claims(capacity)
        claims += [claim for adv in top for claim in advantage_claims(adv)]
        claims += own_claims(section, levels)
        parts = self._parts(section, levels, found, anchor)
        warnings = validity_warnings(section, levels) + load_views.load_warnings(section)
        return Contribution(verdicts, claims, parts, warnings)

    def _parts(
        self,
        section: dict[str, Any],
        levels: dict[str, dict[int, Level]],
        found: list[Advantage],
        anchor: str,
    ) -> list[Part]:
        colours = charts.colours(levels)
        parts: list[Part] = own_parts(section, anchor)
        if found:
            parts.append(
                Part(
                    "Triton's advantage at every level",
                    f"{anchor}-advantage",
                    [
                        tables.advantage_table(found),
                        *charts.optional(charts.advantage_forest(found, colours)),
                    ],
                )
            )
        for part in (
            load_views.capacity_part(section, anchor, colours),
            load_views.rates_part(section, anchor, colours),
        ):
            if part is not None:
                parts.append(part)
        if levels:
            parts.append(
                Part(
                    "Throughput and latency by level",
                    f"{anchor}-levels",
                    [
                        tables.levels_table(levels),
                        *charts.optional(charts.throughput_latency(levels, colours)),
                        *charts.optional(charts.percentiles(levels, colours)),
                        *charts.optional(charts.timeline(levels, colours)),
                    ],
                )
            )
        if PROVEN in levels and any(lv.triton for lv in levels[PROVEN].values()):
            parts.append(
                Part(
                    "Inside Triton: batching, queue and compute",
                    f"{anchor}-triton",
                    [
                        tables.triton_table(levels[PROVEN]),
                        *charts.optional(charts.batching(levels[PROVEN])),
                    ],
                )
            )
        if levels:
            parts.append(
                Part(
                    "Server and load generator resources",
                    f"{anchor}-resources",
                    [
                        tables.resources_table(levels),
                        *charts.optional(charts.resources(levels, colours)),
                    ],
                )
            )
        parts += tables.check_parts(section, levels, anchor)
        if section.get("isolation"):
            parts.append(
                Part(
                    "One bad request among its batch-mates",
                    f"{anchor}-isolation",
                    [tables.isolation_table(section["isolation"])],
                )
            )
        parts.append(
            Part(
                "Triton's configuration and protocol",
                f"{anchor}-configuration",
                [
                    *tables.tuning_blocks(section.get("triton_tuning")),
                    *(
                        [tables.protocol_table(levels, section.get("ceiling"))]
                        if PROVEN in levels
                        else []
                    ),
                ],
            )
        )
        parts.append(
            Part(
                "In-process ceiling",
                f"{anchor}-ceiling",
                tables.ceiling_blocks(section.get("ceiling")),
            )
        )
        return parts

    def metrics(self, section: dict[str, Any]) -> list[Metric]:
        return metrics(section) + load_views.load_metrics(section)


SECTIONS.register("serving")(ServingSection())
