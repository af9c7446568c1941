"""The options for your own model and endpoint are checked before anything starts, and a
URL off this machine gets the load only after it is shown and confirmed."""

from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest
from rich.console import Console

from infragap.errors import ConfigError
from infragap.loadtests.slo import parse_slo
from infragap.suites.levels import LoadPlan, add_load_arguments
from infragap.suites.serving.before_after import (
    build_before_tree,
    find_migration,
    generated_signature,
    record_migration,
)
from infragap.suites.serving.safety import confirm_load, describe_load, is_loopback
from infragap.suites.serving.suite import ServingSuite


def parse(tmp_path: Path, *argv: str) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path)
    add_load_arguments(parser)
    ServingSuite().add_arguments(parser)
    return ServingSuite().config(parser.parse_args(list(argv)))


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "cnn.pt"
    path.write_bytes(b"only the servers read it")
    return path


def test_a_model_of_your_own_gets_its_own_variants(tmp_path, model):
    config = parse(tmp_path, "--model", str(model))
    assert config["variants"] == ["naive-reload", "naive-hoisted", "triton"]
    assert config["own_model"]["format"] == "torchscript"
    assert "model_size" not in config
    url = parse(
        tmp_path,
        "--model",
        str(model),
        "--naive-url",
        "http://127.0.0.1:9/score",
        "--request-template",
        '{"x": "{{image}}"}',
        "--response-path",
        "scores",
    )
    assert url["variants"] == ["your-endpoint", "triton"]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--model", "missing.onnx"], "does not exist"),
        (["--naive-url", "http://127.0.0.1:9/"], "--naive-url needs --model"),
        (["--model", "MODEL", "--naive-url", "http://127.0.0.1:9/"], "--request-template"),
        (["--model", "MODEL", "--response-path", "a"], "go with --naive-url"),
        (["--model", "MODEL", "--variants", "naive-batched"], "naive-batched"),
        (["--model", "MODEL", "--tolerance", "-1"], "--tolerance"),
        (
            [
                "--model",
                "MODEL",
                "--naive-url",
                "ftp://x/",
                "--request-template",
                "{}",
                "--response-path",
                "a",
            ],
            "not an http",
        ),
        (
            [
                "--model",
                "MODEL",
                "--naive-url",
                "http://127.0.0.1:9/",
                "--request-template",
                '{"x": 1}',
                "--response-path",
                "a",
            ],
            "names no input",
        ),
        (["--model", "MODEL", "--requests", "nowhere.jsonl"], "--requests nowhere.jsonl"),
    ],
)
def test_bad_options_say_what_is_wrong(tmp_path, model, argv, words):
    argv = [str(model) if a == "MODEL" else a for a in argv]
    with pytest.raises(ConfigError, match=words):
        parse(tmp_path, *argv)


def plan(**kw) -> LoadPlan:
    return LoadPlan(users=[1, 8], warmup_s=5, duration_s=15, requests_file=Path("r"), **kw)


def test_the_load_is_described_before_it_is_sent():
    lines = describe_load(plan(rates=[50.0], slo=parse_slo("p99=100ms"), slo_trials=6), 32)
    text = "\n".join(lines)
    assert "32 requests" in text and "1, 8 concurrent users, 20 s each" in text
    assert "open loop at 50 req/s" in text and "at most 6 rates" in text


@pytest.mark.parametrize(
    "url, local",
    [
        ("http://127.0.0.1:8000/x", True),
        ("http://localhost/x", True),
        ("http://[::1]:80/", True),
        ("http://10.0.0.5/", False),
        ("https://models.example.com/score", False),
    ],
)
def test_loopback_urls_are_told_apart(url, local):
    assert is_loopback(url) is local


def test_a_remote_url_needs_yes_and_nothing_is_sent_without_it(monkeypatch):
    console = Console(file=io.StringIO(), width=200)
    config = {"own_model": {"naive_url": "http://10.1.2.3/score", "yes": False}}
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(ConfigError, match="only with --yes"):
        confirm_load({**config, "triton_url": None}, plan(), 32, console)
    assert "10.1.2.3" in console.file.getvalue() and "20 s each" in console.file.getvalue()
    config["own_model"]["yes"] = True
    confirm_load({**config, "triton_url": None}, plan(), 32, console)
    local = {"own_model": {"naive_url": "http://127.0.0.1:5000/", "yes": False}}
    confirm_load({**local, "triton_url": None}, plan(), 32, console)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_before_after_finds_the_migration_and_rebuilds_the_app_as_it_was(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("BEFORE = 1\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "app")
    with pytest.raises(ConfigError, match="no migration to compare"):
        find_migration(repo)
    (repo / "app.py").write_text("AFTER = 1\n")
    model_dir = repo / "triton_models" / "clf"
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "config.pbtxt").write_text(
        dedent(
            """\
            # Generated by `infragap migrate apply --rule flask-to-triton`.
            name: "clf"
            input [
              {
                name: "features"
                data_type: TYPE_FP32
                dims: [ 16 ]
              }
            ]
            output [
              {
                name: "logits"
                data_type: TYPE_FP32
                dims: [ -1 ]  # TODO(infragap): one value per row assumed
              }
            ]
            """
        )
    )
    with pytest.raises(ConfigError, match=r"model\.pt is missing"):
        find_migration(repo)
    (model_dir / "1" / "model.pt").write_bytes(b"weights")
    found = find_migration(repo)
    assert found["entry"] == "app.py" and found["triton_model"] == "clf"
    signature = generated_signature(Path(found["config_pbtxt"]), "torchscript")
    assert [(t.name, t.dims) for t in signature.inputs] == [("features", (16,))]
    assert signature.outputs[0].dims == ("?",)
    before = build_before_tree(found, tmp_path / "before")
    assert (before / "app.py").read_text() == "BEFORE = 1\n"
    assert not (before / "triton_models").exists() and not (before / ".git").exists()
    record = record_migration(found)
    assert "-BEFORE = 1" in record["diff"] and "+AFTER = 1" in record["diff"]
    assert "b/triton_models/clf/config.pbtxt" in record["diff"]
    assert "model.pt (7 bytes, not shown)" in record["diff"]
