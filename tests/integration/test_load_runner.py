"""run_level against a throwaway loopback server that answers both wire formats."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from infragap.errors import LoadError
from infragap.loadtests.arrivals import Arrivals
from infragap.loadtests.runner import LevelLoad, LevelSpec, run_level
from infragap.loadtests.steady import SteadyRule
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
DELAY_S = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.0
THREADED = len(sys.argv) <= 4 or sys.argv[4] != "serial"
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
        if DELAY_S:
            import time
            time.sleep(DELAY_S)
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


from http.server import HTTPServer
(ThreadingHTTPServer if THREADED else HTTPServer)(("127.0.0.1", PORT), Handler).serve_forever()
"""


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.json"
    write_requests_file(generate_requests(model_size("tiny"), seed=7, count=50, rows=4), path)
    return path


def start_server(
    supervisor: Supervisor,
    tmp_path: Path,
    fail_every: int = 0,
    delay_ms: float = 0.0,
    serial: bool = False,
) -> str:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    argv = [sys.executable, str(script), str(port), str(fail_every), str(delay_ms)]
    argv.append("serial" if serial else "threaded")
    child = supervisor.start("server", argv)
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
        spec=LevelSpec(USERS, WARMUP_S, DURATION_S),
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
    assert load.loadgen_cores  # the CPUs the generator could run on, recorded


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
            spec=LevelSpec(1, 0, 1),
            requests_file=missing,
            work_dir=tmp_path / "work",
        )
    assert "no-such-requests.json" in str(info.value)


def test_open_loop_keeps_its_schedule_on_a_server_with_room(
    tmp_path: Path, requests_file: Path, supervisor: Supervisor
) -> None:
    host = start_server(supervisor, tmp_path, delay_ms=5)
    spec = LevelSpec(8, 1.0, DURATION_S, Arrivals("poisson", 60.0, seed=3))
    load = run_level(
        supervisor,
        target="flask",
        host=host,
        spec=spec,
        requests_file=requests_file,
        work_dir=tmp_path / "open",
    )
    assert load.failures == 0, load.failure_messages
    # a seeded Poisson schedule: about 60 sends per second, none of them held back
    assert 0.6 * 60 * DURATION_S < load.sends < 1.4 * 60 * DURATION_S
    assert load.backlogged_sends == 0
    assert min(load.latencies_ms) >= 5.0  # counted from the intended send time


def test_open_loop_shows_the_queue_a_closed_loop_hides(
    tmp_path: Path, requests_file: Path, supervisor: Supervisor
) -> None:
    """Coordinated omission: a server that answers one request per 50 ms, offered twice
    what it serves, builds a queue the open loop measures and one closed user never sees."""
    host = start_server(supervisor, tmp_path, delay_ms=50, serial=True)
    common = {"target": "flask", "host": host, "requests_file": requests_file}
    closed = run_level(
        supervisor, spec=LevelSpec(1, 0.5, DURATION_S), work_dir=tmp_path / "c", **common
    )
    opened = run_level(
        supervisor,
        spec=LevelSpec(4, 0.5, DURATION_S, Arrivals("constant", 40.0)),
        work_dir=tmp_path / "o",
        **common,
    )
    closed_p99 = max(closed.latencies_ms)
    assert closed_p99 < 500
    assert opened.backlogged_sends > 0
    assert max(opened.latencies_ms) > 3 * closed_p99
    # sends still queued when the level ended count as failed, not as never scheduled
    assert any(message.startswith("not sent") for message in opened.failure_messages)


def test_steady_state_windows_are_reported(
    tmp_path: Path, requests_file: Path, supervisor: Supervisor
) -> None:
    host = start_server(supervisor, tmp_path)
    spec = LevelSpec(2, 0.5, 0.0, steady=SteadyRule(window_s=1.0, max_windows=5))
    load = run_level(
        supervisor,
        target="flask",
        host=host,
        spec=spec,
        requests_file=requests_file,
        work_dir=tmp_path / "steady",
    )
    assert load.settled is not None
    assert 3 <= len(load.windows) <= 5
    assert load.window_s == pytest.approx(3.0)  # the last three windows are the level
    assert all(rps > 0 for rps, _ in load.windows)


@pytest.mark.parametrize("arrivals", [None, Arrivals("constant", 80.0)])
def test_workers_split_the_stream_and_report_to_the_master(
    arrivals: Arrivals | None, tmp_path: Path, requests_file: Path, supervisor: Supervisor
) -> None:
    """Locust's master and two workers: every latency reaches the master's log, and
    together the workers send each request of the stream once, in the same order."""
    host = start_server(supervisor, tmp_path)
    spec = LevelSpec(4, 0.5, 2.0, arrivals, processes=2)
    load = run_level(
        supervisor,
        target="flask",
        host=host,
        spec=spec,
        requests_file=requests_file,
        work_dir=tmp_path / "dist",
    )
    assert load.failures == 0, load.failure_messages
    assert len(load.latencies_ms) > 20
    if arrivals is not None:
        assert 0.8 * 160 <= load.sends <= 1.2 * 160  # 80/s for 2 s, from both workers
    assert (tmp_path / "dist" / "worker.env").read_text().count("INFRAGAP_LOAD_") >= 5
    assert not locust_pids(host)


def test_workers_that_never_connect_are_a_clear_error(
    tmp_path: Path, requests_file: Path, supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infragap.loadtests import runner

    monkeypatch.setattr(runner, "WORKERS_MAX_WAIT_S", 2)
    host = start_server(supervisor, tmp_path)
    with pytest.raises(LoadError, match="--load-expect-workers"):
        run_level(
            supervisor,
            target="flask",
            host=host,
            spec=LevelSpec(2, 0.5, 1.0, remote_workers=1),
            requests_file=requests_file,
            work_dir=tmp_path / "alone",
        )
    assert not locust_pids(host)
