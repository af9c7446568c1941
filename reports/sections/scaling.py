"""The scaling pair's report section: fixed capacity by scripts vs Kubernetes and its HPA.

Reads the scaling suite's results section (see infragap.suites.scaling.steps) in three
kinds, kept apart on the page: what was MEASURED here (each variant's per-replica SLO
capacity and start-up time, the capacity search), the Kubernetes manifests sized from it
(validated offline, applied nowhere), and the capacity plan, a MODEL that plays seeded
traffic traces through fixed provisioning and the HPA's documented algorithm. Every
headline, heading and caption of the model says so, beside its inputs and their sources.
"""

from __future__ import annotations

from typing import Any

from infragap.reports import format as fmt
from infragap.reports.charts import Colours
from infragap.reports.compare import Metric
from infragap.reports.model import Block, Claim, Part, Tone
from infragap.reports.sections import SECTIONS, Contribution, load_views
from infragap.reports.sections import scaling_charts as charts
from infragap.reports.sections import scaling_model as model
from infragap.reports.sections import scaling_tables as tables
from infragap.reports.sections.load_views import Capacity
from infragap.reports.sections.scaling_tables import (
    DAILY,
    FIXED_PEAK,
    HPA,
    absorbed_words,
    baselines,
    hours,
    minutes,
    outcomes,
    plan_of,
    startup_of,
    strategy_name,
    totals,
    variant_names,
)
from infragap.reports.sections.serving import equivalence_words
from infragap.reports.sections.serving_data import BASELINES, PROVEN, describe
from infragap.reports.sections.serving_tables import equivalence_blocks, tone

TRAINING = "the training Job"

# --- measured: verdicts and claims -------------------------------------------------------------


def capacity_words(found: dict[str, Capacity]) -> list[str]:
    others = [n for n in dict.fromkeys([*BASELINES, *found]) if n != PROVEN]
    ratios = load_views.capacity_ratios(found, PROVEN, others)
    if ratios:
        return [
            "Measured: " + load_views.capacity_sentence(r, "one Triton replica", describe)
            for r in ratios
        ]
    return [
        f"Measured: one {cap.variant} replica sustains {fmt.rate(cap.capacity_rps)} under "
        f"{cap.slo_text}."
        if cap.best
        else f"Measured: {cap.variant} sustained no rate tried under {cap.slo_text}."
        for cap in found.values()
    ]


def startup_words(section: dict[str, Any]) -> list[str]:
    timed = [(n, startup_of(section, n)) for n in variant_names(section)]
    timed = [(n, s) for n, s in timed if s.get("median_s") is not None]
    if not timed:
        return []
    listed = " and ".join(f"{n} {fmt.seconds(s['median_s'])}" for n, s in timed)
    return [f"Measured: from process start to ready, {listed} ({starts_words(timed)})."]


def starts_words(timed: list[tuple[str, dict[str, Any]]]) -> str:
    counts = sorted({len(s.get("samples_s") or []) for _, s in timed})
    if counts == [1]:
        return "one start each"
    return f"median of {'/'.join(str(c) for c in counts)} starts each"


def capacity_claims(section: dict[str, Any], found: dict[str, Capacity]) -> list[Claim]:
    claims = []
    for name in variant_names(section):
        figures = tables.per_replica(section, name)
        cap = found.get(name)
        slo = (figures or {}).get("slo") or (cap.slo_text if cap else "the SLO")
        label = f"measured: one {name} replica's capacity under {slo}"
        if figures is None:
            claims.append(Claim(label, "none", "no rate tried met the SLO", tone="bad"))
            continue
        claims.append(
            Claim(
                label,
                fmt.rate(figures.get("capacity_rps")),
                f"{fmt.number(figures.get('cpu_cores'))} cores, "
                f"{fmt.number(figures.get('rss_mib'))} MiB at that rate",
            )
        )
    for ratio in load_views.capacity_ratios(found, PROVEN, baselines(list(found))):
        base, top = ratio.baseline, ratio.proven
        if base.best is None or top.best is None:
            continue
        claims.append(
            Claim(
                f"measured: Triton's per-replica capacity over {base.variant}'s",
                fmt.factor(ratio.estimate.point),
                f"{fmt.rate(base.capacity_rps)} → {fmt.rate(top.capacity_rps)}; "
                f"{fmt.interval(ratio.estimate)}",
                tone=tone(ratio.estimate),
            )
        )
    return claims


