import pytest

from infragap.reports import format as fmt
from infragap.reports.bootstrap import RatioEstimate


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.4123, "0.412 ms"), (38.44, "38.4 ms"), (412.0, "412 ms"), (2133.0, "2.13 s"), (None, "–")],
)
def test_ms(value, text):
    assert fmt.ms(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(41.23, "41×"), (1.94, "1.9×"), (0.618, "0.62×"), (412.4, "412×"), (float("inf"), "∞×")],
)
def test_factor(value, text):
    assert fmt.factor(value) == text


def test_interval_and_change():
    estimate = RatioEstimate(1.12, 1.05, 1.19)
    assert fmt.interval(estimate) == "95% CI 1.1–1.2×"
    assert fmt.change(1.12) == "+12%"
    assert fmt.change(0.966) == "-3.4%"
    assert fmt.change(1.0) == "0%"
    assert fmt.change_interval(estimate) == "+5.0% to +19%"
    assert fmt.interval(RatioEstimate(None, None, None)).startswith("no interval")


def test_numbers_units_and_times():
    assert fmt.number(6.4) == "6.4"
    assert fmt.number(21864) == "21,864"
    assert fmt.seconds(1.5e-5) == "15.0 µs"
    assert fmt.us(24200) == "24.2 ms"
    assert fmt.mebibytes(612 * 2**20) == "612 MiB"
    assert fmt.users(1) == "1 user" and fmt.users(8) == "8 users"
    assert fmt.timestamp("2025-03-01T10:15:00+00:00") == "2025-03-01 10:15:00 UTC"
    assert fmt.timestamp("yesterday") == "yesterday"


def test_flatten_and_compact_json():
    config = {"triton": {"max_batch_size": 128, "sizes": [16, 32]}, "quick": True, "url": None}
    assert fmt.flatten(config) == [
        ("triton.max_batch_size", "128"),
        ("triton.sizes", "[16, 32]"),
        ("quick", "true"),
        ("url", "null"),
    ]
    assert fmt.compact_json({"a": [1, 2]}) == '{"a": [1, 2]}'
    long = fmt.compact_json({"a": "x" * 60, "b": "y" * 60})
    assert long.splitlines()[1] == f'  "a": "{"x" * 60}",'
