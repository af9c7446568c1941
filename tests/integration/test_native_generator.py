"""run_native drives a real loopback endpoint with hey (and wrk, when installed)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from tiny_http import JsonHandler, serving

from infragap.loadtests.native import NativeGenerator, find_native, run_native
from infragap.processes import Supervisor

pytestmark = pytest.mark.integration

BODY = json.dumps({"inputs": [{"user": 7, "name": 'Zoë "q"'}]})
DURATION_S = 2.0


def generator(name: str) -> NativeGenerator:
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    found = find_native(lambda n: shutil.which(n) if n == name else None)
    assert found is not None and found.name == name
    return found


@pytest.mark.parametrize("name", ["hey", "wrk"])
def test_run_native_against_a_loopback_server(name, tmp_path, live_descendants):
    native = generator(name)
    before = live_descendants()
    with serving() as url, Supervisor(tmp_path / "logs") as supervisor:
        result = run_native(
            native,
            f"{url}/predict",
            BODY,
            {"Content-Type": "application/json", "X-Run": "calibration"},
            2,
            DURATION_S,
            Path(os.path.relpath(tmp_path / "work")),  # as the default --out is: relative
            supervisor,
        )
        assert supervisor.children == []
    assert live_descendants() <= before
    assert result.generator == name and result.concurrency == 2
    assert result.ok > 0 and result.errors == 0 and result.ok == result.requests
    assert result.p50_ms is not None and result.p99_ms is not None
    assert result.p50_ms <= result.p90_ms <= result.p99_ms  # type: ignore[operator]
    assert DURATION_S * 0.9 < result.duration_s < DURATION_S + 2
    assert JsonHandler.bodies and all(body == BODY.encode() for body in JsonHandler.bodies)
    if name == "hey":
        assert len(result.latencies_ms) == result.ok
