"""The scaling section's measured and manifest views, and the readers every part shares.

Reads the scaling suite's results section (see infragap.suites.scaling.steps) leniently:
an interrupted run may lack any of "startup", "per_replica", "manifests" or "plan". The
model's tables live in `scaling_model`, its chart in `scaling_charts`. Pure: plain data
in, page blocks out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from infragap.reports import format as fmt
from infragap.reports.bootstrap import mean_interval
from infragap.reports.model import Block, Callout, Cell, ItemList, Table, Text
from infragap.reports.sections.load_views import BRACKET, Capacity
from infragap.reports.sections.serving_data import ORDER, PROVEN

MEASURED = "measured"
MODEL = "model"
DAILY = "daily-with-spike"
FIXED_PEAK = "fixed for peak"
FIXED_AVERAGE = "fixed for average"
HPA = "hpa"
SENSITIVITY = "sensitivity"  # sits beside the traces in each variant's plan record
STRATEGY_NAMES = {HPA: "HPA"}


def strategy_name(name: str) -> str:
    return STRATEGY_NAMES.get(name, name)


def variant_names(section: dict[str, Any]) -> list[str]:
    """Every variant the run knows of (start-up, capacity or search), in the serving order."""
    names: list[str] = []
    for key in ("startup", "per_replica", "variants"):
        names += [n for n in section.get(key) or {} if n not in names]
    return [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]


def baselines(names: list[str]) -> list[str]:
    return [n for n in names if n != PROVEN]


def startup_of(section: dict[str, Any], name: str) -> dict[str, Any]:
    return (section.get("startup") or {}).get(name) or {}


def per_replica(section: dict[str, Any], name: str) -> dict[str, Any] | None:
    return (section.get("per_replica") or {}).get(name)


def plan_of(section: dict[str, Any]) -> dict[str, Any]:
    return section.get("plan") or {}


def trace_names(plan: dict[str, Any]) -> list[str]:
    return list(plan.get("traces") or {})


def outcomes(plan: dict[str, Any], trace: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{variant: {strategy: outcome record}} for one trace, variants in the serving order."""
    found = {
        name: by_trace[trace]
        for name, by_trace in (plan.get("variants") or {}).items()
        if isinstance((by_trace or {}).get(trace), dict)
    }
    return {n: found[n] for n in [*ORDER, *found] if n in found}


def totals(plan: dict[str, Any], trace: str, variant: str, strategy: str) -> dict[str, Any]:
    return ((outcomes(plan, trace).get(variant) or {}).get(strategy) or {}).get("totals") or {}


# --- figures as words -----------------------------------------------------------------------


def count(value: float | None) -> str:
    """A modelled request count to three figures: 833, 46.2 k, 5.85 M."""
    if value is None:
        return fmt.MISSING
    for factor, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= factor:
            return f"{fmt.significant(value / factor)}{unit}"
    return fmt.number(round(value))


def minutes(value: float | None) -> str:
    return fmt.MISSING if value is None else f"{fmt.number(value, 2)} min"


def hours(value: float | None) -> str:
    return fmt.MISSING if value is None else fmt.number(value, 3)


def absorbed(found: Mapping[str, Any]) -> Cell:
    """How long the strategy took to absorb the trace's unplanned surge."""
    if found.get("spike_absorbed") is None:
        return Cell(fmt.MISSING)
    if not found["spike_absorbed"]:
        return Cell("never", tone="bad")
    took = found.get("time_to_absorb_spike_s") or 0.0
    if took == 0:
        return Cell("at once", tone="good")
    return Cell(fmt.seconds(took))


def absorbed_words(found: Mapping[str, Any]) -> str:
    cell = absorbed(found)
    return {"at once": "covers the spike from its start", "never": "never absorbs the spike"}.get(
        cell.text, f"absorbs the spike in {cell.text}"
    )


# --- measured ---------------------------------------------------------------------------


def _ci(samples: list[float]) -> str:
    bounds = mean_interval(samples)
    return f"95% CI {fmt.significant(bounds[0])}–{fmt.significant(bounds[1])}" if bounds else ""


