"""`infragap bench serving` on models and apps of the user's own, end to end: a TorchScript
CNN and an ONNX encoder (tiny) behind the naive app and Triton, a team's running service
driven through its own JSON, and an app benchmarked before and after `migrate apply
--rule flask-to-triton`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infragap.ports import free_port
from infragap.reports.schema import load

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "own_app"
SMALL = [
    *("--quick", "--users", "2", "--duration", "2", "--warmup", "1"),
    *("--max-windows", "0", "--load-processes", "1", "--calibrate", "never"),
]
TEMPLATE = ["--request-template", '{"features": "{{features}}"}', "--response-path", "scores"]
FEATURES_SPEC = {"inputs": [{"name": "features", "dtype": "float32", "shape": ["batch", 16]}]}


def bench(tmp_path: Path, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "infragap", "bench", "serving", *SMALL, *argv]
    command += ["--out", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if ok:
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    return done


def section_of(tmp_path: Path) -> dict:
    (path,) = (tmp_path / "out").glob("results-*.json")
    return load(path)["suites"]["serving"]


def assert_measured(section: dict, variants: list[str]) -> None:
    assert section["status"] == "complete", section.get("error")
    assert section["equivalence"]["passed"] is True
    assert list(section["equivalence"]["variants"]) == variants
    for name in variants:
        (level,) = section["variants"][name]["levels"]
        assert level["requests"] > 0 and level["failures"] == 0, level["failure_messages"]
    assert section["ceiling"]["rows_per_s"] > 0


def test_a_torchscript_cnn_and_an_onnx_encoder_are_served_and_measured(tmp_path):
    from infragap.workloads.own_model.examples import make_cnn, make_encoder

    cnn, spec = make_cnn(tmp_path / "models", "tiny", 1)
    bench(tmp_path / "cnn", "--model", str(cnn), "--model-spec", str(spec))
    section = section_of(tmp_path / "cnn")
    assert_measured(section, ["naive-reload", "naive-hoisted", "triton"])
    assert section["model"]["format"] == "torchscript"
    assert section["model"]["signature"]["outputs"][0]["shape"][0] == "batch"
    report = tmp_path / "cnn" / "report.html"
    (results,) = (tmp_path / "cnn" / "out").glob("results-*.json")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infragap",
            "report",
            str(results),
            "-o",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "The model" in report.read_text()

    encoder = make_encoder(tmp_path / "models", "tiny", 1)
    bench(tmp_path / "onnx", "--model", str(encoder), "--variants", "naive-hoisted,triton")
    section = section_of(tmp_path / "onnx")
    assert_measured(section, ["naive-hoisted", "triton"])
    assert section["model"]["signature_from"].startswith("the ONNX graph")


def start_fixture_app(repo: Path, port: int) -> subprocess.Popen[bytes]:
    """The fixture's app, started the way its team runs it: a service infragap did not start."""
    argv = [sys.executable, "-m", "flask", "--app", "app.py", "run", "--port", str(port)]
    app = subprocess.Popen(argv, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and app.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return app
        except OSError:
            time.sleep(0.2)
    app.kill()
    raise AssertionError("the fixture app did not start")


def fixture_repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    subprocess.run([sys.executable, "make_model.py"], cwd=repo, check=True)
    return repo


def test_your_running_service_is_the_naive_side_and_a_wrong_model_stops_the_run(tmp_path):
    repo = fixture_repository(tmp_path)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(FEATURES_SPEC))
    port = free_port()
    app = start_fixture_app(repo, port)
    try:
        url = f"http://127.0.0.1:{port}/predict"
        model = repo / "models" / "classifier.pt"
        common = ["--naive-url", url, "--model-spec", str(spec), *TEMPLATE]
        bench(tmp_path / "same", "--model", str(model), *common)
        assert_measured(section_of(tmp_path / "same"), ["your-endpoint", "triton"])

        other = tmp_path / "other.pt"
        subprocess.run([sys.executable, "-c", OTHER_MODEL, str(other)], check=True)
        done = bench(tmp_path / "other", "--model", str(other), *common, ok=False)
        assert done.returncode != 0
        assert "disagree" in done.stdout + done.stderr and "request 0" in done.stdout + done.stderr
        section = section_of(tmp_path / "other")
        assert section["equivalence"]["passed"] is False
        assert "variants" not in section
    finally:
        app.terminate()
        app.wait(timeout=10)


OTHER_MODEL = """
import sys, torch
torch.manual_seed(99)
m = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4)).eval()
torch.jit.script(m).save(sys.argv[1])
"""


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def test_an_app_is_benchmarked_before_and_after_its_migration(tmp_path):
    repo = fixture_repository(tmp_path)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the app as it ships")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infragap",
            "migrate",
            "apply",
            str(repo),
            "--rule",
            "flask-to-triton",
            "--write",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    generated = repo / "triton_models" / "classifier"
    # What the generated README asks of the user: the model file, and the TODO shapes.
    shutil.copyfile(repo / "models" / "classifier.pt", generated / "1" / "model.pt")
    config = (generated / "config.pbtxt").read_text()
    config = config.replace("dims: [ -1 ]", "dims: [ 16 ]").replace("dims: [ 1 ]", "dims: [ 4 ]")
    (generated / "config.pbtxt").write_text(config)

    bench(tmp_path, "--before-after", str(repo), *TEMPLATE)
    section = section_of(tmp_path)
    assert_measured(section, ["before-app", "triton", "after-app"])
    migration = section["migration"]
    assert "app.py" in migration["files"]
    assert "-    model = torch.jit.load(MODEL_PATH)" in migration["diff"]
    assert "b/triton_models/classifier/config.pbtxt" in migration["diff"]
