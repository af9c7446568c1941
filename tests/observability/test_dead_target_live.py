"""A scrape target that dies mid-run: the real Prometheus marks it down and the suite's
check names it with Prometheus's own error."""

from __future__ import annotations

import shutil
import time

import pytest

from infragap.ports import LOOPBACK, free_port
from infragap.processes import Supervisor
from infragap.proven.prometheus.query import PrometheusClient
from infragap.proven.prometheus.server import ScrapeTarget, start_prometheus
from infragap.suites.observability.answers_probe import ScrapeTargetDown, check_target_up

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="Debian's prometheus package is not installed (sudo apt-get install prometheus)",
    ),
]


def test_a_dead_target_is_named_with_the_scrape_error(tmp_path):
    dead = ScrapeTarget("otel", f"{LOOPBACK}:{free_port()}")  # nothing listens there
    with Supervisor(tmp_path / "logs") as supervisor:
        server = start_prometheus(supervisor, tmp_path, [dead])
        client = PrometheusClient(server.url)
        deadline = time.monotonic() + 20
        while not any(t.get("health") == "down" for t in client.targets()):
            assert time.monotonic() < deadline, client.targets()
            time.sleep(0.2)
        with pytest.raises(ScrapeTargetDown, match="cannot scrape otel") as raised:
            check_target_up(client, "otel")
        assert "connection refused" in str(raised.value)
