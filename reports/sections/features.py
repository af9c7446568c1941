"""The features pair's report section: pandas recomputation vs a Feast feature store.

Reads the features suite's results section (see infragap.suites.features.suite): the
headline compares Feast's feature server with the naive endpoint at the highest user
level both ran, then states the skew, leakage and set-up figures; tables and charts
follow, one part per question.
"""

from __future__ import annotations

from typing import Any

from infragap.reports import format as fmt
from infragap.reports.bootstrap import RatioEstimate, ratio_of_means, ratio_of_percentiles
from infragap.reports.calibration import calibration_part
from infragap.reports.charts import Colours
from infragap.reports.compare import Metric
from infragap.reports.model import Block, Callout, Cell, Claim, Figure, KeyValues, Part, Table, Text
from infragap.reports.sections import SECTIONS, Contribution, load_views, serving_tables
from infragap.reports.sections import serving_charts as charts
from infragap.reports.sections.serving_data import Level, levels_of, metrics
from infragap.reports.sections.serving_tables import tone

NAIVE = "naive"
FEAST = "feast"
SIDES = (NAIVE, FEAST)
FEATURES = ("age_bucket", "location_code", "events_7d", "events_30d", "purchases_30d")


def top_shared(levels: dict[str, dict[int, Level]]) -> tuple[Level, Level] | None:
    """(feast, naive) at the highest user level both ran."""
    shared = set(levels.get(FEAST, {})) & set(levels.get(NAIVE, {}))
    if not shared:
        return None
    users = max(shared)
    return levels[FEAST][users], levels[NAIVE][users]


def load_words(feast: Level, naive: Level) -> tuple[str, RatioEstimate, RatioEstimate]:
    throughput = ratio_of_means(feast.per_second, naive.per_second)
    tail = ratio_of_percentiles(naive.latencies, feast.latencies, 99.0)
    who = fmt.users(feast.users)
    if not throughput.known:
        text = f"At {who} there are too few throughput samples to compare the endpoints"
    elif throughput.direction > 0:
        text = (
            f"Feast's feature server answered {fmt.factor(throughput.point)} the requests of "
            f"the naive endpoint at {who} ({fmt.interval(throughput)})"
        )
    elif throughput.direction < 0:
        text = (
            f"Feast's feature server answered only {fmt.factor(throughput.point)} the "
            f"requests of the naive endpoint at {who} ({fmt.interval(throughput)})"
        )
    else:
        text = (
            f"At {who} the two endpoints' throughput is within noise ({fmt.interval(throughput)})"
        )
    text += f"; p99 went from {fmt.ms(naive.latency('p99'))} to {fmt.ms(feast.latency('p99'))}."
    return text, throughput, tail


def skew_words(skew: dict[str, Any]) -> list[str]:
    naive, feast = skew.get(NAIVE), skew.get(FEAST)
    if not naive or not feast:
        return []
    flips = naive["prediction"]["label_flips"]
    return [
        f"For the same {fmt.number(naive['entities'])} users at the same moment, "
        f"{fmt.percent(naive['values_share'] * 100)} of the naive endpoint's feature values "
        f"differ from what training computed ({fmt.percent(naive['entities_share'] * 100)} "
        f"of users), which flips {fmt.number(flips)} of the model's decisions; Feast's "
        f"served values differ in {fmt.number(feast['values_differ'])} of "
        f"{fmt.number(feast['values_compared'])}."
    ]


def leakage_words(leakage: dict[str, Any]) -> list[str]:
    naive, feast = leakage.get(NAIVE), leakage.get(FEAST)
    metrics_ = leakage.get("metrics") or {}
    if not naive or not feast:
        return []
    text = (
        f"{fmt.percent(naive['share'] * 100)} of the naive training rows count events from "
        f"after their label's time (Feast's point-in-time join: "
        f"{fmt.percent(feast['share'] * 100)})"
    )
    offline, honest = metrics_.get("naive_offline_auc"), metrics_.get("naive_point_in_time_auc")
    if offline is not None and honest is not None:
        text += (
            f"; the leak shows the naive model an offline AUC of {offline:.3f}, against "
            f"{honest:.3f} on the same rows without it"
        )
    return [text + "."]


def setup_words(setup: dict[str, Any]) -> list[str]:
    feast = setup.get(FEAST) or {}
    if feast.get("apply_s") is None:
        return []
    once = sum(feast.get(k) or 0.0 for k in ("pipeline_s", "apply_s", "materialize_s"))
    return [
        f"Feast's set-up is paid once: {fmt.seconds(once)} for the feature pipeline, "
        f"`feast apply` ({fmt.seconds(feast.get('apply_s'))}) and materialisation "
        f"({fmt.seconds(feast.get('materialize_s'))})."
    ]


