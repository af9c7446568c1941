"""The toy suite: a slow and a fast summing endpoint, driven by infragap's level driver."""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

from infragap.ports import LOOPBACK, free_port
from infragap.processes import http_ok, wait_until
from infragap.suites.base import SUITES, BenchContext
from infragap.suites.endpoint import Endpoint, process_tree
from infragap.suites.levels import UnitRate, drive_levels, level_rows, load_config, load_plan
from toy_pair.target import TARGET, write_requests

DELAYS_MS = {"toy-slow": 20.0, "toy-fast": 1.0}


class ToySuite:
    name = "toy"
    description = "a slow and a fast summing endpoint (a test's own pair)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("toy suite", self.description)
        group.add_argument("--toy-numbers", type=int, default=3, help="numbers per request")

    def config(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "seed": args.seed,
            "numbers": args.toy_numbers,
            **load_config(args, quick=True, default_users=[1, 2]),
        }

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        config = section["config"]
        rng = random.Random(config["seed"])
        requests_file = ctx.work_dir / "toy-requests.json"
        write_requests(
            [[rng.randrange(100) for _ in range(config["numbers"])] for _ in range(64)],
            requests_file,
        )
        endpoints = []
        for name, delay_ms in DELAYS_MS.items():
            port = free_port()
            argv = [sys.executable, "-m", "toy_pair.server", str(port), str(delay_ms)]
            child = ctx.supervisor.start(name, argv)
            url = f"http://{LOOPBACK}:{port}"
            wait_until(http_ok(f"{url}/health"), child, 30.0, f"the {name} server")
            endpoints.append(Endpoint(name, TARGET, url, process_tree(child)))
        plan = load_plan(config, requests_file, config["seed"])
        drive_levels(
            ctx,
            section,
            endpoints,
            plan,
            lambda text: ctx.console.print(f"toy {text}"),
            lambda _endpoint: [UnitRate("numbers_per_s", config["numbers"])],
        )

    def summary_rows(self, section: dict[str, Any]) -> list[list[str]]:
        return level_rows(section)


SUITES.register("toy")(ToySuite())