def startup_claim(section: dict[str, Any]) -> list[Claim]:
    names = [n for n in variant_names(section) if startup_of(section, n).get("median_s")]
    names = [PROVEN, *baselines(names)] if PROVEN in names else names
    if not names:
        return []
    medians = [float(startup_of(section, n)["median_s"]) for n in names]
    starts = starts_words([(n, startup_of(section, n)) for n in names])
    slower: Tone = (
        "bad"
        if len(names) > 1 and names[0] == PROVEN and medians[0] > max(medians[1:])
        else "neutral"
    )
    return [
        Claim(
            "measured: start-up, process start to ready",
            " vs ".join(fmt.seconds(m) for m in medians),
            f"{' vs '.join(names)}; {starts}",
            tone=slower,
        )
    ]


# --- model: verdicts and claims ----------------------------------------------------------------


def _daily(plan: dict[str, Any]) -> str:
    names = tables.trace_names(plan)
    return DAILY if DAILY in names else (names[0] if names else "")


def model_words(plan: dict[str, Any]) -> list[str]:
    daily = _daily(plan)
    found = outcomes(plan, daily)
    if not found:
        return []
    trace = (plan.get("traces") or {}).get(daily) or {}
    per_variant = "; ".join(
        f"{variant} "
        + ", ".join(
            f"{hours((record.get('totals') or {}).get('replica_hours'))} {strategy_name(s)}"
            for s, record in by_strategy.items()
        )
        for variant, by_strategy in found.items()
    )
    words = [
        f"Model, not measured: over the seeded {daily} trace (daily peak "
        f"{fmt.rate(plan.get('peak_rps'))}, {plan.get('peak_source')}; surge to "
        f"{fmt.rate(trace.get('peak_rps'))}) the replica-hours are: {per_variant}."
    ]
    for variant in found:
        hpa, fixed = (totals(plan, daily, variant, s) for s in (HPA, FIXED_PEAK))
        if hpa and fixed:
            words.append(
                f"Model: {variant} under the HPA is over the SLO for "
                f"{minutes(hpa.get('minutes_over_slo'))} of the day and {absorbed_words(hpa)}; "
                f"fixed for peak, {minutes(fixed.get('minutes_over_slo'))}, and "
                f"{absorbed_words(fixed)}."
            )
        words += floor_words(plan, daily, variant)
    return words


def floor_words(plan: dict[str, Any], trace: str, variant: str) -> list[str]:
    """The HPA costing more than a fixed count: its minReplicas, not its scaling, decides."""
    record = (outcomes(plan, trace).get(variant) or {}).get(HPA) or {}
    hpa, fixed = record.get("totals") or {}, totals(plan, trace, variant, FIXED_PEAK)
    floor = (record.get("strategy") or {}).get("min_replicas")
    if not hpa or not fixed or (hpa.get("replica_hours") or 0) <= (fixed.get("replica_hours") or 0):
        return []
    if hpa.get("peak_replicas") != floor:
        return []
    return [
        f"Model: for {variant} the HPA costs more than fixed for peak "
        f"({hours(hpa.get('replica_hours'))} vs {hours(fixed.get('replica_hours'))} "
        f"replica-hours) because its minReplicas of {floor}, kept for availability, already "
        "exceeds what the load needs; fixed for peak has no spare replica at all."
    ]


