"""The scaling section's model views: the capacity plan's traces, outcomes, inputs with
their sources, rules and sensitivity, every heading and caption saying "model".

Reads the "plan" of the scaling suite's results section (see
infragap.suites.scaling.plan and capacity_model: every outcome record carries its
inputs, rules, strategy, totals and downsampled series). Pure: plain data in, blocks out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infragap.reports import format as fmt
from infragap.reports.model import Block, Callout, Cell, ItemList, Table, Tone
from infragap.reports.sections.scaling_tables import (
    DAILY,
    SENSITIVITY,
    absorbed,
    count,
    hours,
    is_measured,
    minutes,
    outcomes,
    strategy_name,
    trace_names,
)

NOT_MEASURED = (
    "Everything in this part is a model, not a measurement: the measured per-replica "
    "capacity and start-up time, played through a seeded traffic trace by fixed "
    "provisioning and by the Kubernetes HPA's documented algorithm. No cluster ran; its "
    "other inputs are assumptions, listed below with their sources."
)


def model_callout() -> Callout:
    return Callout("neutral", NOT_MEASURED, title="model")


def first_record(plan: dict[str, Any], variant: str) -> dict[str, Any]:
    """Any outcome record of the variant (inputs and rules are the same in all of them)."""
    for trace in trace_names(plan):
        for record in (outcomes(plan, trace).get(variant) or {}).values():
            return record
    return {}


def rules(plan: dict[str, Any]) -> list[str]:
    for variant in plan.get("variants") or {}:
        found = first_record(plan, variant).get("rules")
        if found:
            return [str(rule) for rule in found]
    return []


# --- traces and outcomes --------------------------------------------------------------------


def _window(trace: Mapping[str, Any]) -> str:
    start, end = trace.get("spike_start_s"), trace.get("spike_end_s")
    if start is None or end is None:
        return "none"
    if float(trace.get("duration_s") or 0) > 2 * 3600:
        return f"{_clock(start)}–{_clock(end)}"
    return f"{fmt.number(start / 60)}–{fmt.number(end / 60)} min"


def _clock(seconds: float) -> str:
    whole = round(seconds / 60)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def traces_blocks(plan: dict[str, Any]) -> list[Block]:
    rows = [
        [
            Cell(name),
            Cell(str(trace.get("description") or fmt.MISSING)),
            Cell(
                fmt.rate(trace.get("baseline_peak_rps")),
                note=f"mean {fmt.rate(trace.get('baseline_mean_rps'))}",
            ),
            Cell(fmt.rate(trace.get("peak_rps")), note=_window(trace)),
        ]
        for name, trace in (plan.get("traces") or {}).items()
    ]
    return [
        Table(
            title="Model: the traffic traces",
            columns=["trace", "shape", "planned for (peak)", "unplanned surge"],
            rows=rows,
            numeric_from=2,
            caption=f"Model input: seeded, generated traffic, not recorded. The daily peak is "
            f"{fmt.rate(plan.get('peak_rps'))} ({plan.get('peak_source') or fmt.MISSING}). "
            "Planned for: the trace outside its surge, what fixed provisioning is sized "
            "from; the surge (the spike, or everything after the step) is what nobody "
            "planned for.",
        )
    ]


def replicas_cell(record: Mapping[str, Any]) -> Cell:
    strategy = record.get("strategy") or {}
    peak = (record.get("totals") or {}).get("peak_replicas")
    if strategy.get("kind") == "fixed":
        return Cell(f"{fmt.number(strategy.get('replicas'))} fixed")
    return Cell(
        f"{fmt.number(strategy.get('min_replicas'))}–{fmt.number(strategy.get('max_replicas'))}",
        note=f"reached {fmt.number(peak)}",
    )


def _over_tone(value: float | None) -> Tone:
    return "" if value is None else ("good" if value == 0 else "bad")


def outcome_row(variant: str, strategy: str, record: Mapping[str, Any]) -> list[Cell]:
    found = record.get("totals") or {}
    share = found.get("share_over_slo")
    return [
        Cell(variant),
        Cell(strategy_name(strategy)),
        replicas_cell(record),
        Cell(hours(found.get("replica_hours"))),
        Cell(
            minutes(found.get("minutes_over_slo")), tone=_over_tone(found.get("minutes_over_slo"))
        ),
        Cell(
            count(found.get("requests_over_slo")),
            note=f"{fmt.percent(share * 100)} of {count(found.get('requests_total'))}"
            if share is not None
            else "",
        ),
        absorbed(found),
    ]


def outcome_table(plan: dict[str, Any], trace: str) -> Table:
    rows = [
        outcome_row(variant, strategy, record)
        for variant, by_strategy in outcomes(plan, trace).items()
        for strategy, record in by_strategy.items()
    ]
    return Table(
        title=f"Model: {trace}",
        columns=[
            "variant",
            "strategy",
            "replicas",
            "replica-hours",
            "minutes over SLO",
            "requests over SLO",
            "surge absorbed",
        ],
        rows=rows,
        numeric_from=2,
        caption="Modelled from the measured capacity and start-up, not measured. Fixed: "
        "replicas sized once from the trace outside its surge, with 20% headroom, ready all "
        "along. HPA: min–max replicas and the most it reached. Requests over SLO are a lower "
        "bound (rule 2). Surge absorbed: from the surge's start to the end of the last "
        "shortfall within it; at once: capacity covered it from the start; never: still short "
        "when it ended.",
    )


# --- inputs, strategies, rules --------------------------------------------------------------

UNITS = {
    "capacity_rps": "req/s",
    "startup_s": "s",
    "readiness_delay_s": "s",
    "metric_window_s": "s",
}
INPUT_NAMES = {
    "capacity_rps": "SLO capacity per replica",
    "startup_s": "start-up",
    "readiness_delay_s": "readiness delay",
    "utilization_at_capacity": "CPU at capacity, share of request",
    "max_utilization": "CPU of an overloaded replica",
    "metric_window_s": "HPA metric window",
}


def input_text(key: str, value: Any) -> str:
    if not isinstance(value, (int, float)):
        return fmt.plain(value)
    if key in ("utilization_at_capacity", "max_utilization"):
        return fmt.percent(value * 100)
    return f"{fmt.number(value)} {UNITS.get(key, '')}".rstrip()


def inputs_table(plan: dict[str, Any]) -> Table:
    rows = []
    for variant in plan.get("variants") or {}:
        for key, item in (first_record(plan, variant).get("inputs") or {}).items():
            source = str((item or {}).get("source") or "")
            measured = is_measured(source)
            rows.append(
                [
                    Cell(variant),
                    Cell(INPUT_NAMES.get(key, key), note=key),
                    Cell(source, tone="good" if measured else "warn"),
                    Cell(input_text(key, (item or {}).get("value"))),
                ]
            )
    return Table(
        title="Model: inputs and where each comes from",
        columns=["variant", "input", "source", "value"],
        rows=rows,
        numeric_from=3,
        caption="The model's inputs. Measured (green): from this run. Assumed (amber): a "
        "documented default, not measured here. The sensitivity table varies the two "
        "measured inputs.",
    )


def _rules_text(rules_record: Mapping[str, Any]) -> str:
    policies = " or ".join(
        f"{p.get('value')}{'%' if p.get('type') == 'Percent' else ' pods'} per "
        f"{fmt.number(p.get('period_s'))} s"
        for p in rules_record.get("policies") or []
    )
    window = rules_record.get("stabilization_window_s")
    return (
        f"{policies}, stabilised over {fmt.number(window)} s"
        if window
        else f"{policies}, no stabilisation"
    )


def strategy_settings(strategy: Mapping[str, Any]) -> str:
    if strategy.get("kind") == "fixed":
        return str(strategy.get("rule") or fmt.MISSING)
    return (
        f"min {strategy.get('min_replicas')}, max {strategy.get('max_replicas')}, CPU target "
        f"{strategy.get('target_cpu_utilization_pct')}% of request, tolerance "
        f"{fmt.plain(strategy.get('tolerance'))}, sync every {strategy.get('sync_period_s')} s; "
        f"up: {_rules_text(strategy.get('scale_up') or {})}; "
        f"down: {_rules_text(strategy.get('scale_down') or {})}"
    )


def strategies_table(plan: dict[str, Any]) -> Table:
    rows = []
    daily = DAILY if DAILY in trace_names(plan) else next(iter(trace_names(plan)), "")
    for variant, by_strategy in outcomes(plan, daily).items():
        for name, record in by_strategy.items():
            strategy = record.get("strategy") or {}
            rows.append(
                [
                    Cell(variant),
                    Cell(strategy_name(name)),
                    Cell(strategy_settings(strategy), note=str(strategy.get("source") or "")),
                ]
            )
    return Table(
        title=f"Model: the strategies as planned for {daily}",
        columns=["variant", "strategy", "settings"],
        rows=rows,
        numeric_from=3,
        caption="Model settings. Fixed replica counts are what a provisioning script sets "
        "once; on the step trace they are sized from the rate before the step. maxReplicas "
        "covers twice the peak with 20% headroom, and is never under 10.",
    )


def rules_blocks(plan: dict[str, Any]) -> list[Block]:
    found = rules(plan)
    if not found:
        return [Callout("warn", "The plan records no rules.")]
    return [ItemList([f"{i}. {rule}" for i, rule in enumerate(found, 1)], title="Model: rules")]


# --- sensitivity ----------------------------------------------------------------------------

SHOWN = (
    "replica_hours",
    "minutes_over_slo",
    "share_over_slo",
    "spike_absorbed",
    "time_to_absorb_spike_s",
)


def _factor(value: Any) -> str:
    return f"×{fmt.number(value)}" if isinstance(value, (int, float)) else fmt.MISSING


def sensitivity_rows(variant: str, record: Mapping[str, Any]) -> list[list[Cell]]:
    """One row per strategy and capacity factor; start-up factors that change nothing
    (fixed replicas are ready from the start) share one row."""
    groups: dict[tuple[str, Any], list[Mapping[str, Any]]] = {}
    for row in record.get("rows") or []:
        groups.setdefault((str(row.get("strategy")), row.get("capacity_factor")), []).append(row)
    rows = []
    for (strategy, _factor_value), found in groups.items():
        same = all(
            {k: r.get(k) for k in SHOWN} == {k: found[0].get(k) for k in SHOWN} for r in found
        )
        shown = found[:1] if same and len(found) > 1 else found
        for row in shown:
            collapsed = shown is not found
            startup = "any" if collapsed else _factor(row.get("startup_factor"))
            share = row.get("share_over_slo")
            rows.append(
                [
                    Cell(variant),
                    Cell(strategy_name(strategy)),
                    Cell(
                        _factor(row.get("capacity_factor")), note=fmt.rate(row.get("capacity_rps"))
                    ),
                    Cell(startup, note="" if collapsed else fmt.seconds(row.get("startup_s"))),
                    Cell(hours(row.get("replica_hours"))),
                    Cell(
                        minutes(row.get("minutes_over_slo")),
                        tone=_over_tone(row.get("minutes_over_slo")),
                    ),
                    Cell(fmt.percent(share * 100) if share is not None else fmt.MISSING),
                    absorbed(row),
                ]
            )
    return rows


def sensitivity_blocks(plan: dict[str, Any]) -> list[Block]:
    records = {
        variant: by_trace[SENSITIVITY]
        for variant, by_trace in (plan.get("variants") or {}).items()
        if isinstance((by_trace or {}).get(SENSITIVITY), dict)
    }
    if not records:
        return [Callout("warn", "No sensitivity analysis was recorded.")]
    why = next((str((r.get("varied") or {}).get("why") or "") for r in records.values()), "")
    trace = next((str((r.get("trace") or {}).get("name") or "") for r in records.values()), "")
    rows = [row for variant, record in records.items() for row in sensitivity_rows(variant, record)]
    return [
        Table(
            title=f"Model: sensitivity on {trace}, true capacity and start-up off the measured",
            columns=[
                "variant",
                "strategy",
                "true capacity",
                "true start-up",
                "replica-hours",
                "min over SLO",
                "share over SLO",
                "surge absorbed",
            ],
            rows=rows,
            numeric_from=2,
            caption=f"Modelled, not measured. {why} True start-up 'any': the rows for "
            "×0.5, ×1 and ×2 were identical (fixed replicas are ready from the start; an HPA "
            "that never fell short never waited for a new replica), so they are shown once.",
        )
    ]
