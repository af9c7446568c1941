"""Capacity planning from measurement: a MODEL, not a measurement.

Inputs, measured elsewhere and passed in as plain numbers, per serving variant:
`capacity_rps` (the highest rate one replica sustains with p99 under the SLO, from the
load engine) and `startup_s` (process start to ready). Everything else is an assumption,
listed with its source in every record (`Assumptions`, the strategy's settings, the trace).

Strategies, played through a `traces.Trace` step by step:

- `fixed_for_peak` / `fixed_for_average`: what a provisioning script does (`aws ec2
  run-instances --count N`): N replicas sized once from the trace outside its spike,
  running all day, ready from the start.
- `Hpa`: the Kubernetes HorizontalPodAutoscaler (autoscaling/v2) on CPU utilisation, with
  the algorithm as documented; the sources are cited where each rule is implemented:
  [docs] https://kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/
         ("Algorithm details", "Stabilization window", "Default Behavior");
  [api]  the autoscaling/v2 HPAScalingRules reference (default policies and windows);
  [kep]  KEP-853 "Configurable scale velocity for HPA" (the stabilisation algorithm);
  [code] kubernetes/kubernetes pkg/controller/podautoscaler (replica_calculator.go,
         horizontal.go), read to settle what the docs leave open (integer percent,
         which recommendations a window keeps). The code below is our own.

The rules of the model (also in every record, `RULES`):

1. Load is a fluid: in each step the offered rate is spread evenly over the replicas
   that are ready (serving); a replica serves at most `capacity_rps` within the SLO.
2. Requests over the SLO = the offered load beyond ready capacity (rate x time). This is
   a lower bound: in a real overloaded replica queueing delays every request, not only
   the excess. Minutes over the SLO = the time during which offered > ready capacity.
3. A new replica costs from the moment it is created and serves only after
   `startup_s + readiness_delay_s`. Nodes are assumed free (no cluster autoscaler, no
   image pull beyond what `startup_s` measured). A removed replica stops serving and
   costing at once (no graceful-termination tail). Fixed replicas are ready at t=0.
4. CPU utilisation of a ready replica (the HPA's metric, as a share of its CPU request)
   = `utilization_at_capacity * offered / ready capacity`, capped at `max_utilization`
   (an overloaded replica's CPU stops at its limit while its queue grows).
5. The HPA sees the utilisation averaged over the last `metric_window_s` before each sync
   (the metrics pipeline's lag), truncated to a whole percent as the controller does; a
   new pod's CPU counts only once it has been ready for one metric window.
6. Cost = replica-hours: the integral of existing replicas over the trace.
7. Spike absorption time = from the spike's start to the end of the last moment within
   the spike when offered > ready capacity (0 if capacity covered it from the start;
   None, with `spike_absorbed` False, if the shortfall lasts to the spike's end).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from infragap.errors import ConfigError
from infragap.suites.scaling.traces import Trace

RULES: tuple[str, ...] = (
    "load is a fluid, spread evenly over the ready replicas; one replica serves at most "
    "capacity_rps within the SLO",
    "requests over the SLO = offered load beyond ready capacity (a lower bound: real "
    "queueing delays every request once a replica is overloaded); minutes over the SLO = "
    "time with offered > ready capacity",
    "a new replica costs from creation and serves after startup_s + readiness_delay_s; "
    "nodes are assumed free; removed replicas stop at once; fixed replicas are ready at t=0",
    "CPU utilisation of a ready replica = utilization_at_capacity x offered / ready "
    "capacity, capped at max_utilization",
    "the HPA sees CPU averaged over the last metric_window_s before each sync, truncated to "
    "a whole percent; a new pod's CPU counts once it has been ready one metric window",
    "cost = replica-hours of existing replicas",
    "spike absorption = from spike start to the end of the last shortfall within the spike",
)

MEASURED_CAPACITY = (
    "measured: the highest rate one replica sustains with p99 under the SLO (load engine)"
)
MEASURED_STARTUP = "measured: process start to ready"
EPSILON = 1e-9  # float slack for ceil() of ratios that are whole numbers on paper


# ---------------------------------------------------------------------------------------
# Inputs and strategies


@dataclass(frozen=True)
class Assumptions:
    """What the model assumes rather than measures; each has a documented default."""

    # The kubelet runs the readiness probe every periodSeconds (default 10 s): a replica
    # ready at a random instant waits half a period on average before traffic reaches it.
    readiness_delay_s: float = 5.0
    # CPU (share of the pod's CPU request) a replica shows while serving exactly its SLO
    # capacity: requests are usually set near the busy level, so at the latency knee the
    # pod uses most, not all, of its request. Measure it next to capacity_rps when you can.
    utilization_at_capacity: float = 0.8
    # CPU an overloaded replica shows: its limit over its request (1.0: limit == request).
    max_utilization: float = 1.0
    # metrics-server's default resolution (15 s): the window the HPA's CPU figure spans.
    metric_window_s: float = 15.0


ASSUMPTION_SOURCES: dict[str, str] = {
    "readiness_delay_s": "assumed: half the kubelet's default readiness-probe period (10 s)",
    "utilization_at_capacity": (
        "assumed: CPU share of its request a replica shows at its SLO capacity"
    ),
    "max_utilization": "assumed: CPU limit / request of a replica (1.0: limit == request)",
    "metric_window_s": "assumed: metrics-server's default metric resolution (15 s)",
}


@dataclass(frozen=True)
class Fixed:
    """A constant replica count, as a provisioning script sets it."""

    replicas: int
    name: str
    rule: str

    def record(self) -> dict[str, Any]:
        return {"kind": "fixed", "name": self.name, "replicas": self.replicas, "rule": self.rule}


@dataclass(frozen=True)
class ScalingPolicy:
    """One HPAScalingPolicy: change by `value` pods or percent per `period_s` seconds."""

    kind: Literal["Pods", "Percent"]
    value: int
    period_s: float


@dataclass(frozen=True)
class ScalingRules:
    """One direction of the HPA's `behavior` (HPAScalingRules)."""

    stabilization_window_s: float
    policies: tuple[ScalingPolicy, ...]
    select: Literal["Max", "Min", "Disabled"] = "Max"

    def record(self) -> dict[str, Any]:
        return {
            "stabilization_window_s": self.stabilization_window_s,
            "select_policy": self.select,
            "policies": [
                {"type": p.kind, "value": p.value, "period_s": p.period_s} for p in self.policies
            ],
        }


