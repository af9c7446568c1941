"""The observability suite plugin: the hoisted serving endpoint timed into a log file,
an OpenTelemetry histogram or a prometheus_client histogram (and not at all), plus
Triton's own metrics, all scraped by a real Prometheus under the same load.

Options and configuration live here; the flow is in steps.py. The model is the serving
suite's (its --model-size), so the two suites' figures are of the same endpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError
from infragap.suites.base import SUITES, BenchContext, run_steps
from infragap.suites.levels import level_rows, load_config
from infragap.suites.observability.steps import STEPS, ObservabilityRun
from infragap.suites.observability.variants import VARIANTS
from infragap.workloads.model_sizes import default_cache_dir

DEFAULT_ALERT_SLO_MS = 100.0


class ObservabilitySuite:
    name = "observability"
    description = "timing log lines vs OpenTelemetry/Prometheus metrics scraped by Prometheus"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("observability suite")
        group.add_argument(
            "--observability-variants",
            default=",".join(VARIANTS.names()),
            help="comma-separated variants to run (default: all)",
        )
        group.add_argument(
            "--alert-slo-ms",
            type=float,
            help="the p99 the alert rule guards (default: --slo's p99, or 100)",
        )
        group.add_argument("--prometheus-port", type=int, help="port for the real Prometheus")

    def config(self, args: argparse.Namespace) -> dict[str, Any]:
        variants = [v.strip() for v in args.observability_variants.split(",") if v.strip()]
        if not variants:
            raise ConfigError("--observability-variants is empty: name at least one variant")
        for name in variants:
            VARIANTS.get(name)
        quick = bool(args.quick)
        load = load_config(args, quick, [1, 8] if quick else [1, 8, 32])
        return {
            "quick": quick,
            "seed": args.seed,
            "model_size": getattr(args, "model_size", None) or ("small" if quick else "default"),
            "variants": variants,
            **load,
            "alert_slo_ms": _alert_slo_ms(args.alert_slo_ms, load["slo"]),
            "device": "cpu",
            "triton": _triton_defaults(),
            "triton_url": None,
            "ports": {"prometheus": args.prometheus_port},
            "cache_dir": str(args.cache_dir or default_cache_dir()),
        }

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        section.setdefault("warnings", [])
        config = dict(section["config"])
        config["cache_dir"] = Path(config["cache_dir"])
        config["ports"] = dict(config["ports"])
        run_steps(STEPS, ObservabilityRun(ctx, section, config), ctx)

    def summary_rows(self, section: dict[str, Any]) -> list[list[str]]:
        return level_rows(section, [("p99 answer", _p99_answer)])


def _p99_answer(level: dict[str, Any]) -> str:
    items = (level.get("answers") or {}).get("items") or []
    for item in items:
        if item["question"] == "p99_latency" and item["value"] is not None:
            return f"{item['value']:.1f} ms"
    return ""


def _alert_slo_ms(given: float | None, slo: str | None) -> float:
    if given is not None:
        if not given > 0:
            raise ConfigError(f"--alert-slo-ms must be a positive number of ms, not {given}")
        return given
    if slo:
        from infragap.loadtests.slo import parse_slo

        limit = parse_slo(slo).limits_ms.get("p99")
        if limit is not None:
            return limit
    return DEFAULT_ALERT_SLO_MS


def _triton_defaults() -> dict[str, Any]:
    from dataclasses import asdict

    from infragap.proven.triton.repository import ServingOptions

    options = asdict(ServingOptions())
    options.pop("device")
    return options


SUITES.register("observability")(ObservabilitySuite())
