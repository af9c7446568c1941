"""flask-to-triton, live: the rewritten app answers like the naive one, through real Triton.

A naive ranking app is written as a small project, rewritten by the real CLI (never
imported by this process), and its generated model repository is served by the
tritonserver that the serving suite starts. Both apps then run as real Flask servers and
get the same seeded requests; the rewritten one must answer the same JSON, and Triton's
counters must show that every one of its answers came from Triton.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent
from typing import Any

import psutil
import pytest
import requests

from infragap.ports import free_port
from infragap.processes import Child, Supervisor, http_ok, wait_until
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import generate_requests, to_flask_json

pytestmark = pytest.mark.integration

SIZE = model_size("tiny")
MODEL = "ranker_live"  # not the name the rule would derive ("ranker"): the option is used

NAIVE_APP = dedent(
    """\
    import os

    import torch as th
    from flask import Flask, jsonify, request

    MODEL_PATH = os.environ.get("RANKER_PATH", "models/ranker.pt")
    app = Flask(__name__)


    @app.route("/health")
    def health():
        return jsonify({"ok": True})


    @app.route("/predict", methods=["POST"])
    def predict():
        payload = request.get_json(force=True)
        # loaded on every request
        model = th.jit.load(MODEL_PATH, map_location="cpu")
        model.eval()
        user_id = th.tensor(payload["user_id"], dtype=th.long)
        item_id = th.tensor(payload["item_id"], dtype=th.long)
        dense = th.tensor(payload["dense"], dtype=th.float32)
        with th.no_grad():
            score = model(user_id, item_id, dense)
        return jsonify({"scores": score.reshape(-1).tolist()})
    """
)


def write_project(root: Path, model_file: Path) -> Path:
    (root / "models").mkdir(parents=True)
    shutil.copyfile(model_file, root / "models" / "ranker.pt")
    (root / "app.py").write_text(NAIVE_APP)
    return root


def migrate(project: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "infragap", "migrate", "apply", str(project)]
    argv += ["--rule", "flask-to-triton", "--write", "--option", f"model_name={MODEL}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def put_model_where_readme_says(project: Path, repository: Path) -> Path:
    """Step 1 of the generated README: copy the file the app loaded to where Triton looks."""
    readme = (repository / MODEL / "README.md").read_text()
    found = re.search(r"Triton loads `([^`]+)` with `torch\.jit\.load`", readme)
    assert found, readme
    target = repository / found.group(1)
    shutil.copyfile(project / "models" / "ranker.pt", target)
    return target


@dataclass(frozen=True)
class App:
    child: Child
    url: str

    def wait_ready(self) -> None:
        wait_until(http_ok(f"{self.url}/health"), self.child, 60, self.child.name)

    def predict(self, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{self.url}/predict", json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def start_flask(supervisor: Supervisor, name: str, folder: Path, env: dict[str, str]) -> App:
    """`flask run` on folder/app.py: a real threaded server, as the app would be deployed."""
    port = free_port()
    argv = [sys.executable, "-m", "flask", "--app", "app", "run"]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    return App(supervisor.start(name, argv, env=env, cwd=folder), f"http://127.0.0.1:{port}")


@pytest.mark.timeout(180)
def test_rewritten_app_answers_like_the_naive_one_through_real_triton(
    tmp_path: Path, tiny_model_file: Path
) -> None:
    pytest.importorskip("pytriton")
    pytest.importorskip("tritonclient.http")
    from infragap.proven.triton.metrics import counter_deltas, scrape, triton_model_counters
    from infragap.proven.triton.server import start_triton

    project = write_project(tmp_path / "project", tiny_model_file)
    naive = shutil.copytree(project, tmp_path / "naive")

    done = migrate(project)
    assert done.returncode == 0, done.stdout + done.stderr
    rewritten = (project / "app.py").read_text()
    assert "th.jit.load" not in rewritten
    assert "triton_infer(user_id=user_id, item_id=item_id, dense=dense)" in rewritten
    assert (naive / "app.py").read_text() == NAIVE_APP
    repository = project / "triton_models"
    for name in ("config.pbtxt", "1/model.py", "README.md"):
        assert (repository / MODEL / name).is_file(), name
    assert put_model_where_readme_says(project, repository) == (
        repository / MODEL / "1" / "model.pt"
    )

    requests_ = generate_requests(SIZE, seed=3, count=6, rows=5)
    requests_ += generate_requests(SIZE, seed=4, count=2, rows=1)
    bodies = [to_flask_json(r) for r in requests_]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("TRITON_", "RANKER_"))}
    triton_port = free_port()
    app_env = {**base_env, "TRITON_URL": f"127.0.0.1:{triton_port}", "TRITON_MODEL": MODEL}
    pids: set[int] = set()
    with Supervisor(tmp_path / "logs") as supervisor:
        # Both apps start while Triton loads: the rewritten one needs Triton only per request.
        naive_app = start_flask(supervisor, "naive-flask", naive, base_env)
        rewritten_app = start_flask(supervisor, "rewritten-flask", project, app_env)
        triton = start_triton(
            supervisor, repository, model_name=MODEL, http_port=triton_port, start_timeout_s=120
        )
        naive_app.wait_ready()
        rewritten_app.wait_ready()
        assert triton.child is not None and triton.metrics_url is not None
        pids.update(p.pid for c in supervisor.children for p in c.process_tree())
        assert any("stub" in p.name() for p in triton.child.process_tree())

        before = triton_model_counters(scrape(triton.metrics_url), MODEL)
        expected = [naive_app.predict(body) for body in bodies]
        for body, want in zip(bodies, expected, strict=True):
            got = rewritten_app.predict(body)
            assert set(got) == set(want) == {"scores"}
            assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)

        # Flask serves each request on its own thread, so each makes its own client.
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(rewritten_app.predict, bodies))
        for got, want in zip(answers, expected, strict=True):
            assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)
        after = triton_model_counters(scrape(triton.metrics_url), MODEL)
        stats = counter_deltas(before, after)
        assert (stats.requests_succeeded, stats.requests_failed) == (2 * len(bodies), 0)
        assert triton.child.alive() and rewritten_app.child.alive()

    survivors = [p for p in psutil.process_iter(["pid", "cmdline"]) if _ours(p, pids, tmp_path)]
    assert not survivors, survivors


def _ours(process: psutil.Process, pids: set[int], tmp_path: Path) -> bool:
    try:
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = " ".join(process.info["cmdline"] or [])
    except psutil.Error:
        return False
    named = any(word in cmdline for word in ("tritonserver", "stub", "flask"))
    return process.pid in pids or (str(tmp_path) in cmdline and named)