# [api] defaults: scale up by max(100%, 4 pods) per 15 s with no stabilisation; scale
# down by up to 100% per 15 s, stabilised over 300 s.
DEFAULT_SCALE_UP = ScalingRules(
    stabilization_window_s=0.0,
    policies=(ScalingPolicy("Percent", 100, 15.0), ScalingPolicy("Pods", 4, 15.0)),
)
DEFAULT_SCALE_DOWN = ScalingRules(
    stabilization_window_s=300.0, policies=(ScalingPolicy("Percent", 100, 15.0),)
)


@dataclass(frozen=True)
class Hpa:
    """A HorizontalPodAutoscaler on CPU utilisation (`target_utilization_pct` of request)."""

    min_replicas: int = 2
    max_replicas: int = 10
    target_utilization_pct: int = 60
    tolerance: float = 0.1  # [docs] the cluster-wide default tolerance
    sync_period_s: int = 15  # [docs] --horizontal-pod-autoscaler-sync-period default
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN
    name: str = "hpa"

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ConfigError(
                f"HPA replicas must satisfy 1 <= min <= max, not {self.min_replicas}..."
                f"{self.max_replicas}"
            )
        if self.target_utilization_pct <= 0:
            raise ConfigError(f"HPA target must be > 0%, not {self.target_utilization_pct}")
        if self.sync_period_s <= 0 or int(self.sync_period_s) != self.sync_period_s:
            raise ConfigError(f"HPA sync period must be whole seconds > 0: {self.sync_period_s}")

    def record(self) -> dict[str, Any]:
        return {
            "kind": "hpa",
            "name": self.name,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "target_cpu_utilization_pct": self.target_utilization_pct,
            "tolerance": self.tolerance,
            "sync_period_s": self.sync_period_s,
            "scale_up": self.scale_up.record(),
            "scale_down": self.scale_down.record(),
            "source": "Kubernetes HPA algorithm (autoscaling/v2), documented defaults",
        }


