"""run_level against a throwaway loopback server that answers both wire formats."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from infragap.errors import LoadError
from infragap.loadtests.runner import LevelLoad, run_level
from infragap.loadtests.targets.ranking import write_requests_file
from infragap.ports import LOOPBACK, free_port
from infragap.processes import Supervisor, http_ok, wait_until
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import generate_requests

pytestmark = pytest.mark.integration

WARMUP_S = 2.0
DURATION_S = 3.0
USERS = 4
FAIL_EVERY = 5

# Answers POST /predict (Flask JSON) and POST /v2/models/<m>/infer (KServe v2) with one
# score per row; with a second argument K, every K-th request gets a 500 instead.
SERVER = r"""
import itertools, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
FAIL_EVERY = int(sys.argv[2]) if len(sys.argv) > 2 else 0
counter = itertools.count(1)
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body in two writes wait on delayed ACKs

    def log_message(self, *args):
        pass

    def send(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send(200, {"ok": True})

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            n = next(counter)
        if FAIL_EVERY and n % FAIL_EVERY == 0:
            self.send(500, {"error": "boom"})
        elif self.path == "/predict":
            self.send(200, {"scores": [0.5] * len(request["user_id"])})
        elif self.path.startswith("/v2/models/") and self.path.endswith("/infer"):
            rows = request["inputs"][0]["shape"][0]
            output = {"name": "score", "datatype": "FP32", "shape": [rows, 1], "data": [0.5] * rows}
            self.send(200, {"model_name": self.path.split("/")[3], "outputs": [output]})
        else:
            self.send(404, {"error": "no route"})


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
"""


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.json"
    write_requests_file(generate_requests(model_size("tiny"), seed=7, count=50, rows=4), path)
    return path


def start_server(supervisor: Supervisor, tmp_path: Path, fail_every: int = 0) -> str:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    child = supervisor.start("server", [sys.executable, str(script), str(port), str(fail_every)])
    host = f"http://{LOOPBACK}:{port}"
    wait_until(http_ok(f"{host}/health"), child, timeout_s=15, what="the test server")
    return host


def locust_pids(host: str) -> set[int]:
    pids = set()
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "locust" in cmdline and host in cmdline:
            pids.add(proc.pid)
    return pids


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    with Supervisor(tmp_path / "logs") as sup:
        yield sup


def level(supervisor: Supervisor, tmp_path: Path, host: str, target: str, requests_file: Path):
    return run_level(
        supervisor,
        target=target,
        host=host,
        users=USERS,
        warmup_s=WARMUP_S,
        duration_s=DURATION_S,
        requests_file=requests_file,
        work_dir=tmp_path / "work",
        target_option="ranker",
    )


def check_healthy(load: LevelLoad) -> None:
    assert load.users == USERS
    assert load.window_s == pytest.approx(DURATION_S)
    assert load.failures == 0, load.failure_messages
    assert load.failure_messages == {}
    assert len(load.latencies_ms) > 20
    assert all(isinstance(ms, float) and ms > 0 for ms in load.latencies_ms)
    # exact floats: Locust's own stats round to whole ms here, and to 2 digits above 100 ms
    assert any(ms != round(ms) for ms in load.latencies_ms)
    assert len(set(load.latencies_ms)) > len(load.latencies_ms) // 2
    assert len(load.throughput_per_s) == int(DURATION_S)
    assert all(count > 0 for count in load.throughput_per_s)
    # completions per second and starts in the window agree up to the requests in flight
    assert abs(sum(load.throughput_per_s) - len(load.latencies_ms)) <= 2 * USERS
    assert load.loadgen_cpu_peak >= load.loadgen_cpu_percent > 0


@pytest.mark.parametrize("target", ["flask", "kserve"])
def test_level_against_healthy_server(
    target: str, tmp_path: Path, requests_file: Path, supervisor: Supervisor
) -> None:
    host = start_server(supervisor, tmp_path)
    load = level(supervisor, tmp_path, host, target, requests_file)
    check_healthy(load)
    assert not locust_pids(host)


def test_failures_are_counted(tmp_path: Path, requests_file: Path) -> None:
    with Supervisor(tmp_path / "logs") as supervisor:
        host = start_server(supervisor, tmp_path, fail_every=FAIL_EVERY)
        load = level(supervisor, tmp_path, host, "flask", requests_file)
    assert not locust_pids(host)
    total = load.failures + len(load.latencies_ms)
    assert load.failures == pytest.approx(total / FAIL_EVERY, abs=USERS + 1)
    assert load.failure_messages == {"HTTP 500": load.failures}


def test_locust_failure_raises_with_its_log(tmp_path: Path, supervisor: Supervisor) -> None:
    missing = tmp_path / "no-such-requests.json"
    with pytest.raises(LoadError, match="exited with code") as info:
        run_level(
            supervisor,
            target="flask",
            host=f"http://{LOOPBACK}:{free_port()}",
            users=1,
            warmup_s=0,
            duration_s=1,
            requests_file=missing,
            work_dir=tmp_path / "work",
        )
    assert "no-such-requests.json" in str(info.value)
