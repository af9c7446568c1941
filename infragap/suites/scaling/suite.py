"""The scaling suite plugin: fixed capacity provisioned by scripts vs Kubernetes Jobs and
a HorizontalPodAutoscaler, from measured per-replica capacity.

Three parts, and the results say which is which: the per-replica SLO capacity and
start-up time of each serving variant (measured here, with the serving suite's variants
and the load engine), the Kubernetes manifests sized from them (validated offline
against the API schemas), and the capacity plan: a seeded traffic trace played through
fixed provisioning and the HPA's documented algorithm (a model, labelled as one).
The serving suite's options (--model-size, --triton-*) apply here too.
"""

from __future__ import annotations

import argparse
from typing import Any

from infragap.errors import ConfigError
from infragap.suites.base import SUITES, BenchContext, run_steps
from infragap.suites.scaling.cluster_step import add_cluster_arguments, cluster_config
from infragap.suites.serving.suite import ServingSuite
from infragap.suites.serving.variants import VARIANTS

DEFAULT_VARIANTS = "naive-hoisted,triton"
DEFAULT_SLO = "p99=100ms"


class ScalingSuite:
    name = "scaling"
    description = "fixed capacity by scripts vs Kubernetes Jobs and an HPA, from measured capacity"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("scaling suite")
        group.add_argument(
            "--scaling-variants",
            default=DEFAULT_VARIANTS,
            help=f"serving variants to size (default {DEFAULT_VARIANTS})",
        )
        group.add_argument(
            "--startup-repeats",
            type=int,
            help="times each variant is started from nothing (default 3; 1 with --quick)",
        )
        group.add_argument(
            "--image-registry",
            default="registry.example.com/infragap",
            help="where the manifests' images live (default: a placeholder to replace)",
        )
        group.add_argument(
            "--peak-rps",
            type=float,
            help="the traffic trace's daily peak (default: 4 x the highest per-replica capacity)",
        )
        add_cluster_arguments(group)

    def config(self, args: argparse.Namespace) -> dict[str, Any]:
        variants = [v.strip() for v in args.scaling_variants.split(",") if v.strip()]
        if not variants:
            raise ConfigError("--scaling-variants is empty: name at least one serving variant")
        for name in variants:
            VARIANTS.get(name)
        if args.startup_repeats is not None and args.startup_repeats < 1:
            raise ConfigError("--startup-repeats must be at least 1")
        if args.peak_rps is not None and not args.peak_rps > 0:
            raise ConfigError("--peak-rps must be a positive rate")
        quick = bool(args.quick)
        config = ServingSuite().config(args)
        config["variants"] = variants
        if not args.slo:
            config["slo"] = DEFAULT_SLO
        if not args.users:
            config["users"] = [8]  # one closed-loop level: where the SLO search starts
        config["triton_tuning"]["enabled"] = bool(args.triton_tuning)
        config["calibrate"] = False  # the capacity search is the measurement here
        config["startup_repeats"] = args.startup_repeats or (1 if quick else 3)
        config["peak_rps"] = args.peak_rps
        config["image_registry"] = args.image_registry
        config["cluster"] = cluster_config(args)
        return config

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        from pathlib import Path

        from infragap.suites.scaling.measure import ScalingRun
        from infragap.suites.scaling.steps import STEPS

        section.setdefault("warnings", [])
        config = dict(section["config"])
        config["cache_dir"] = Path(config["cache_dir"])
        run_steps(STEPS, ScalingRun(ctx, section, config), ctx)

    def summary_rows(self, section: dict[str, Any]) -> list[list[str]]:
        rows = [["variant", "req/s per replica", "cores", "MiB", "start-up s"]]
        startup = section.get("startup") or {}
        for name, figures in (section.get("per_replica") or {}).items():
            ready = (startup.get(name) or {}).get("median_s")
            if figures is None:
                rows.append([name, "none met the SLO", "", "", f"{ready}"])
                continue
            rows.append(
                [
                    name,
                    f"{figures['capacity_rps']:.0f}",
                    f"{figures['cpu_cores']}",
                    f"{figures['rss_mib']}",
                    f"{ready}",
                ]
            )
        return rows


SUITES.register("scaling")(ScalingSuite())