def capacity_words(variant: str) -> str:
    return "the naive endpoint" if variant == NAIVE else variant


def claims(section: dict[str, Any], pair: tuple[Level, Level] | None) -> list[Claim]:
    found: list[Claim] = []
    if pair is not None:
        _, throughput, tail = load_words(*pair)
        found += [
            Claim(
                f"throughput of the naive endpoint, at {fmt.users(pair[0].users)}",
                fmt.factor(throughput.point),
                fmt.interval(throughput),
                tone=tone(throughput),
            ),
            Claim(
                f"lower p99 latency, at {fmt.users(pair[0].users)}",
                fmt.factor(tail.point),
                f"{fmt.ms(pair[1].latency('p99'))} → {fmt.ms(pair[0].latency('p99'))}",
                tone=tone(tail),
            ),
        ]
    skew = section.get("skew") or {}
    for side in SIDES:
        if side in skew:
            share = skew[side]["values_share"] * 100
            found.append(
                Claim(
                    f"{side}: served feature values that differ from training",
                    fmt.percent(share),
                    f"{fmt.number(skew[side]['prediction']['label_flips'])} label flips",
                    tone="good" if share == 0 else "bad",
                )
            )
    leakage = section.get("leakage") or {}
    if NAIVE in leakage:
        found.append(
            Claim(
                "naive training rows built from the future",
                fmt.percent(leakage[NAIVE]["share"] * 100),
                f"Feast: {fmt.percent((leakage.get(FEAST) or {}).get('share', 0) * 100)}",
                tone="bad" if leakage[NAIVE]["share"] else "good",
            )
        )
    inflation = (leakage.get("metrics") or {}).get("naive_inflation")
    if inflation is not None:
        found.append(
            Claim("offline AUC inflation from the leak", f"{inflation:+.3f}", "naive model")
        )
    return found


def levels_table(levels: dict[str, dict[int, Level]]) -> Table:
    rows = []
    for name, by_users in levels.items():
        for users in sorted(by_users):
            level = by_users[users]
            failures = int(level.record.get("failures") or 0)
            rows.append(
                [
                    Cell(name),
                    Cell(str(users)),
                    Cell(fmt.number(level.record.get("requests"))),
                    Cell(fmt.number(failures), tone="bad" if failures else ""),
                    Cell(fmt.rate(level.record.get("throughput_rps"), "")),
                    *(Cell(fmt.ms(level.latency(k))) for k in ("p50", "p90", "p99", "max")),
                ]
            )
    return Table(
        columns=["side", "users", "requests", "failures", "req/s", "p50", "p90", "p99", "max"],
        rows=rows,
        caption="Exact latencies (nearest rank) of every successful request that started in "
        "the measured window; the warm-up is excluded.",
    )


def skew_table(skew: dict[str, Any]) -> Table:
    rows = []
    for feature in FEATURES:
        cells = [Cell(feature)]
        for side in SIDES:
            record = ((skew.get(side) or {}).get("features") or {}).get(feature)
            if record is None:
                cells.append(Cell(fmt.MISSING))
                continue
            share = record["share"] * 100
            cells.append(
                Cell(
                    fmt.percent(share),
                    tone="bad" if share else "good",
                    note=f"{fmt.number(record['differ'])} values",
                )
            )
        rows.append(cells)
    return Table(
        columns=["feature", "naive: differ", "Feast: differ"],
        rows=rows,
        caption="Share of sampled users whose served value differs from the value the "
        "training pipeline computed for the same user at the same moment.",
    )


def prediction_table(skew: dict[str, Any]) -> Table:
    rows = []
    for side in SIDES:
        pred = (skew.get(side) or {}).get("prediction")
        if not pred:
            continue
        rows.append(
            [
                Cell(side),
                Cell(f"{pred['mean_abs_diff']:.4f}"),
                Cell(f"{pred['max_abs_diff']:.4f}"),
                Cell(
                    fmt.number(pred["label_flips"]),
                    tone="bad" if pred["label_flips"] else "good",
                    note=fmt.percent(pred["flip_share"] * 100),
                ),
            ]
        )
    return Table(
        columns=["side", "mean |Δ score|", "max |Δ score|", "label flips"],
        rows=rows,
        caption="The side's model, trained on its own training table, scoring the training "
        "view and the served view of the same users; a flip crosses the 0.5 threshold.",
    )


