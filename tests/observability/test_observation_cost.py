"""measure_observation_costs at a tiny size: every way measured, the log file written, the
`predict` logger given back as it was, a JSON-able result; and the pure table."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from infragap.errors import ConfigError
from infragap.naive.timing_log_answers import parse_timing_log
from infragap.suites.observability.observation_cost import (
    FLOOR,
    LOG_FILE,
    ROWS,
    WARMUP,
    WAYS,
    cost_table,
    measure_observation_costs,
    seeded_durations,
)

OBSERVATIONS = 200
REPEATS = 2


@pytest.fixture
def metrics_libraries() -> None:
    for module in ("torch", "flask", "prometheus_client", "opentelemetry.exporter.prometheus"):
        pytest.importorskip(module)


class Kept(logging.Handler):
    """A handler someone else put on the `predict` logger; keeps the messages it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def predict_logger() -> Iterator[tuple[logging.Logger, Kept]]:
    """The `predict` logger in a state of its own (not the one configure_timing_log sets),
    with a Kept handler; left as it was found after the test."""
    logger = logging.getLogger("predict")
    found = (list(logger.handlers), logger.level, logger.propagate)
    kept = Kept()
    for handler in found[0]:
        logger.removeHandler(handler)
    logger.addHandler(kept)
    logger.setLevel(logging.WARNING)
    logger.propagate = True
    yield logger, kept
    logger.removeHandler(kept)
    for handler in found[0]:
        logger.addHandler(handler)
    logger.setLevel(found[1])
    logger.propagate = found[2]


def test_every_way_measured_and_json_able(metrics_libraries, tmp_path):
    result = measure_observation_costs(tmp_path, OBSERVATIONS, REPEATS)
    assert list(result) == list(WAYS)
    for way, row in result.items():
        assert row["ns_per_observation"] > 0 and row["min_ns"] > 0, way
        assert row["repeats"] == REPEATS and row["observations"] == OBSERVATIONS
        assert row["description"] and row["floor_subtracted"] == (way != FLOOR)
    assert json.loads(json.dumps(result)) == result


def test_log_lines_written_and_predict_logger_given_back(
    metrics_libraries, tmp_path, predict_logger
):
    logger, kept = predict_logger
    (tmp_path / LOG_FILE).write_text("a line from an earlier run\n")

    measure_observation_costs(tmp_path, OBSERVATIONS, REPEATS)

    log = parse_timing_log((tmp_path / LOG_FILE).read_text())
    assert len(log.records) == WARMUP + OBSERVATIONS * REPEATS  # started afresh
    assert log.malformed == 0 and log.other_records == 0
    assert {record.rows for record in log.records} == {ROWS}
    assert logger.handlers == [kept] and kept.messages == []  # not lent to the measurement
    assert logger.level == logging.WARNING and logger.propagate
    logger.warning("after the measurement")
    assert kept.messages == ["after the measurement"]
    assert len(parse_timing_log((tmp_path / LOG_FILE).read_text()).records) == len(log.records)


def test_logging_disabled_is_refused_and_the_logger_given_back(
    metrics_libraries, tmp_path, predict_logger
):
    logger, kept = predict_logger
    logging.disable(logging.INFO)
    try:
        with pytest.raises(ConfigError, match="is disabled at INFO"):
            measure_observation_costs(tmp_path, OBSERVATIONS, REPEATS)
    finally:
        logging.disable(logging.NOTSET)
    assert logger.handlers == [kept] and logger.level == logging.WARNING


def test_sizes_below_one_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least 1"):
        measure_observation_costs(tmp_path, observations=0)
    with pytest.raises(ConfigError, match="at least 1"):
        measure_observation_costs(tmp_path, repeats=0)


def test_durations_are_seeded_and_positive():
    assert seeded_durations(50, seed=3) == seeded_durations(50, seed=3)
    assert seeded_durations(50, seed=3) != seeded_durations(50, seed=4)
    assert all(ms > 0 for ms in seeded_durations(50))


def test_cost_table_subtracts_the_floor_from_the_others():
    table = cost_table(
        {"log-line": [110.0, 130.0, 120.0], "nothing": [10.0, 12.0, 8.0], "odd": [5.0]}, 1000
    )
    assert table["log-line"]["ns_per_observation"] == 120.0 - 10.0
    assert table["log-line"]["min_ns"] == 110.0 - 8.0
    assert table["nothing"]["ns_per_observation"] == 10.0  # the floor, as measured
    assert table["nothing"]["min_ns"] == 8.0 and not table["nothing"]["floor_subtracted"]
    assert table["odd"]["ns_per_observation"] == 0.0  # below the floor: noise, not negative
    assert table["log-line"]["repeats"] == 3 and table["odd"]["observations"] == 1000