Strategy = Fixed | Hpa


def _fixed(rate_rps: float, capacity_rps: float, headroom: float, name: str, what: str) -> Fixed:
    _check_positive(capacity_rps=capacity_rps)
    if headroom < 0:
        raise ConfigError(f"headroom must be >= 0 (0.2 for 20%), not {headroom}")
    replicas = max(1, math.ceil(rate_rps * (1.0 + headroom) / capacity_rps - EPSILON))
    rule = (
        f"ceil({what} {rate_rps:.0f} req/s x (1 + {headroom:g} headroom) / "
        f"{capacity_rps:g} req/s per replica) = {replicas}"
    )
    return Fixed(replicas=replicas, name=name, rule=rule)


def fixed_for_peak(trace: Trace, capacity_rps: float, headroom: float = 0.2) -> Fixed:
    """Replicas for the trace's peak outside its spike (the day the script's author saw)."""
    return _fixed(trace.baseline_peak_rps, capacity_rps, headroom, "fixed for peak", "peak")


def fixed_for_average(trace: Trace, capacity_rps: float, headroom: float = 0.2) -> Fixed:
    """Replicas for the trace's mean rate outside its spike: cheap, short at the peak."""
    return _fixed(trace.baseline_mean_rps, capacity_rps, headroom, "fixed for average", "mean")


def standard_strategies(
    trace: Trace, capacity_rps: float, headroom: float = 0.2, hpa: Hpa | None = None
) -> tuple[Strategy, ...]:
    """The three strategies a report compares: fixed for peak, fixed for average, HPA."""
    return (
        fixed_for_peak(trace, capacity_rps, headroom),
        fixed_for_average(trace, capacity_rps, headroom),
        hpa or Hpa(),
    )


# ---------------------------------------------------------------------------------------
# The HPA controller, one sync at a time


def utilization_percent(utilization: float) -> int:
    """The controller's whole-percent utilisation: [code] integer division of summed
    usage x 100 by summed requests, i.e. truncation."""
    return math.floor(utilization * 100.0 + EPSILON)


def replica_recommendation(
    current: int, ready: int, not_ready: int, utilization: float, hpa: Hpa
) -> int:
    """The raw desired replica count for one sync (before stabilisation and policies).

    [docs] desired = ceil(current x currentMetric / desiredMetric), where the ratio is
    taken over the ready pods' average utilisation, and nothing changes while the ratio is
    within `tolerance` of 1. Not-yet-ready pods are set aside; if the ready pods alone ask
    for a scale-up, the not-yet-ready ones are counted as using 0% and the ratio is
    recomputed over all pods; if that reverses the direction or falls within tolerance,
    nothing changes. [code] the first case scales `ceil(ratio x ready)`, the second
    `ceil(new ratio x all pods)`. `utilization` is the ready pods' average, as a fraction
    of the CPU request (0.9 for 90%); no pod's metric is ever missing in this model.
    """
    if ready <= 0:
        return current  # [code] no metrics for any ready pod: the sync errors, no change
    pct = utilization_percent(utilization)
    ratio = pct / hpa.target_utilization_pct
    if not (not_ready > 0 and ratio > 1.0):
        if abs(1.0 - ratio) <= hpa.tolerance:
            return current
        return math.ceil(ratio * ready - EPSILON)
    everyone = ready + not_ready
    new_ratio = utilization_percent(utilization * ready / everyone) / hpa.target_utilization_pct
    if abs(1.0 - new_ratio) <= hpa.tolerance or new_ratio < 1.0:
        return current
    proposed = math.ceil(new_ratio * everyone - EPSILON)
    return current if proposed < current else proposed


