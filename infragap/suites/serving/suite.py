"""The serving suite plugin: naive Flask endpoints vs Triton, driven by Locust.

Its options and configuration live here; the flow it runs is in steps.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError
from infragap.suites.base import SUITES, BenchContext, run_steps
from infragap.suites.levels import level_rows, load_config
from infragap.suites.serving.own_config import add_own_arguments, own_config, wants_own_model
from infragap.suites.serving.records import ServingLevel
from infragap.suites.serving.steps import STEPS, ServingRun
from infragap.suites.serving.variants import VARIANTS
from infragap.workloads.model_sizes import MODEL_SIZES, default_cache_dir


class ServingSuite:
    name = "serving"
    description = "Flask reloading the model per request vs Triton with dynamic batching"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("serving suite")
        group.add_argument(
            "--model-size",
            choices=sorted(MODEL_SIZES),
            help="model size (default: 'default', or 'small' with --quick)",
        )
        group.add_argument("--rows", type=int, default=1, help="rows scored per request")
        group.add_argument(
            "--variants",
            help="comma-separated serving variants to run (default: all of "
            f"{', '.join(VARIANTS.names())}; with your own model: naive-reload, "
            "naive-hoisted, triton, or your-endpoint, before-app, after-app)",
        )
        group.add_argument(
            "--triton-url",
            help="use this running Triton (http://host:port) "
            "instead of starting the bundled server",
        )
        group.add_argument("--triton-http-port", type=int, help="port for the local Triton")
        group.add_argument(
            "--triton-queue-delay-us",
            type=int,
            help="dynamic batching: longest wait to fill a batch",
        )
        group.add_argument("--triton-instances", type=int, help="model instances in Triton")
        group.add_argument("--triton-threads", type=int, help="torch threads per instance")
        group.add_argument(
            "--triton-tuning",
            action=argparse.BooleanOptionalAction,
            help="choose Triton's queue delay, instances and threads by a short measured "
            "search at the top user count before the run (default: on, off with --quick); "
            "a knob given above is kept as given",
        )
        group.add_argument("--naive-reload-port", type=int)
        group.add_argument("--naive-hoisted-port", type=int)
        group.add_argument("--naive-batched-port", type=int)
        add_own_arguments(parser)

    def config(self, args: argparse.Namespace) -> dict[str, Any]:
        config = self._ranking_config(args)
        if wants_own_model(args):
            config.update(own_config(args))
            if config["before_after"]:  # its Triton is the generated repository, as it is
                config["triton_tuning"]["enabled"] = False
            config.pop("model_size")
        return config

    def _ranking_config(self, args: argparse.Namespace) -> dict[str, Any]:
        variants = [v.strip() for v in (args.variants or ",".join(VARIANTS.names())).split(",")]
        variants = [v for v in variants if v]
        if not wants_own_model(args):
            for name in variants:
                VARIANTS.get(name)
        if args.rows < 1:
            raise ConfigError("--rows must be at least 1")
        quick = bool(args.quick)
        return {
            "quick": quick,
            "seed": args.seed,
            "model_size": args.model_size or ("small" if quick else "default"),
            "rows_per_request": args.rows,
            "variants": variants,
            **load_config(args, quick, [1, 8] if quick else [1, 8, 32]),
            "device": _device(),
            "triton_url": args.triton_url,
            "triton": _triton_options(args),
            "triton_tuning": {
                "enabled": not quick if args.triton_tuning is None else args.triton_tuning,
                "fixed": [k for k, flag in TUNED_FLAGS.items() if getattr(args, flag) is not None],
            },
            "ports": {
                "triton": args.triton_http_port,
                "naive-reload": args.naive_reload_port,
                "naive-hoisted": args.naive_hoisted_port,
                "naive-batched": args.naive_batched_port,
            },
            "cache_dir": str(args.cache_dir or default_cache_dir()),
        }

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        section.setdefault("warnings", [])
        config = dict(section["config"])
        config["cache_dir"] = Path(config["cache_dir"])
        if config.get("own_model"):
            from infragap.suites.serving.own_steps import OWN_STEPS, OwnRun

            run_steps(OWN_STEPS, OwnRun(ctx, section, config), ctx)
        else:
            run_steps(STEPS, ServingRun(ctx, section, config), ctx)

    def summary_rows(self, section: dict[str, Any]) -> list[list[str]]:
        return level_rows(section, [("batch", _mean_batch)])


def _mean_batch(level: ServingLevel) -> str:
    batch = (level["triton"] or {}).get("mean_batch_size")
    return f"{batch:.1f}" if batch else ""


TUNED_FLAGS = {
    "queue_delay_us": "triton_queue_delay_us",
    "instances": "triton_instances",
    "torch_threads": "triton_threads",
}
"""Each knob the Triton tuning searches, and the argparse name of its option."""


def _triton_options(args: argparse.Namespace) -> dict[str, Any]:
    from dataclasses import asdict, replace

    from infragap.proven.triton.repository import ServingOptions

    chosen = {knob: getattr(args, flag) for knob, flag in TUNED_FLAGS.items()}
    options = asdict(
        replace(ServingOptions(), **{k: v for k, v in chosen.items() if v is not None})
    )
    options.pop("device")  # recorded once, at the top of the config
    return options


def _device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


SUITES.register("serving")(ServingSuite())
