"""The instrumented endpoint in-process: bucket layouts, both recorders read back from
their exposition text, status counting, the exact-durations file and the log variant."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest.importorskip("flask")
prometheus_client = pytest.importorskip("prometheus_client")
pytest.importorskip("opentelemetry.exporter.prometheus")

from flask import Response, abort  # noqa: E402 (after the skips)
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from infragap.errors import ConfigError  # noqa: E402
from infragap.naive.timing_log_answers import parse_timing_log  # noqa: E402
from infragap.proven.observability import instrumented_app as app_module  # noqa: E402
from infragap.proven.observability.instrumented_app import (  # noqa: E402
    TIMING_LOGGER,
    ExactDurations,
    create_app,
    create_log_app,
    new_recorder,
    parse_layout,
    read_exact_durations,
    timed,
)
from infragap.proven.observability.names import PROMETHEUS_HISTOGRAM  # noqa: E402
from infragap.workloads.model_sizes import model_size  # noqa: E402
from infragap.workloads.ranking_requests import generate_requests, to_flask_json  # noqa: E402

KINDS = ("otel", "prometheus-client")
LAYOUT = (1.0, 5.0, 10.0)


def test_parse_layout():
    assert parse_layout("default") == "default"
    assert parse_layout("0.5,1,2.5") == (0.5, 1.0, 2.5)
    for bad, message in [
        ("fast", "neither `default`"),
        ("5,1", "strictly increasing"),
        ("1,1", "strictly increasing"),
        ("-1,2", "non-negative"),
        ("1,inf", "finite"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_layout(bad)


def histogram_samples(exposition: bytes, kind: str) -> dict[tuple[str, ...], float]:
    """{(sample name, status, le): value} of the histogram, read back from the text."""
    name = PROMETHEUS_HISTOGRAM[kind]
    (family,) = [f for f in text_string_to_metric_families(exposition.decode()) if f.name == name]
    assert family.type == "histogram"
    return {
        (s.name.removeprefix(name), s.labels["status"], s.labels.get("le", "")): s.value
        for s in family.samples
        if s.labels["variant"] == "hoisted"
    }


@pytest.mark.parametrize("kind", KINDS)
def test_recorded_values_read_back_from_the_exposition(kind):
    recorder = new_recorder(kind, LAYOUT)
    for ms in (0.5, 3.0, 7.0, 20.0):
        recorder.record(ms, 200)
    recorder.record(0.2, 400)
    body, content_type = recorder.exposition("")
    assert content_type.startswith("text/plain")
    samples = histogram_samples(body, kind)
    assert [samples["_bucket", "200", le] for le in ("1.0", "5.0", "10.0", "+Inf")] == [
        1,
        2,
        3,
        4,
    ]
    assert samples["_count", "200", ""] == 4 and samples["_sum", "200", ""] == 30.5
    assert samples["_count", "400", ""] == 1 and samples["_bucket", "400", "1.0"] == 1


@pytest.mark.parametrize(
    ("kind", "first", "last"),
    [("otel", "0.0", "10000.0"), ("prometheus-client", "0.005", "10.0")],
)
def test_default_layouts_are_the_libraries_own(kind, first, last):
    recorder = new_recorder(kind)
    recorder.record(42.0, 200)
    bounds = [key[2] for key in histogram_samples(recorder.exposition("")[0], kind) if key[2]]
    assert (bounds[0], bounds[-2], bounds[-1]) == (first, last, "+Inf")


@pytest.mark.parametrize("kind", KINDS)
def test_openmetrics_when_the_scraper_asks_for_it(kind):
    recorder = new_recorder(kind, LAYOUT)
    recorder.record(2.0, 200)
    body, content_type = recorder.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_own_registry_not_the_global_one():
    new_recorder("prometheus-client", LAYOUT).record(1.0, 200)
    names = {family.name for family in prometheus_client.REGISTRY.collect()}
    assert not names & set(PROMETHEUS_HISTOGRAM.values())


def test_unknown_metrics_kind():
    with pytest.raises(ConfigError, match="otel or prometheus-client"):
        new_recorder("log")


class ListRecorder:
    def __init__(self) -> None:
        self.seen: list[tuple[float, int]] = []

    def record(self, ms: float, status: int) -> None:
        self.seen.append((ms, status))

    def exposition(self, accept: str) -> tuple[bytes, str]:
        return b"", "text/plain"


def test_timed_records_the_final_status_even_when_the_view_raises():
    recorder = ListRecorder()

    def ok() -> Response:
        return Response("x", status=201)

    def crash() -> Response:
        raise RuntimeError("boom")

    def too_large() -> Response:
        abort(413)

    assert timed(ok, recorder)().status_code == 201
    with pytest.raises(RuntimeError):
        timed(crash, recorder)()
    with pytest.raises(Exception, match="413"):
        timed(too_large, recorder)()
    assert [status for _, status in recorder.seen] == [201, 500, 413]
    assert all(ms >= 0 for ms, _ in recorder.seen)


@pytest.mark.parametrize("kind", KINDS)
def test_app_counts_requests_by_status(kind, tiny_model_file, tmp_path):
    exact = tmp_path / "exact.txt"
    recorder = ExactDurations(new_recorder(kind, LAYOUT), exact)
    client = create_app(str(tiny_model_file), recorder).test_client()
    for request in generate_requests(model_size("tiny"), 3, 3, rows=2):
        response = client.post("/predict", json=to_flask_json(request))
        assert response.status_code == 200 and len(response.json["scores"]) == 2
    assert client.post("/predict", data=b"{x", content_type="application/json").status_code == 400
    assert client.post("/predict", json={"user_id": [1]}).status_code == 400
    assert client.get("/health").status_code == 200  # not timed
    samples = histogram_samples(client.get("/metrics").data, kind)
    assert samples["_count", "200", ""] == 3 and samples["_count", "400", ""] == 2
    pairs = read_exact_durations(exact.read_text())
    assert [status for status, _ in pairs] == [200, 200, 200, 400, 400]
    assert sum(ms for status, ms in pairs if status == 200) == pytest.approx(
        samples["_sum", "200", ""]
    )


def test_exact_durations_skip_a_torn_line():
    assert read_exact_durations("200 1.5\n400 0.25\n200 3.") == [(200, 1.5), (400, 0.25)]
    assert read_exact_durations("200 1.5\n20") == [(200, 1.5)]


@pytest.fixture
def timing_logger() -> Iterator[logging.Logger]:
    """The `predict` logger, put back as it was (configure_timing_log changes it)."""
    logger = logging.getLogger(TIMING_LOGGER)
    state = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    for handler in logger.handlers[:]:
        if handler not in state[0]:
            logger.removeHandler(handler)
            handler.close()
    logger.level, logger.propagate = state[1], state[2]


def test_log_variant_is_the_naive_line_and_parses(tiny_model_file, tmp_path, timing_logger):
    log_file = tmp_path / "predict.log"
    client = create_log_app(str(tiny_model_file), log_file).test_client()
    for request in generate_requests(model_size("tiny"), 4, 2, rows=3):
        assert client.post("/predict", json=to_flask_json(request)).status_code == 200
    assert client.post("/predict", json={"user_id": [1]}).status_code == 400  # no line
    assert client.get("/metrics").status_code == 404
    log = parse_timing_log(log_file.read_text())
    assert len(log.records) == 2 and log.malformed == log.other_records == 0
    assert {record.rows for record in log.records} == {3}


def test_main_refuses_bad_options_before_loading_anything(capsys):
    with pytest.raises(SystemExit):
        app_module.main(["--model", "missing.pt", "--metrics", "log"])
    assert "--log-file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        app_module.main(["--model", "missing.pt", "--buckets", "5,1"])
    assert "strictly increasing" in capsys.readouterr().err
