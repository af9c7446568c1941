"""Seeded traffic traces for the capacity model: offered load in req/s at a fixed step.

A trace is plain data (`Trace`): one rate per step, each held for the whole step. Two
shapes are built here, both pure (the only randomness is a `random.Random(seed)`):

- `daily_with_spike`: a diurnal day, low at night (03:00) and peaking in the afternoon
  (15:00), with small multiplicative noise and one sudden spike (2x the daily peak for
  10 minutes by default) that nobody planned for.
- `step`: a flat low rate that jumps to a high rate at one instant and stays there.

The unplanned part of a trace (the spike, or the step up) is marked by `spike_start_s`
and `spike_end_s`: fixed provisioning plans on the rest of the trace, and the capacity
model measures how long each strategy takes to absorb it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from infragap.errors import ConfigError

DAY_S = 24 * 3600
DEFAULT_STEP_S = 15  # the HPA's default sync period: one controller decision per step
NOISE_CLIP = 3.0  # noise draws are clipped at 3 standard deviations


@dataclass(frozen=True)
class Trace:
    """Offered load: `rates[i]` req/s from `i * step_s` to `(i + 1) * step_s` seconds.

    `spike_start_s` / `spike_end_s` bound the unplanned surge (None when there is none);
    `baseline_*` describe the trace outside it, i.e. what a capacity plan was based on.
    """

    step_s: int
    rates: tuple[float, ...]
    name: str
    description: str
    spike_start_s: float | None = None
    spike_end_s: float | None = None

    def __post_init__(self) -> None:
        if self.step_s <= 0 or int(self.step_s) != self.step_s:
            raise ConfigError(
                f"trace step must be a whole number of seconds > 0, not {self.step_s}"
            )
        if not self.rates:
            raise ConfigError(f"trace {self.name!r} has no steps: give it at least one rate")
        if any(rate < 0 or not math.isfinite(rate) for rate in self.rates):
            raise ConfigError(f"trace {self.name!r} has a negative or non-finite rate")
        if (self.spike_start_s is None) != (self.spike_end_s is None):
            raise ConfigError(
                "a trace's spike needs both spike_start_s and spike_end_s, or neither"
            )
        spike = (self.spike_start_s, self.spike_end_s)
        if (
            spike[0] is not None
            and spike[1] is not None
            and not (0 <= spike[0] < spike[1] <= self.duration_s)
        ):
            raise ConfigError(
                f"trace {self.name!r}: spike [{spike[0]}, {spike[1]}) s "
                f"must lie inside the trace's 0..{self.duration_s} s"
            )

    @property
    def duration_s(self) -> float:
        return self.step_s * len(self.rates)

    @property
    def peak_rps(self) -> float:
        return max(self.rates)

    @property
    def mean_rps(self) -> float:
        return sum(self.rates) / len(self.rates)

    def in_spike(self, index: int) -> bool:
        """Whether step `index` overlaps the unplanned spike."""
        if self.spike_start_s is None or self.spike_end_s is None:
            return False
        start = index * self.step_s
        return start < self.spike_end_s and start + self.step_s > self.spike_start_s

    @property
    def baseline_rates(self) -> tuple[float, ...]:
        """The rates outside the spike: the traffic a capacity plan is drawn from."""
        kept = tuple(rate for i, rate in enumerate(self.rates) if not self.in_spike(i))
        return kept or self.rates

    @property
    def baseline_peak_rps(self) -> float:
        return max(self.baseline_rates)

    @property
    def baseline_mean_rps(self) -> float:
        return sum(self.baseline_rates) / len(self.baseline_rates)

    def record(self) -> dict[str, Any]:
        """JSON-able summary (without the rates)."""
        return {
            "name": self.name,
            "description": self.description,
            "step_s": self.step_s,
            "steps": len(self.rates),
            "duration_s": self.duration_s,
            "peak_rps": self.peak_rps,
            "mean_rps": self.mean_rps,
            "baseline_peak_rps": self.baseline_peak_rps,
            "baseline_mean_rps": self.baseline_mean_rps,
            "spike_start_s": self.spike_start_s,
            "spike_end_s": self.spike_end_s,
        }


def diurnal_shape(hour: float, peak_hour: float) -> float:
    """0 at the trough (12 h from the peak) to 1 at `peak_hour`, a smooth cosine."""
    return (1.0 + math.cos(2.0 * math.pi * (hour - peak_hour) / 24.0)) / 2.0


def _steps(duration_s: float, step_s: int) -> int:
    if step_s <= 0 or int(step_s) != step_s:
        raise ConfigError(f"step_s must be a whole number of seconds > 0, not {step_s}")
    count = math.ceil(duration_s / step_s)
    if count < 1:
        raise ConfigError(f"duration_s must be > 0, not {duration_s}")
    return count


def daily_with_spike(
    peak_rps: float,
    seed: int,
    *,
    step_s: int = DEFAULT_STEP_S,
    duration_s: float = DAY_S,
    night_fraction: float = 0.2,
    peak_hour: float = 15.0,
    noise: float = 0.03,
    spike_factor: float | None = 2.0,
    spike_at_s: float = 10 * 3600,
    spike_duration_s: float = 600,
    name: str | None = None,
) -> Trace:
    """A seeded day of traffic: `night_fraction * peak_rps` at the trough (03:00 with the
    default `peak_hour`), `peak_rps` in the afternoon, multiplicative Gaussian noise of
    relative size `noise` (clipped at 3 sigma), then rescaled so the day outside the spike
    peaks at exactly `peak_rps`.

    The spike: from `spike_at_s` for `spike_duration_s`, the rate is `spike_factor *
    peak_rps` (times its own noise), whatever the hour; `spike_factor=None` gives a day
    without one. At 10:00 (the default) the day runs at about 70% of its peak, so the
    spike is a ~3x jump in a single step.
    """
    if peak_rps <= 0:
        raise ConfigError(f"peak_rps must be > 0, not {peak_rps}")
    if not 0 <= night_fraction <= 1:
        raise ConfigError(f"night_fraction must be within 0..1, not {night_fraction}")
    if noise < 0:
        raise ConfigError(f"noise must be >= 0, not {noise}")
    count = _steps(duration_s, step_s)
    rng = random.Random(seed)

    def jitter() -> float:
        draw = max(-NOISE_CLIP, min(NOISE_CLIP, rng.gauss(0.0, 1.0)))
        return max(0.0, 1.0 + noise * draw)

    day = [
        (night_fraction + (1.0 - night_fraction) * diurnal_shape(i * step_s / 3600.0, peak_hour))
        * jitter()
        for i in range(count)
    ]
    spike_jitter = [jitter() for _ in range(count)]  # drawn for every step: seed-stable
    # Snapped outward to whole steps: a step's rate holds for the whole step.
    spike_start_s = float(math.floor(spike_at_s / step_s) * step_s)
    spike_end_s = float(
        min(math.ceil((spike_at_s + spike_duration_s) / step_s) * step_s, count * step_s)
    )
    has_spike = spike_factor is not None and spike_duration_s > 0 and spike_start_s < spike_end_s
    window = (spike_start_s, spike_end_s) if has_spike else (None, None)
    probe = Trace(step_s, tuple(day), "probe", "", *window)
    scale = peak_rps / probe.baseline_peak_rps if probe.baseline_peak_rps > 0 else 0.0
    rates = [rate * scale for rate in day]
    if has_spike and spike_factor is not None:
        for i in range(count):
            if probe.in_spike(i):
                rates[i] = spike_factor * peak_rps * spike_jitter[i]
    spike_text = (
        f"; one spike to {spike_factor:g}x the peak at {spike_at_s / 3600:g} h for "
        f"{spike_duration_s / 60:g} min"
        if has_spike and spike_factor is not None
        else "; no spike"
    )
    return Trace(
        step_s=step_s,
        rates=tuple(rates),
        name=name or ("daily-with-spike" if has_spike else "daily"),
        description=(
            f"seeded diurnal day (seed {seed}): {night_fraction * peak_rps:g} req/s at night, "
            f"{peak_rps:g} req/s peak at {peak_hour:g} h, {noise:.0%} noise, "
            f"{step_s} s steps{spike_text}"
        ),
        spike_start_s=window[0],
        spike_end_s=window[1],
    )


def step(
    low_rps: float,
    high_rps: float,
    at_s: float,
    *,
    duration_s: float = 3600,
    step_s: int = DEFAULT_STEP_S,
    name: str = "step",
) -> Trace:
    """`low_rps` until `at_s` (rounded up to a step boundary), then `high_rps` to the end.
    The step up is the trace's spike (from the step to the end of the trace), so the model
    reports how long each strategy takes to absorb it."""
    if low_rps < 0 or high_rps < 0:
        raise ConfigError(f"rates must be >= 0, not {low_rps} and {high_rps}")
    count = _steps(duration_s, step_s)
    end_s = count * step_s
    first_high = math.ceil(at_s / step_s)  # the rate changes on a step boundary
    if not 0 < first_high < count:
        raise ConfigError(f"at_s must fall inside the trace (0 < at_s < {end_s}), not {at_s}")
    rates = tuple(high_rps if i >= first_high else low_rps for i in range(count))
    return Trace(
        step_s=step_s,
        rates=rates,
        name=name,
        description=(
            f"{low_rps:g} req/s, stepping to {high_rps:g} req/s at {at_s:g} s, "
            f"{duration_s:g} s in {step_s} s steps"
        ),
        spike_start_s=float(first_high * step_s),
        spike_end_s=float(end_s),
    )