def model_claims(plan: dict[str, Any]) -> list[Claim]:
    daily = _daily(plan)
    found = outcomes(plan, daily)
    claims = []
    if PROVEN in found:
        for base in baselines(list(found)):
            for strategy in found[PROVEN]:
                top, low = (
                    totals(plan, daily, PROVEN, strategy),
                    totals(plan, daily, base, strategy),
                )
                if not top or not low:
                    continue
                fewer = (low.get("replica_hours") or 0) - (top.get("replica_hours") or 0)
                ratio = (low.get("replica_hours") or 0) / (top.get("replica_hours") or 1)
                claims.append(
                    Claim(
                        f"model: replica-hours over the {daily} day, {strategy_name(strategy)}",
                        f"{hours(top.get('replica_hours'))} vs {hours(low.get('replica_hours'))}",
                        f"triton vs {base}: {hours(abs(fewer))} "
                        f"{'fewer' if fewer >= 0 else 'more'} ({base} needs {fmt.factor(ratio)}) "
                        f"for the same SLO; over it {minutes(top.get('minutes_over_slo'))} vs "
                        f"{minutes(low.get('minutes_over_slo'))}",
                        tone="good" if fewer > 0 else ("bad" if fewer < 0 else "neutral"),
                    )
                )
    for variant in found:
        hpa, fixed = (totals(plan, daily, variant, s) for s in (HPA, FIXED_PEAK))
        if not hpa or not fixed:
            continue
        better = (hpa.get("minutes_over_slo") or 0) < (fixed.get("minutes_over_slo") or 0)
        claims.append(
            Claim(
                f"model: {variant}, minutes over the SLO in the day, HPA vs fixed for peak",
                f"{fmt.number(hpa.get('minutes_over_slo'), 2)} vs "
                f"{minutes(fixed.get('minutes_over_slo'))}",
                f"surge: {tables.absorbed(hpa).text} vs {tables.absorbed(fixed).text}",
                tone="good" if better else "neutral",
            )
        )
    return claims


def manifest_words(manifests: dict[str, Any] | None) -> list[str]:
    if not manifests:
        return []
    versions = tables.and_list([str(v) for v in manifests.get("kubernetes_versions") or []])
    owners = [TRAINING if n == "train" else n for n in manifests.get("files") or {}]
    written = tables.and_list(owners) or "nothing"
    problems = len(manifests.get("problems") or [])
    verdict = "with no problems" if not problems else f"with {problems} problems"
    return [
        f"Manifests for {written} validated offline against Kubernetes {versions} {verdict}; "
        "none was applied to a cluster."
    ]


# --- validity -------------------------------------------------------------------------------


def validity_warnings(section: dict[str, Any], found: dict[str, Capacity]) -> list[str]:
    """What the report sees in the data that the run itself did not record."""
    warnings = []
    for name in variant_names(section):
        if name in (section.get("per_replica") or {}) and tables.per_replica(section, name) is None:
            warnings.append(
                f"{name}: no rate tried met the SLO, so it has no per-replica capacity, no "
                "manifests and no capacity plan"
            )
    for cap in found.values():
        why = tables.unbracketed(cap)
        if why:
            warnings.append(f"{cap.variant}: {why}")
    problems = (section.get("manifests") or {}).get("problems") or []
    if problems:
        warnings.append(
            f"the manifests failed schema validation ({len(problems)} problems, the first: "
            f"{problems[0]}): do not apply them as written"
        )
    if any(section.get("per_replica") or {}) and not plan_of(section).get("variants"):
        warnings.append("no capacity plan was recorded: the model part is missing")
    equivalence = section.get("equivalence")
    if not equivalence:
        warnings.append(
            "no equivalence check was recorded: the variants' answers were not compared"
        )
    elif not equivalence.get("passed"):
        warnings.append("the equivalence check failed: a variant computes something else")
    return warnings


# --- the section -------------------------------------------------------------------------------


