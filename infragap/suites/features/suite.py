"""The features suite: naive pandas preprocessing vs a Feast feature store, step by step.

Both sides start from the same seeded e-commerce data (infragap.workloads.ecommerce)
and are asked about the same moment: the data's end, `as_of`. Adds to its results
section:

- "data": the data set's size and span; "setup": what each side pays before serving
  (naive: building the training table; Feast: the feature pipeline, `feast apply`,
  materialisation, historical retrieval), in seconds.
- "answers": each HTTP endpoint checked against the same computation in-process.
- "skew": per side, training view vs serving view of the same entities at `as_of`
  (see skew.feature_skew), and the model's prediction shift and label flips.
- "leakage": per side, rows whose training values counted events after the label
  (see leakage.leakage_record); "metrics": offline AUC with the leak and without.
- "oracle": Feast's historical retrieval against a `pd.merge_asof` join.
- "consistency": Feast's online values after materialising at `as_of` against its
  historical values at `as_of`.
- "variants": {"naive" | "feast": {"levels": [FeaturesLevel, ...]}} (records.py).
- "lookups": in-process lookup latency (the naive function incl. its file reads, and
  the Feast SDK's get_online_features).

The section's config holds "feast_config": how Feast's online path runs
(proven.feast_repo.tuning.FeastTuning.record()).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infragap.errors import ConfigError, EquivalenceError
from infragap.proven.feast_repo.repository import ONLINE_STORES
from infragap.proven.feast_repo.tuning import ODFV_MODES, FeastTuning
from infragap.reports.records import Equivalence
from infragap.suites.base import SUITES, BenchContext
from infragap.suites.endpoint import Endpoint
from infragap.suites.features import measure
from infragap.suites.features.sides import FEAST, NAIVE
from infragap.suites.levels import (
    LevelProbe,
    UnitRate,
    drive_levels,
    level_rows,
    load_config,
    load_plan,
    ms_cell,
)

if TYPE_CHECKING:
    import pandas as pd

    from infragap.proven.feast_repo.repository import FeatureRepo
    from infragap.workloads.ecommerce import EcommerceData, RawFiles

REQUEST_STREAM_LENGTH = 2048


@dataclass
class FeaturesRun:
    """State handed from step to step."""

    ctx: BenchContext
    section: dict[str, Any]
    config: dict[str, Any]
    data: EcommerceData | None = None
    raw: RawFiles | None = None
    naive_table: pd.DataFrame | None = None
    naive_per_user: pd.DataFrame | None = None
    encoder: Any = None
    repo: FeatureRepo | None = None
    store: Any = None
    feast_table: pd.DataFrame | None = None
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    sample: list[int] = field(default_factory=list)
    served: dict[str, pd.DataFrame] = field(default_factory=dict)
    stream: list[list[int]] = field(default_factory=list)

    @property
    def as_of(self) -> pd.Timestamp:
        assert self.data is not None
        return self.data.end

    @property
    def request_ts(self) -> int:
        return int(self.as_of.timestamp())

    @property
    def feast_tuning(self) -> FeastTuning:
        return FeastTuning(**self.config["feast_config"])

    def say(self, text: str) -> None:
        self.ctx.console.print(f"[bold]features[/] {text}")

    def save(self) -> None:
        self.ctx.results.save()


def generate_data(run: FeaturesRun) -> None:
    from infragap.workloads.ecommerce import data_size, generate, write_raw

    size = data_size(run.config["data_size"])
    started = time.perf_counter()
    with run.ctx.console.status(f"generating the {size.name} e-commerce data set"):
        run.data = generate(size, run.config["seed"])
        run.raw = write_raw(run.data, run.ctx.work_dir / "raw")
    summary = run.data.summary()
    summary.update(size=size.name, generate_s=time.perf_counter() - started)
    summary["as_of"] = run.as_of.isoformat()
    run.section["data"] = summary
    run.save()
    run.say(
        f"data {size.name}: {summary['users']:,} users, {summary['events']:,} events, "
        f"{summary['labels']:,} labels ({summary['positive_rate']:.0%} positive)"
    )


def naive_training(run: FeaturesRun) -> None:
    from infragap.naive.features_training import build_training_table, load_raw

    assert run.raw is not None
    started = time.perf_counter()
    users, events, labels = load_raw(run.raw.folder)
    run.naive_table, run.naive_per_user, run.encoder = build_training_table(
        users, events, labels, as_of=run.as_of
    )
    seconds = time.perf_counter() - started
    run.section["setup"] = {"naive": {"training_table_s": seconds}, "feast": {}}
    run.save()
    run.say(f"naive training table: {len(run.naive_table):,} rows in {seconds:.1f} s")


def build_feast_repo(run: FeaturesRun) -> None:
    from infragap.proven.feast_repo.repository import write_repository
    from infragap.proven.feast_repo.server import start_redis
    from infragap.proven.feast_repo.store import apply_repository, require_feast

    assert run.data is not None
    require_feast()
    setup = run.section["setup"]["feast"]
    setup["online_store"] = run.config["online_store"]
    redis_address = None
    if run.config["online_store"] == "redis":
        redis = start_redis(run.ctx.supervisor, str(run.ctx.work_dir), run.config["ports"]["redis"])
        redis_address = redis.address
    started = time.perf_counter()
    with run.ctx.console.status("running the feature pipeline"):
        run.repo = write_repository(
            run.ctx.work_dir / "feature_repo",
            run.data,
            run.config["online_store"],
            redis_address,
            run.feast_tuning.odfv_mode,
        )
    setup["pipeline_s"] = time.perf_counter() - started
    with run.ctx.console.status("feast apply"):
        setup["apply_s"] = apply_repository(run.ctx.supervisor, run.repo)
    run.save()
    run.say(
        f"feast: feature tables in {setup['pipeline_s']:.1f} s, "
        f"`feast apply` in {setup['apply_s']:.1f} s"
    )


def materialize_online(run: FeaturesRun) -> None:
    from infragap.proven.feast_repo.store import materialize, open_store

    assert run.repo is not None
    run.store = open_store(run.repo)
    with run.ctx.console.status(f"materialising up to {run.as_of.isoformat()}"):
        seconds = materialize(run.store, run.repo, run.as_of)
    run.section["setup"]["feast"]["materialize_s"] = seconds
    run.save()
    run.say(f"feast: materialised the online store in {seconds:.1f} s")


def feast_training(run: FeaturesRun) -> None:
    from infragap.proven.feast_repo.store import entity_frame, historical_features

    assert run.data is not None
    labels = run.data.labels
    started = time.perf_counter()
    with run.ctx.console.status(f"get_historical_features for {len(labels):,} label rows"):
        found = historical_features(
            run.store,
            entity_frame(labels["user_id"].tolist(), labels["label_timestamp"]),
            with_as_of=True,
        )
    seconds = time.perf_counter() - started
    found["label"] = labels["label"].to_numpy()
    found["label_timestamp"] = labels["label_timestamp"].to_numpy()
    run.feast_table = found
    run.section["setup"]["feast"]["historical_s"] = seconds
    oracle = run.section["oracle"] = _oracle_check(run)
    if not oracle["passed"]:
        run.section["warnings"].append(
            f"feast: {oracle['values_differ']} historical values differ from the "
            "pd.merge_asof point-in-time oracle"
        )
    run.save()
    run.say(
        f"feast: point-in-time training table in {seconds:.1f} s; "
        f"{oracle['values_differ']} values differ from the merge_asof oracle"
    )


def _oracle_check(run: FeaturesRun) -> dict[str, Any]:
    import pandas as pd

    from infragap.proven.feast_repo import names
    from infragap.suites.features.oracle import asof_join
    from infragap.suites.features.skew import feature_skew

    assert run.repo is not None and run.feast_table is not None and run.data is not None
    columns = ["events_7d", "events_30d", "purchases_30d", "as_of_ts"]
    activity = pd.read_parquet(run.repo.data / names.ACTIVITY_FILE)
    entities = pd.DataFrame(
        {
            "user_id": run.data.labels["user_id"],
            "event_timestamp": run.data.labels["label_timestamp"],
        }
    )
    expected = asof_join(entities, activity, columns, ttl=pd.Timedelta(days=2))
    record = feature_skew(expected, run.feast_table, columns)
    record["passed"] = record["values_differ"] == 0
    return record


def start_sides(run: FeaturesRun) -> None:
    from infragap.suites.features.sides import start_feast, start_naive

    assert run.raw is not None and run.repo is not None
    ports = run.config["ports"]
    with run.ctx.console.status("starting the naive feature endpoint"):
        run.endpoints[NAIVE] = start_naive(
            run.ctx.supervisor, run.raw.folder, run.as_of, ports["naive"]
        )
    with run.ctx.console.status("starting feast serve"):
        run.endpoints[FEAST] = start_feast(
            run.ctx.supervisor, run.repo, ports["feast"], run.feast_tuning
        )
    for name, endpoint in run.endpoints.items():
        run.say(f"{name} ready at {endpoint.url}")


def choose_sample(run: FeaturesRun) -> None:
    """Entities both training tables hold (users with labels), seeded."""
    import numpy as np

    assert run.naive_per_user is not None
    users = run.naive_per_user["user_id"].to_numpy()
    rng = np.random.default_rng(run.config["seed"] + 1)
    count = min(run.config["sample_users"], len(users))
    run.sample = sorted(int(u) for u in rng.choice(users, size=count, replace=False))
    stream_rng = np.random.default_rng(run.config["seed"] + 2)
    every = run.data.users["user_id"].to_numpy() if run.data is not None else users
    per = run.config["entities_per_request"]
    run.stream = [
        [int(u) for u in stream_rng.choice(every, size=per, replace=False)]
        for _ in range(REQUEST_STREAM_LENGTH)
    ]


def check_answers(run: FeaturesRun) -> None:
    """Each endpoint must serve exactly what its side computes in-process."""
    import pandas as pd

    from infragap.naive.features_serving import read_raw, serving_features
    from infragap.proven.feast_repo import names
    from infragap.proven.feast_repo.store import online_features
    from infragap.suites.features.sides import ask
    from infragap.suites.features.skew import feature_skew

    assert run.raw is not None
    features = list(names.MODEL_FEATURES)
    for name, endpoint in run.endpoints.items():
        run.served[name] = ask(endpoint, run.sample, run.request_ts)
    users, events = read_raw(run.raw.folder)
    expected = {
        NAIVE: pd.DataFrame(serving_features(users, events, run.sample, run.as_of)),
        FEAST: pd.DataFrame(online_features(run.store, run.sample, run.request_ts)),
    }
    checks = {
        name: feature_skew(expected[name], run.served[name], features) for name in run.endpoints
    }
    record: Equivalence = {
        "passed": False,
        "entities": len(run.sample),
        "reference": "the same side's computation run in the harness process",
        "variants": {
            name: {
                "passed": check["values_differ"] == 0,
                "values_differ": check["values_differ"],
                "examples": [ex for f in check["features"].values() for ex in f["examples"]][:5],
            }
            for name, check in checks.items()
        },
    }
    record["passed"] = all(v["passed"] for v in record["variants"].values())
    run.section["answers"] = record
    run.save()
    if not record["passed"]:
        failed = [n for n, v in record["variants"].items() if not v["passed"]]
        raise EquivalenceError(
            f"{', '.join(failed)} served values that differ from its own computation "
            "in-process; no figure is reported for an endpoint that computes something else"
        )
    run.say(f"answers: both endpoints serve what their side computes ({len(run.sample)} users)")


def measure_skew(run: FeaturesRun) -> None:
    import pandas as pd

    from infragap.proven.feast_repo import names
    from infragap.proven.feast_repo.store import entity_frame, historical_features
    from infragap.suites.features import model
    from infragap.suites.features.skew import feature_skew, prediction_shift

    assert run.naive_per_user is not None and run.naive_table is not None
    assert run.feast_table is not None
    features = list(names.MODEL_FEATURES)
    sample = pd.DataFrame({"user_id": run.sample})
    training = {
        NAIVE: sample.merge(run.naive_per_user, on="user_id", how="left"),
        FEAST: historical_features(
            run.store, entity_frame(run.sample, [run.as_of] * len(run.sample))
        ),
    }
    tables = {NAIVE: run.naive_table, FEAST: run.feast_table}
    train_rows, _ = model.split_rows(len(run.naive_table), run.config["seed"])
    skew: dict[str, Any] = {"as_of": run.as_of.isoformat()}
    for name in (NAIVE, FEAST):
        fitted = model.fit(tables[name].iloc[train_rows], features, run.config["seed"])
        record = feature_skew(training[name], run.served[name], features)
        record["prediction"] = prediction_shift(
            model.scores(fitted, training[name], features),
            model.scores(fitted, run.served[name], features),
        )
        skew[name] = record
    run.section["skew"] = skew
    run.save()
    for name in (NAIVE, FEAST):
        rec = skew[name]
        run.say(
            f"skew {name}: {rec['values_share']:.1%} of values differ, "
            f"{rec['prediction']['label_flips']} label flips in {rec['entities']} users"
        )


def measure_leakage(run: FeaturesRun) -> None:
    import numpy as np

    from infragap.naive.features_training import load_raw
    from infragap.proven.feast_repo import names
    from infragap.suites.features import model
    from infragap.suites.features.leakage import (
        future_events,
        leakage_record,
        naive_point_in_time,
    )
    from infragap.workloads.ecommerce import epoch_seconds

    assert run.data is not None and run.naive_table is not None and run.feast_table is not None
    assert run.raw is not None
    features = list(names.MODEL_FEATURES)
    users, events, labels = load_raw(run.raw.folder)
    user_ids = labels["user_id"].to_numpy(dtype=np.int64)
    label_s = epoch_seconds(labels["label_timestamp"])
    ends = {
        NAIVE: np.full(len(labels), run.request_ts, dtype=np.int64),
        FEAST: run.feast_table["as_of_ts"].to_numpy(dtype=np.int64),
    }
    record: dict[str, Any] = {}
    for name, end in ends.items():
        record[name] = leakage_record(future_events(events, user_ids, label_s, end))
    record[FEAST]["snapshots_after_label"] = int((ends[FEAST] > label_s).sum())

    honest = naive_point_in_time(users, events, labels, run.encoder)
    train_rows, test_rows = model.split_rows(len(labels), run.config["seed"])
    y_test = labels["label"].to_numpy()[test_rows]
    naive_model = model.fit(run.naive_table.iloc[train_rows], features, run.config["seed"])
    feast_model = model.fit(run.feast_table.iloc[train_rows], features, run.config["seed"])
    metrics: dict[str, Any] = {
        "metric": "ROC AUC on a seeded 20% of the label rows",
        "test_rows": len(test_rows),
        "naive_offline_auc": model.auc(
            y_test, model.scores(naive_model, run.naive_table.iloc[test_rows], features)
        ),
        "naive_point_in_time_auc": model.auc(
            y_test, model.scores(naive_model, honest.iloc[test_rows], features)
        ),
        "feast_offline_auc": model.auc(
            y_test, model.scores(feast_model, run.feast_table.iloc[test_rows], features)
        ),
    }
    offline, honest_auc = metrics["naive_offline_auc"], metrics["naive_point_in_time_auc"]
    metrics["naive_inflation"] = (
        offline - honest_auc if offline is not None and honest_auc is not None else None
    )
    record["metrics"] = metrics
    run.section["leakage"] = record
    run.save()
    run.say(
        f"leakage: naive {record[NAIVE]['share']:.1%} of rows, feast {record[FEAST]['share']:.1%}; "
        f"naive offline AUC {_num(offline)} vs {_num(honest_auc)} point-in-time, "
        f"feast {_num(metrics['feast_offline_auc'])}"
    )


def check_consistency(run: FeaturesRun) -> None:
    import pandas as pd

    from infragap.proven.feast_repo import names
    from infragap.proven.feast_repo.store import (
        entity_frame,
        historical_features,
        online_features,
    )
    from infragap.suites.features.skew import feature_skew

    assert run.data is not None
    features = list(names.MODEL_FEATURES)
    users = run.data.users["user_id"]
    users = users[run.data.users["signup_time"] < run.as_of]
    sample = sorted(
        users.sample(
            min(len(users), run.config["consistency_users"]), random_state=run.config["seed"]
        ).tolist()
    )
    offline = historical_features(run.store, entity_frame(sample, [run.as_of] * len(sample)))
    online = pd.DataFrame(online_features(run.store, sample, run.request_ts))
    record = feature_skew(offline, online, features)
    record["passed"] = record["values_differ"] == 0
    record["materialized_as_of"] = run.as_of.isoformat()
    run.section["consistency"] = record
    if not record["passed"]:
        run.section["warnings"].append(
            f"feast: {record['values_differ']} online values differ from historical ones "
            f"at {run.as_of.isoformat()}"
        )
    run.save()
    run.say(
        f"consistency: online and historical agree on {record['entities']} users"
        if record["passed"]
        else f"consistency: {record['values_differ']} values differ"
    )


def drive_load(run: FeaturesRun) -> None:
    from infragap.loadtests.targets.features import write_feature_requests

    cfg = run.config
    plan = load_plan(cfg, run.ctx.work_dir / "feature-requests.json", cfg["seed"])
    write_feature_requests(run.stream, run.request_ts, plan.requests_file)

    def probes(_endpoint: Endpoint) -> list[LevelProbe]:
        return [UnitRate("entities_per_s", cfg["entities_per_request"])]

    drive_levels(run.ctx, run.section, list(run.endpoints.values()), plan, run.say, probes)


def measure_lookups(run: FeaturesRun) -> None:
    """In-process: the naive function (with the file reads it does per request) vs the SDK."""
    from infragap.naive.features_serving import read_raw, serving_features
    from infragap.proven.feast_repo.store import online_features

    assert run.raw is not None
    raw_folder = run.raw.folder
    seconds = 1.0 if run.config["quick"] else 5.0

    def naive_call(ids: Any) -> object:
        users, events = read_raw(raw_folder)
        return serving_features(users, events, list(ids), run.as_of)

    checks = run.feast_tuning.typechecks

    def feast_call(ids: Any) -> object:
        return online_features(run.store, list(ids), run.request_ts, checks)

    lookups = {}
    for name, call in (("naive-function", naive_call), ("feast-sdk", feast_call)):
        with run.ctx.console.status(f"timing {name} in-process"):
            lookups[name] = measure.time_calls(call, run.stream, seconds)
        p50 = lookups[name]["latency_ms"]["p50"]
        run.say(f"{name}: p50 {p50:.2f} ms in-process ({lookups[name]['calls']} calls)")
    run.section["lookups"] = {"entities_per_request": run.config["entities_per_request"], **lookups}
    run.save()


def stop_sides(run: FeaturesRun) -> None:
    run.ctx.supervisor.stop_all()


STEPS: list[tuple[str, Callable[[FeaturesRun], None]]] = [
    ("generate the data set", generate_data),
    ("build the naive training table", naive_training),
    ("write and apply the Feast repository", build_feast_repo),
    ("materialise the online store", materialize_online),
    ("retrieve Feast's point-in-time training table", feast_training),
    ("start the endpoints", start_sides),
    ("choose the entities", choose_sample),
    ("check the endpoints' answers", check_answers),
    ("measure training/serving skew", measure_skew),
    ("measure point-in-time leakage", measure_leakage),
    ("check online/offline consistency", check_consistency),
    ("drive load", drive_load),
    ("measure in-process lookups", measure_lookups),
    ("stop the endpoints", stop_sides),
]


def run_steps(run: FeaturesRun, until: str | None = None) -> None:
    """Run the steps in order; stop before the step titled `until` (for tests)."""
    for title, step in STEPS:
        if title == until:
            return
        step(run)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


class FeaturesSuite:
    name = "features"
    description = "handwritten pandas features vs a Feast feature store: load, skew, leakage"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from infragap.workloads.ecommerce import DATA_SIZES

        group = parser.add_argument_group("features suite")
        group.add_argument(
            "--features-data-size",
            choices=sorted(DATA_SIZES),
            help="e-commerce data set size (default: 'default', about 1M events; "
            "'small' with --quick)",
        )
        group.add_argument(
            "--online-store",
            choices=ONLINE_STORES,
            default="sqlite",
            help="Feast online store (redis starts Debian's redis-server on loopback)",
        )
        group.add_argument(
            "--entities-per-request", type=int, default=1, help="users per feature request"
        )
        group.add_argument(
            "--feast-workers", type=int, default=1, help="`feast serve` worker processes"
        )
        group.add_argument(
            "--feast-odfv-mode",
            choices=ODFV_MODES,
            default="python",
            help="how the on-demand view user_age runs (pandas: as before the tuning)",
        )
        group.add_argument(
            "--feast-typechecks",
            choices=("off", "on"),
            default="off",
            help="typeguard's checks in Feast's online path (on: Feast as installed; off: "
            "`feast serve` under PYTHONOPTIMIZE=1, SDK lookups under suppress_type_checks)",
        )
        group.add_argument("--feast-port", type=int, help="port for `feast serve`")
        group.add_argument("--naive-features-port", type=int, help="port for the naive app")
        group.add_argument("--redis-port", type=int, help="port for redis-server")

    def config(self, args: argparse.Namespace) -> dict[str, Any]:
        from infragap.workloads.ecommerce import data_size

        quick = bool(args.quick)
        size = args.features_data_size or ("small" if quick else "default")
        data_size(size)
        if args.entities_per_request < 1:
            raise ConfigError("--entities-per-request must be at least 1")
        tuning = FeastTuning(
            odfv_mode=args.feast_odfv_mode,
            typechecks=args.feast_typechecks == "on",
            workers=args.feast_workers,
        )
        return {
            "quick": quick,
            "seed": args.seed,
            "data_size": size,
            "online_store": args.online_store,
            "entities_per_request": args.entities_per_request,
            "feast_workers": args.feast_workers,
            "feast_config": tuning.record(),
            **load_config(args, quick, [1, 4] if quick else [1, 8, 32]),
            "sample_users": 300 if quick else 1000,
            "consistency_users": 500 if quick else 2000,
            "ports": {
                "naive": args.naive_features_port,
                "feast": args.feast_port,
                "redis": args.redis_port,
            },
        }

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        section.setdefault("warnings", [])
        run = FeaturesRun(ctx, section, dict(section["config"]))
        run_steps(run)

    def summary_rows(self, section: dict[str, Any]) -> list[list[str]]:
        rows = level_rows(section)
        for name, lookup in (section.get("lookups") or {}).items():
            if isinstance(lookup, dict):
                lat = lookup["latency_ms"]
                rows.append(
                    [
                        f"{name} (in-process)",
                        "1",
                        f"{lookup['calls_per_s']:.1f}",
                        ms_cell(lat["p50"]),
                        ms_cell(lat["p99"]),
                        "0",
                    ]
                )
        return rows


SUITES.register("features")(FeaturesSuite())
