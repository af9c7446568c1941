"""A team's own endpoint receives only the load the options describe: it is printed
before anything is sent, and a URL off this machine needs --yes or a typed yes."""

from __future__ import annotations

import ipaddress
import sys
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console

from infragap.errors import ConfigError
from infragap.suites.levels import LoadPlan

LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def describe_load(plan: LoadPlan, check_requests: int) -> list[str]:
    """What the run will send to each endpoint, in words (pure)."""
    # Settling levels run windows of duration / 3, at most max_windows of them.
    measured_s = plan.duration_s * max(1.0, plan.max_windows / 3)
    level_s = plan.warmup_s + measured_s
    lines = [f"{check_requests} requests one at a time to check the answers"]
    if plan.users:
        users = ", ".join(map(str, plan.users))
        lines.append(
            f"closed loop at {users} concurrent users, {level_s:g} s each at most "
            f"({plan.warmup_s:g} s warm-up)"
        )
    for rate in plan.rates:
        lines.append(f"open loop at {rate:g} req/s for {level_s:g} s at most")
    if plan.slo:
        lines.append(
            f"an SLO search ({plan.slo.text}): at most {plan.slo_trials} rates, "
            f"{level_s:g} s each, raised while the SLO holds and halved when it does not"
        )
    return lines


def confirm_load(
    config: dict[str, Any], plan: LoadPlan, check_requests: int, console: Console
) -> None:
    urls = [u for u in (config["own_model"].get("naive_url"), config.get("triton_url")) if u]
    if not urls:
        return
    console.print(f"[bold]serving[/] the load each of {', '.join(urls)} will receive:")
    for line in describe_load(plan, check_requests):
        console.print(f"  - {line}", markup=False)
    remote = [u for u in urls if not is_loopback(u)]
    if not remote or config["own_model"].get("yes"):
        return
    if not sys.stdin.isatty():
        raise ConfigError(
            f"{', '.join(remote)} is not on this machine: infragap sends the load above to it "
            "only with --yes (or a typed yes when run from a terminal)"
        )
    answer = console.input(f"Send this load to {', '.join(remote)}? Type yes to go on: ")
    if answer.strip().lower() != "yes":
        raise ConfigError("not confirmed: nothing was sent")