class ScalingSection:
    title = "Scaling: fixed capacity by scripts vs Kubernetes and its HPA"
    description = (
        "Measured here: each serving variant's per-replica SLO capacity (the load engine's "
        "capacity search, one replica) and start-up time (process start to ready). Written "
        "from it: Kubernetes Deployment, Service, HPA and Job manifests, validated offline "
        "against the API schemas and applied nowhere. Modelled from it, and labelled as a "
        "model: a seeded day with a spike and a step in load played through fixed "
        "provisioning (what a provisioning script sets) and the HPA's documented algorithm."
    )

    def contribute(self, section: dict[str, Any], anchor: str) -> Contribution:
        found = load_views.capacities(section)
        plan = plan_of(section)
        verdicts = [
            *capacity_words(found),
            *startup_words(section),
            *model_words(plan),
            *manifest_words(section.get("manifests")),
            *equivalence_words(section.get("equivalence")),
        ]
        claims = [*capacity_claims(section, found), *startup_claim(section), *model_claims(plan)]
        warnings = validity_warnings(section, found) + load_views.load_warnings(section)
        return Contribution(verdicts, claims, self._parts(section, found, anchor), warnings)

    def _parts(
        self, section: dict[str, Any], found: dict[str, Capacity], anchor: str
    ) -> list[Part]:
        parts = [
            Part(
                "Measured: per-replica capacity and start-up",
                f"{anchor}-measured",
                [tables.measured_table(section, found)],
            )
        ]
        search = load_views.capacity_part(section, anchor, Colours(variant_names(section)))
        if search is not None:
            parts.append(Part("Measured: the SLO capacity search", search.anchor, search.blocks))
        parts.append(
            Part(
                "Manifests (validated offline, not applied)",
                f"{anchor}-manifests",
                tables.manifest_blocks(section.get("manifests")),
            )
        )
        parts += self._model_parts(plan_of(section), anchor)
        parts.append(
            Part(
                "Measured: equivalence check",
                f"{anchor}-equivalence",
                equivalence_blocks(section.get("equivalence")),
            )
        )
        return parts

    def _model_parts(self, plan: dict[str, Any], anchor: str) -> list[Part]:
        if not plan.get("variants"):
            return []
        plans: list[Block] = [model.model_callout(), *model.traces_blocks(plan)]
        plans += [model.outcome_table(plan, trace) for trace in tables.trace_names(plan)]
        figures: list[Block] = []
        for name, trace in (plan.get("traces") or {}).items():
            figure = charts.load_vs_capacity(trace, outcomes(plan, name))
            if figure is not None:
                figures.append(figure)
        return [
            Part("Model: replicas, cost and time over the SLO", f"{anchor}-model", plans),
            Part("Model: offered load against ready capacity", f"{anchor}-model-chart", figures),
            Part(
                "Model: inputs, strategies and rules",
                f"{anchor}-model-inputs",
                [model.inputs_table(plan), model.strategies_table(plan), *model.rules_blocks(plan)],
            ),
            Part(
                "Model: sensitivity", f"{anchor}-model-sensitivity", model.sensitivity_blocks(plan)
            ),
        ]

    def metrics(self, section: dict[str, Any]) -> list[Metric]:
        """Per variant its SLO capacity (the capacity trial's per-second throughput) and
        its start-up samples; the model's outputs are functions of these, not samples."""
        found = [
            Metric(
                f"{name}/capacity",
                f"{name}, one replica",
                f"SLO capacity under {cap.slo_text}",
                "req/s",
                "higher",
                tuple(float(x) for x in cap.samples),
            )
            for name, cap in load_views.capacities(section).items()
            if cap.best is not None
        ]
        for name in variant_names(section):
            samples = startup_of(section, name).get("samples_s") or []
            if samples:
                found.append(
                    Metric(
                        f"{name}/startup",
                        f"{name}, one replica",
                        "start-up, process start to ready",
                        "s",
                        "lower",
                        tuple(float(s) for s in samples),
                    )
                )
        return found


SECTIONS.register("scaling")(ScalingSection())