@dataclass
class HpaController:
    """The HPA's state across syncs: past recommendations and past scale events.

    `sync` follows the controller: clamp to min/max when outside them, else recommend from
    the metric; stabilise ([kep], [docs] "Stabilization window": the replica count used is
    the highest recommendation in the scale-down window and the lowest in the scale-up
    window, bounded by the current count); then limit the change with the scaling
    policies ([docs] "Scaling policies": with select Max, the policy allowing the biggest
    change wins; a policy's budget counts the changes made within its period).
    """

    hpa: Hpa
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    scale_events: list[tuple[float, int]] = field(default_factory=list)  # (time, +/- pods)

    def sync(self, now: float, current: int, ready: int, not_ready: int, utilization: float) -> int:
        hpa = self.hpa
        if current > hpa.max_replicas:
            desired = hpa.max_replicas  # [code] out-of-range counts are pulled in directly
        elif current < hpa.min_replicas:
            desired = hpa.min_replicas
        else:
            raw = replica_recommendation(current, ready, not_ready, utilization, hpa)
            stabilised = self._stabilise(now, current, raw)
            desired = self._limit_rate(now, current, stabilised)
        if desired != current:
            self.scale_events.append((now, desired - current))
        return desired

    def _stabilise(self, now: float, current: int, raw: int) -> int:
        up_cutoff = now - self.hpa.scale_up.stabilization_window_s
        down_cutoff = now - self.hpa.scale_down.stabilization_window_s
        up = down = raw
        for stamp, recommendation in self.recommendations:
            if stamp > up_cutoff:
                up = min(up, recommendation)
            if stamp > down_cutoff:
                down = max(down, recommendation)
        oldest = min(up_cutoff, down_cutoff)
        self.recommendations = [(t, r) for t, r in self.recommendations if t > oldest]
        self.recommendations.append((now, raw))  # [code] the raw one is kept, not the result
        return min(max(current, up), down)

    def _changed_within(self, now: float, period_s: float) -> tuple[int, int]:
        added = sum(
            change for stamp, change in self.scale_events if stamp > now - period_s and change > 0
        )
        removed = -sum(
            change for stamp, change in self.scale_events if stamp > now - period_s and change < 0
        )
        return added, removed

    def _period_start(self, now: float, current: int, policy: ScalingPolicy) -> int:
        added, removed = self._changed_within(now, policy.period_s)
        return current - added + removed

    def _limit_rate(self, now: float, current: int, desired: int) -> int:
        hpa = self.hpa
        if desired > current:
            rules = hpa.scale_up
            if rules.select == "Disabled" or not rules.policies:
                return current
            proposals = []
            for policy in rules.policies:
                start = self._period_start(now, current, policy)
                if policy.kind == "Pods":
                    proposals.append(start + policy.value)
                else:  # [code] rounded up, or a small deployment could never grow
                    proposals.append(math.ceil(start * (1.0 + policy.value / 100.0) - EPSILON))
            limit = min(proposals) if rules.select == "Min" else max(proposals)
            return min(desired, hpa.max_replicas, max(limit, current))
        if desired < current:
            rules = hpa.scale_down
            if rules.select == "Disabled" or not rules.policies:
                return current
            proposals = []
            for policy in rules.policies:
                start = self._period_start(now, current, policy)
                if policy.kind == "Pods":
                    proposals.append(start - policy.value)
                else:  # [code] truncated toward zero
                    proposals.append(int(start * (1.0 - policy.value / 100.0)))
            limit = max(proposals) if rules.select == "Min" else min(proposals)
            return max(desired, hpa.min_replicas, min(limit, current))
        return desired


# ---------------------------------------------------------------------------------------
# Simulation