def palette() -> Colours:
    """Feast blue, naive vermillion, in every chart of the section."""
    return Colours([FEAST, NAIVE])


def skew_chart(skew: dict[str, Any]) -> Figure | None:
    if not all(side in skew for side in SIDES):
        return None
    from infragap.reports.charts import new_figure, styled, to_figure

    colours = palette()
    with styled():
        fig, (ax,) = new_figure(1, height_in=3.2)
        width = 0.38
        for offset, side in enumerate(SIDES):
            shares = [skew[side]["features"][f]["share"] * 100 for f in FEATURES]
            xs = [i + (offset - 0.5) * width for i in range(len(FEATURES))]
            ax.bar(xs, shares, width=width, color=colours.colour(side), label=side)
        ax.set_xticks(range(len(FEATURES)))
        ax.set_xticklabels(FEATURES)
        ax.set_ylabel("values that differ (%)")
        ax.set_title("Training/serving skew by feature")
        ax.legend()
        return to_figure(
            fig,
            "Training/serving skew by feature",
            "Bar chart of the share of served feature values that differ from training, "
            "per feature, for the naive endpoint and Feast.",
        )


def leakage_table(leakage: dict[str, Any]) -> Table:
    rows = []
    for feature in ("events_7d", "events_30d", "purchases_30d"):
        cells = [Cell(feature)]
        for side in SIDES:
            record = ((leakage.get(side) or {}).get("features") or {}).get(feature)
            if record is None:
                cells.append(Cell(fmt.MISSING))
                continue
            share = record["share"] * 100
            cells.append(
                Cell(
                    fmt.percent(share),
                    tone="bad" if share else "good",
                    note=f"{record['future_events_mean']:.1f} future events per leaked row",
                )
            )
        rows.append(cells)
    return Table(
        columns=["feature", "naive: rows leaking", "Feast: rows leaking"],
        rows=rows,
        caption="A training row leaks when its value counts an event that happened after "
        "the label's timestamp: information the model will never have when it serves.",
    )


def leakage_blocks(leakage: dict[str, Any]) -> list[Block]:
    metrics_ = leakage.get("metrics") or {}

    def auc(key: str) -> str:
        value = metrics_.get(key)
        return fmt.MISSING if value is None else f"{value:.3f}"

    return [
        leakage_table(leakage),
        KeyValues(
            title=str(metrics_.get("metric", "offline metric")),
            items=[
                ("naive model, leaky test rows (what the team sees)", auc("naive_offline_auc")),
                ("naive model, point-in-time test rows", auc("naive_point_in_time_auc")),
                ("inflation", auc("naive_inflation")),
                ("Feast model, point-in-time test rows", auc("feast_offline_auc")),
            ],
        ),
    ]