def measured_table(section: dict[str, Any], found: Mapping[str, Capacity]) -> Table:
    rows = []
    slos = []
    for name in variant_names(section):
        figures, start = per_replica(section, name), startup_of(section, name)
        cap = found.get(name)
        slos.append(str((figures or {}).get("slo") or (cap.slo_text if cap else "")))
        samples = start.get("samples_s") or []
        if figures is None:
            capacity = Cell("none met the SLO", tone="bad")
            offered = cores = rss = Cell(fmt.MISSING)
        else:
            capacity = Cell(
                fmt.rate(figures.get("capacity_rps")), note=_ci(cap.samples if cap else [])
            )
            offered = Cell(fmt.rate(figures.get("offered_rps")))
            cores = Cell(fmt.number(figures.get("cpu_cores")))
            mib = figures.get("rss_mib")
            rss = Cell(f"{fmt.number(mib)} MiB" if mib else fmt.MISSING)
        rows.append(
            [
                Cell(name),
                capacity,
                offered,
                cores,
                rss,
                Cell(
                    fmt.seconds(start.get("median_s")),
                    note=f"{len(samples)} start{'' if len(samples) == 1 else 's'}: "
                    + ", ".join(fmt.seconds(s) for s in samples)
                    if samples
                    else "",
                ),
            ]
        )
    under = and_list(sorted({s for s in slos if s}))
    title = "Measured on this machine, one replica of each variant"
    return Table(
        title=f"{title}, under {under}" if under else title,
        columns=[
            "variant",
            "SLO capacity",
            "offered",
            "CPU cores at capacity",
            "RSS at capacity",
            "start-up (median)",
        ],
        rows=rows,
        numeric_from=1,
        caption="Measured, not modelled. SLO capacity: the achieved throughput of the "
        "highest offered rate whose latency met the SLO (95% bootstrap interval of its "
        "per-second throughput). CPU cores: CPU seconds of the server's process tree over "
        "that trial's loaded time (warm-up and window); RSS: its peak resident memory. "
        "Start-up: process start until the health endpoint answers with the model loaded, "
        "from nothing (a fresh interpreter for Flask, a fresh model repository for Triton), "
        "one sample per start. The load generator ran on the same machine.",
    )


def and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def unbracketed(cap: Capacity) -> str | None:
    """Why the search's capacity is only a lower bound, or None when it is bracketed."""
    low = cap.offered_rps
    if cap.best is None or not low:
        return None
    if cap.first_miss_rps is None:
        return f"no rate tried missed the SLO, so {fmt.rate(low)} offered is only a lower bound"
    if cap.first_miss_rps / low > BRACKET + 1e-9:
        gap = fmt.percent((cap.first_miss_rps / low - 1) * 100)
        return (
            f"the capacity search did not bracket the capacity within "
            f"{fmt.percent((BRACKET - 1) * 100)}: {fmt.rate(low)} offered met the SLO and the "
            f"next rate tried, {fmt.rate(cap.first_miss_rps)}, missed (+{gap}); the true "
            "capacity lies between, so its per-replica figure and everything modelled from it "
            "are a lower bound (raise --slo-trials)"
        )
    return None


# --- manifests --------------------------------------------------------------------------


def manifest_blocks(manifests: dict[str, Any] | None) -> list[Block]:
    if not manifests:
        return [
            Text(
                "No manifests were written in this run (no variant met the SLO, or the run "
                "stopped earlier)."
            )
        ]
    versions = and_list([str(v) for v in manifests.get("kubernetes_versions") or []])
    problems = [str(p) for p in manifests.get("problems") or []]
    verdict = (
        Callout(
            "bad",
            f"{len(problems)} problem{'' if len(problems) == 1 else 's'} against the API "
            f"schemas of Kubernetes {versions or fmt.MISSING}: do not apply them as written.",
            title="invalid",
        )
        if problems
        else Callout(
            "good",
            f"Every manifest validated against the API schemas of Kubernetes "
            f"{versions or fmt.MISSING}: no problems.",
            title="valid",
        )
    )
    blocks: list[Block] = [
        verdict,
        Text(
            "Validated offline (the OpenAPI schemas, no API server) and written to files; "
            "none was applied to a cluster. The training Job's resources are "
            f"{manifests.get('training_resources') or fmt.MISSING}."
        ),
    ]
    if problems:
        blocks.append(ItemList(problems, title="problems"))
    rows = [
        [Cell(owner), Cell(kind), Cell(str(path))]
        for owner, files in (manifests.get("files") or {}).items()
        for kind, path in (files or {}).items()
    ]
    if rows:
        blocks.append(
            Table(
                title="Files written",
                columns=["for", "kind", "path"],
                rows=rows,
                numeric_from=3,
                caption="serving: Deployment, Service, PodDisruptionBudget and a CPU "
                "HorizontalPodAutoscaler, sized from the measured CPU cores, RSS and start-up; "
                "queue-time-hpa: the alternative HPA on Triton's queue time (a Deployment has "
                "one HPA); prometheus-adapter: the rule that serves that metric (not schema "
                "validated: it is the adapter's config, not a Kubernetes object); job: the "
                "training Job, its resources assumed. Paths are on the machine that ran.",
            )
        )
    return blocks


def is_measured(source: str) -> bool:
    return source.startswith(MEASURED)


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