@dataclass(frozen=True)
class Outcome:
    """One strategy played through one trace; per-step series on the simulation step.

    `replicas`: replicas that exist (cost); `ready_replicas`: time-averaged replicas
    serving; `served_rps`: load served within the SLO; `over_slo_requests`: requests over
    the SLO in the step (rule 2); `utilization`: CPU of a ready replica (rule 4).
    """

    strategy: Strategy
    trace: Trace
    variant: str
    capacity_rps: float
    startup_s: float
    assumptions: Assumptions
    sources: Mapping[str, str]
    step_s: float
    replicas: tuple[int, ...]
    ready_replicas: tuple[float, ...]
    offered_rps: tuple[float, ...]
    served_rps: tuple[float, ...]
    over_slo_requests: tuple[float, ...]
    utilization: tuple[float, ...]
    replica_hours: float
    minutes_over_slo: float
    requests_over_slo: float
    requests_total: float
    time_to_absorb_spike_s: float | None
    spike_absorbed: bool | None
    peak_replicas: int

    def totals(self) -> dict[str, Any]:
        share = self.requests_over_slo / self.requests_total if self.requests_total else 0.0
        return {
            "replica_hours": self.replica_hours,
            "minutes_over_slo": self.minutes_over_slo,
            "requests_over_slo": self.requests_over_slo,
            "requests_total": self.requests_total,
            "share_over_slo": share,
            "time_to_absorb_spike_s": self.time_to_absorb_spike_s,
            "spike_absorbed": self.spike_absorbed,
            "peak_replicas": self.peak_replicas,
        }


@dataclass
class _Pod:
    ready_s: float


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name} must be a finite number > 0, not {value}")


def _tick_s(trace: Trace, strategy: Strategy) -> int:
    """The simulation step: the trace's step, refined so every HPA sync falls on one."""
    if isinstance(strategy, Hpa):
        return math.gcd(int(trace.step_s), int(strategy.sync_period_s))
    return int(trace.step_s)


def _initial_replicas(strategy: Strategy, rate: float, capacity: float, a: Assumptions) -> int:
    if isinstance(strategy, Fixed):
        return strategy.replicas
    # Where the HPA would hold the Deployment at the first rate: per-replica CPU at target.
    per_replica_rps = (
        capacity * (strategy.target_utilization_pct / 100.0) / a.utilization_at_capacity
    )
    wanted = math.ceil(rate / per_replica_rps - EPSILON)
    return min(strategy.max_replicas, max(strategy.min_replicas, wanted))


def _utilization(offered: float, ready: float, capacity: float, a: Assumptions) -> float:
    if ready <= 0:
        return a.max_utilization
    return min(a.utilization_at_capacity * offered / (ready * capacity), a.max_utilization)


def _remove(pods: list[_Pod], count: int) -> list[_Pod]:
    """A ReplicaSet scaling down deletes not-yet-ready pods first, then the pods ready for
    the shortest time: sort by ready time, drop the latest."""
    kept = sorted(pods, key=lambda pod: pod.ready_s)
    return kept[: len(kept) - count]