def check_blocks(section: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    for key, what in (
        ("answers", "Each endpoint served exactly what its side computes in-process"),
        ("consistency", "Feast's online values equal its historical values at the same time"),
        ("oracle", "Feast's historical retrieval equals an independent pd.merge_asof join"),
    ):
        record = section.get(key)
        if not record:
            blocks.append(Callout("warn", f"Not recorded: {what.lower()}."))
            continue
        passed = bool(record.get("passed"))
        count = record.get("entities") or record.get("rows") or 0
        blocks.append(
            Callout(
                "good" if passed else "bad",
                f"{what} ({fmt.number(count)} checked)."
                if passed
                else f"Failed: {what.lower()} — {fmt.number(record.get('values_differ'))} "
                "values differ.",
                title=key,
            )
        )
    return blocks


def setup_blocks(section: dict[str, Any]) -> list[Block]:
    setup = section.get("setup") or {}
    data = section.get("data") or {}
    feast = setup.get(FEAST) or {}
    naive = setup.get(NAIVE) or {}
    items = [
        (
            "data set",
            f"{data.get('size', '?')}: {fmt.number(data.get('events'))} events, "
            f"{fmt.number(data.get('users'))} users, {fmt.number(data.get('labels'))} labels",
        ),
        ("naive: build the training table", fmt.seconds(naive.get("training_table_s"))),
        ("Feast: feature pipeline (tables)", fmt.seconds(feast.get("pipeline_s"))),
        ("Feast: feast apply", fmt.seconds(feast.get("apply_s"))),
        ("Feast: materialise", fmt.seconds(feast.get("materialize_s"))),
        ("Feast: historical retrieval", fmt.seconds(feast.get("historical_s"))),
        ("Feast online store", str(feast.get("online_store", fmt.MISSING))),
    ]
    return [KeyValues(items=items)]


def lookups_table(lookups: dict[str, Any]) -> Table | None:
    rows = []
    for name, record in lookups.items():
        if not isinstance(record, dict):
            continue
        lat = record.get("latency_ms") or {}
        rows.append(
            [
                Cell(name),
                Cell(fmt.number(record.get("calls"))),
                Cell(fmt.rate(record.get("calls_per_s"), "/s")),
                *(Cell(fmt.ms(lat.get(k))) for k in ("p50", "p99", "max")),
            ]
        )
    if not rows:
        return None
    return Table(
        columns=["lookup", "calls", "rate", "p50", "p99", "max"],
        rows=rows,
        caption="One caller in the harness process, no HTTP: the naive function includes "
        "the raw-file reads its endpoint does per request; feast-sdk is get_online_features.",
    )


class FeaturesSection:
    title = "Features: handwritten pandas vs a Feast feature store"
    description = (
        "The same five features for a purchase model, computed by handwritten pandas (a "
        "training script and a Flask endpoint that recomputes from the raw files) and by a "
        "Feast repository (point-in-time historical retrieval, `feast serve` over a "
        "materialised online store). Locust drives both endpoints; skew, leakage and "
        "consistency are measured on the same seeded data."
    )

    def contribute(self, section: dict[str, Any], anchor: str) -> Contribution:
        levels = levels_of(section)
        pair = top_shared(levels)
        capacity = load_views.capacity_ratios(load_views.capacities(section), FEAST, [NAIVE])
        verdicts = [
            load_views.capacity_sentence(r, "Feast's feature server", capacity_words)
            for r in capacity
        ]
        if pair is not None:
            verdicts.append(load_words(*pair)[0])
        verdicts += skew_words(section.get("skew") or {})
        verdicts += leakage_words(section.get("leakage") or {})
        verdicts += setup_words(section.get("setup") or {})
        return Contribution(
            verdicts,
            load_views.capacity_claims(capacity) + claims(section, pair),
            self._parts(section, levels, anchor),
            load_views.load_warnings(section),
        )

    def _parts(
        self, section: dict[str, Any], levels: dict[str, dict[int, Level]], anchor: str
    ) -> list[Part]:
        parts: list[Part] = []
        colours = palette()
        if levels:
            parts.append(
                Part(
                    "Throughput and latency by level",
                    f"{anchor}-levels",
                    [
                        levels_table(levels),
                        *charts.optional(charts.throughput_latency(levels, colours)),
                        *charts.optional(charts.timeline(levels, colours)),
                    ],
                )
            )
        for load_part in (
            load_views.capacity_part(section, anchor, colours),
            load_views.rates_part(section, anchor, colours),
        ):
            if load_part is not None:
                parts.append(load_part)
        skew = section.get("skew") or {}
        if skew:
            parts.append(
                Part(
                    "Training/serving skew",
                    f"{anchor}-skew",
                    [
                        skew_table(skew),
                        *charts.optional(skew_chart(skew)),
                        prediction_table(skew),
                    ],
                )
            )
        leakage = section.get("leakage") or {}
        if leakage:
            parts.append(
                Part("Point-in-time leakage", f"{anchor}-leakage", leakage_blocks(leakage))
            )
        parts.append(Part("Checks", f"{anchor}-checks", check_blocks(section)))
        parts.append(Part("Set-up cost", f"{anchor}-setup", setup_blocks(section)))
        lookups = lookups_table(section.get("lookups") or {})
        if lookups is not None:
            parts.append(Part("In-process lookups", f"{anchor}-lookups", [lookups]))
        if levels:
            parts.append(
                Part(
                    "Server and load generator resources",
                    f"{anchor}-resources",
                    [serving_tables.resources_table(levels)],
                )
            )
            failures = serving_tables.failures_table(levels)
            if failures is not None:
                parts.append(Part("Failed requests", f"{anchor}-failures", [failures]))
        calibration = calibration_part(section, anchor)
        if calibration is not None:
            parts.append(calibration)
        if not parts:
            parts.append(Part("No measurements", f"{anchor}-none", [Text("Nothing recorded.")]))
        return parts

    def metrics(self, section: dict[str, Any]) -> list[Metric]:
        return metrics(section) + load_views.load_metrics(section)


SECTIONS.register("features")(FeaturesSection())
