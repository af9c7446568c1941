"""Numbers as people read them: pure functions from values to short strings."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

from infragap.reports.bootstrap import RatioEstimate

MISSING = "–"


def significant(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant figures, without exponent notation for usual sizes."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else ("∞" if value > 0 else "-∞")
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{round(value, decimals):,.{decimals}f}"


def ms(value: float | None) -> str:
    """Milliseconds, switching to seconds from one second up: 0.412 ms, 38.4 ms, 2.13 s."""
    if value is None:
        return MISSING
    if abs(value) >= 1000:
        return f"{significant(value / 1000)} s"
    return f"{significant(value)} ms"


def us(value: float | None) -> str:
    if value is None:
        return MISSING
    if abs(value) >= 1000:
        return ms(value / 1000)
    return f"{significant(value)} µs"


def seconds(value: float | None) -> str:
    """A duration given in seconds, in the unit that suits it (ns ... s)."""
    if value is None:
        return MISSING
    for factor, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(value) >= factor:
            return f"{significant(value / factor)} {unit}"
    return f"{significant(value / 1e-9)} ns"


def rate(value: float | None, unit: str = "req/s") -> str:
    if value is None:
        return MISSING
    return f"{significant(value)} {unit}".rstrip()


def number(value: float | None, digits: int = 3) -> str:
    """Counts as integers with separators, other values to `digits` figures: 6.4, 1,234."""
    if value is None:
        return MISSING
    if float(value).is_integer():
        return f"{int(value):,}"
    text = significant(float(value), digits)
    return text.rstrip("0").rstrip(".") if "." in text else text


def timestamp(value: str | None) -> str:
    """An ISO timestamp as '2025-03-01 10:15 UTC' (left as given when it does not parse)."""
    if not value:
        return MISSING
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return moment.isoformat(sep=" ")


def mebibytes(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"{significant(value / 2**20)} MiB"


def percent(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"{significant(value, 2) if abs(value) < 10 else round(value)}%"


def factor(value: float | None) -> str:
    """A ratio as a factor: 41×, 1.9×, 0.62×."""
    if value is None:
        return MISSING
    if not math.isfinite(value):
        return "∞×"
    if abs(value) >= 100:
        return f"{round(value):,}×"
    return f"{significant(value, 2)}×"


def interval(estimate: RatioEstimate) -> str:
    """'95% CI 38–44×' for a known estimate."""
    if not estimate.known:
        return "no interval: too few samples"
    level = round(estimate.confidence * 100)
    return f"{level}% CI {factor(estimate.low)[:-1]}–{factor(estimate.high)}"


def change(value: float | None) -> str:
    """A ratio after/before as a signed percentage: +12%, -3.4%."""
    if value is None:
        return MISSING
    if not math.isfinite(value):
        return "+∞%"
    delta = (value - 1.0) * 100
    text = significant(delta, 2) if abs(delta) < 10 else f"{round(delta):,}"
    return f"+{text}%" if delta > 0 else f"{text}%" if delta < 0 else "0%"


def change_interval(estimate: RatioEstimate) -> str:
    if not estimate.known:
        return MISSING
    return f"{change(estimate.low)} to {change(estimate.high)}"


def users(count: int) -> str:
    return f"{count} user" if count == 1 else f"{count} users"


def compact_json(value: Any, width: int = 88, indent: int = 0) -> str:
    """JSON with a container on one line when it fits in `width`, else one item a line."""
    flat = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if not isinstance(value, (dict, list)) or not value or indent + len(flat) <= width:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: "
            f"{compact_json(v, width, indent + 2).lstrip()}"
            for k, v in sorted(value.items())
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + compact_json(v, width, indent + 2).lstrip() for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def plain(value: Any) -> str:
    """Any JSON value as one line of text (for configuration tables)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts as dotted keys: {"a": {"b": 1}} -> [("a.b", "1")]; lists stay whole."""
    if isinstance(value, dict) and value:
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows.extend(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    return [(prefix, plain(value))]