def simulate(
    trace: Trace,
    strategy: Strategy,
    capacity_rps: float,
    startup_s: float,
    *,
    assumptions: Assumptions | None = None,
    variant: str = "",
    sources: Mapping[str, str] | None = None,
) -> Outcome:
    """Play `strategy` through `trace` for a variant whose replica serves `capacity_rps`
    within the SLO and starts in `startup_s`; see the module docstring for the rules.

    `sources` overrides the default source text of any input (e.g. {"capacity_rps":
    "measured: triton, 2 CPU, p99 < 100 ms, run 2025-06-01"}).
    """
    _check_positive(capacity_rps=capacity_rps)
    if not (math.isfinite(startup_s) and startup_s >= 0):
        raise ConfigError(f"startup_s must be a finite number >= 0, not {startup_s}")
    a = assumptions or Assumptions()
    _check_positive(
        utilization_at_capacity=a.utilization_at_capacity,
        max_utilization=a.max_utilization,
        metric_window_s=a.metric_window_s,
    )
    tick = _tick_s(trace, strategy)
    per_step = int(trace.step_s) // tick
    offered_series = [rate for rate in trace.rates for _ in range(per_step)]
    spike: tuple[float, float] | None = None
    if trace.spike_start_s is not None and trace.spike_end_s is not None:
        spike = (trace.spike_start_s, trace.spike_end_s)

    start_delay = startup_s + a.readiness_delay_s

    pods = [
        _Pod(-math.inf)
        for _ in range(_initial_replicas(strategy, offered_series[0], capacity_rps, a))
    ]
    controller = HpaController(strategy) if isinstance(strategy, Hpa) else None
    window_ticks = max(1, round(a.metric_window_s / tick))
    seen_utilization: list[float] = []

    replicas: list[int] = []
    ready_series: list[float] = []
    served: list[float] = []
    over: list[float] = []
    utilization: list[float] = []
    replica_seconds = over_seconds = 0.0
    last_spike_shortfall_end: float | None = None

    for k, offered in enumerate(offered_series):
        t0, t1 = k * tick, (k + 1) * tick
        if controller is not None and t0 % controller.hpa.sync_period_s == 0:
            if seen_utilization:
                recent = seen_utilization[-window_ticks:]
                metric = sum(recent) / len(recent)
            else:  # before the first step: the steady state the Deployment started in
                metric = _utilization(offered, len(pods), capacity_rps, a)
            counted = sum(1 for pod in pods if pod.ready_s + a.metric_window_s <= t0)
            desired = controller.sync(t0, len(pods), counted, len(pods) - counted, metric)
            if desired > len(pods):
                pods += [_Pod(t0 + start_delay) for _ in range(desired - len(pods))]
            elif desired < len(pods):
                pods = _remove(pods, len(pods) - desired)

        # Within the step the ready count only rises, at each new pod's ready time.
        cuts = sorted({t0, t1, *(pod.ready_s for pod in pods if t0 < pod.ready_s < t1)})
        ready_seconds = over_requests = 0.0
        for a_s, b_s in itertools.pairwise(cuts):
            ready_now = sum(1 for pod in pods if pod.ready_s <= a_s)
            ready_seconds += ready_now * (b_s - a_s)
            shortfall = offered - ready_now * capacity_rps
            if shortfall > 0:
                over_requests += shortfall * (b_s - a_s)
                over_seconds += b_s - a_s
                if spike is not None and a_s < spike[1] and b_s > spike[0]:
                    last_spike_shortfall_end = min(b_s, spike[1])
        ready_avg = ready_seconds / tick
        replicas.append(len(pods))
        ready_series.append(ready_avg)
        over.append(over_requests)
        served.append(offered - over_requests / tick)
        step_utilization = _utilization(offered, ready_avg, capacity_rps, a)
        utilization.append(step_utilization)
        seen_utilization.append(step_utilization)
        replica_seconds += len(pods) * tick

    absorb_s: float | None = None
    absorbed: bool | None = None
    if spike is not None:
        if last_spike_shortfall_end is None:
            absorb_s, absorbed = 0.0, True
        elif last_spike_shortfall_end < spike[1]:
            absorb_s, absorbed = last_spike_shortfall_end - spike[0], True
        else:
            absorbed = False
    return Outcome(
        strategy=strategy,
        trace=trace,
        variant=variant,
        capacity_rps=capacity_rps,
        startup_s=startup_s,
        assumptions=a,
        sources=dict(sources or {}),
        step_s=tick,
        replicas=tuple(replicas),
        ready_replicas=tuple(ready_series),
        offered_rps=tuple(offered_series),
        served_rps=tuple(served),
        over_slo_requests=tuple(over),
        utilization=tuple(utilization),
        replica_hours=replica_seconds / 3600.0,
        minutes_over_slo=over_seconds / 60.0,
        requests_over_slo=sum(over),
        requests_total=sum(offered_series) * tick,
        time_to_absorb_spike_s=absorb_s,
        spike_absorbed=absorbed,
        peak_replicas=max(replicas),
    )


# ---------------------------------------------------------------------------------------
# Records


def _inputs(
    capacity_rps: float, startup_s: float, a: Assumptions, sources: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    defaults = {
        "capacity_rps": MEASURED_CAPACITY,
        "startup_s": MEASURED_STARTUP,
        **ASSUMPTION_SOURCES,
    }
    values: dict[str, Any] = {
        "capacity_rps": capacity_rps,
        "startup_s": startup_s,
        "readiness_delay_s": a.readiness_delay_s,
        "utilization_at_capacity": a.utilization_at_capacity,
        "max_utilization": a.max_utilization,
        "metric_window_s": a.metric_window_s,
    }
    return {
        key: {"value": value, "source": sources.get(key, defaults[key])}
        for key, value in values.items()
    }


def _buckets(values: Sequence[float], size: int, pick: Any) -> list[float]:
    return [pick(values[i : i + size]) for i in range(0, len(values), size)]


def outcome_record(outcome: Outcome, points: int = 288) -> dict[str, Any]:
    """JSON-able: the model's inputs with their sources, its rules, the strategy, the
    totals, and the series downsampled to about `points` points (288: 5 min over a day).
    Each point is its bucket's max for offered load and replicas and its min for ready
    capacity, so a chart never hides a spike or a shortfall."""
    size = max(1, math.ceil(len(outcome.replicas) / max(1, points)))
    ready_capacity = [r * outcome.capacity_rps for r in outcome.ready_replicas]
    return {
        "kind": "model",
        "variant": outcome.variant,
        "inputs": _inputs(
            outcome.capacity_rps, outcome.startup_s, outcome.assumptions, outcome.sources
        ),
        "rules": list(RULES),
        "trace": outcome.trace.record(),
        "strategy": outcome.strategy.record(),
        "totals": outcome.totals(),
        "series": {
            "step_s": outcome.step_s * size,
            "t_s": [i * outcome.step_s for i in range(0, len(outcome.replicas), size)],
            "offered_rps_max": _buckets(outcome.offered_rps, size, max),
            "replicas_max": _buckets(outcome.replicas, size, max),
            "ready_capacity_rps_min": _buckets(ready_capacity, size, min),
        },
    }


SENSITIVITY_WHY = (
    "capacity_rps and startup_s are the inputs measured on a bench and most likely to "
    "differ in production: the SLO knee moves with hardware, co-tenants and payload mix "
    "(±25%), and a fresh node's start-up adds image pulls and cold caches that a local "
    "process start does not see (x0.5..x2). Strategies stay as planned from the nominal "
    "inputs, so a fixed plan meets the true capacity it was not sized for."
)


def sensitivity(
    trace: Trace,
    strategies: Sequence[Strategy],
    capacity_rps: float,
    startup_s: float,
    *,
    capacity_factors: Sequence[float] = (0.75, 1.0, 1.25),
    startup_factors: Sequence[float] = (0.5, 1.0, 2.0),
    assumptions: Assumptions | None = None,
    variant: str = "",
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Each strategy's totals when the true capacity and start-up time differ from the
    measured ones by the given factors (a grid): a table as data, one row per case."""
    a = assumptions or Assumptions()
    rows = []
    for strategy in strategies:
        for capacity_factor in capacity_factors:
            for startup_factor in startup_factors:
                outcome = simulate(
                    trace,
                    strategy,
                    capacity_rps * capacity_factor,
                    startup_s * startup_factor,
                    assumptions=a,
                    variant=variant,
                )
                rows.append(
                    {
                        "strategy": strategy.name,
                        "capacity_factor": capacity_factor,
                        "capacity_rps": capacity_rps * capacity_factor,
                        "startup_factor": startup_factor,
                        "startup_s": startup_s * startup_factor,
                        **outcome.totals(),
                    }
                )
    return {
        "kind": "model",
        "variant": variant,
        "inputs": _inputs(capacity_rps, startup_s, a, sources or {}),
        "rules": list(RULES),
        "trace": trace.record(),
        "strategies": [strategy.record() for strategy in strategies],
        "varied": {
            "capacity_factors": list(capacity_factors),
            "startup_factors": list(startup_factors),
            "why": SENSITIVITY_WHY,
        },
        "rows": rows,
    }
