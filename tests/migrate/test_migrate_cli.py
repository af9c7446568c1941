"""The migrate CLI end to end, on a copy of tests/fixtures/legacy_repo and on bad files."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from infragap.migrate.cli import add_migrate_command, main

EXPECTED_FINDINGS = {
    "model-load-in-handler": 8,
    "timing-log-to-metrics": 5,
    "retry-loop-to-tenacity": 4,
    "shell-pipeline": 2,
    "duplicated-preprocessing": 4,
}
BAD_FILES = ("legacy/py2_report.py", "legacy/notes_latin1.py", "gen/ranking_pb2.py")


def _snapshot(root: Path) -> dict[str, str]:
    """Every regular file under root (links not followed) -> sha256 of its bytes."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _scan_json(repo: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["scan", str(repo), "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_scan_lists_every_pattern_in_the_fixture(legacy_repo, capsys):
    report = _scan_json(legacy_repo, capsys, "-j", "1")
    counts: dict[str, int] = {}
    for finding in report["findings"]:
        counts[finding["rule"]] = counts.get(finding["rule"], 0) + 1
        assert finding["why"] and finding["fix"] and finding["code"]
    assert counts == EXPECTED_FINDINGS
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == set(BAD_FILES)
    assert skipped["legacy/py2_report.py"].startswith("not valid Python")
    assert not any(f["path"].startswith(("venv/", "node_modules/")) for f in report["findings"])


def test_scan_gives_the_same_findings_with_two_processes(legacy_repo, capsys):
    one = _scan_json(legacy_repo, capsys, "-j", "1")
    two = _scan_json(legacy_repo, capsys, "-j", "2")
    assert one["findings"] == two["findings"] and one["skipped"] == two["skipped"]


def test_scan_text_says_what_why_and_how_to_fix(legacy_repo, capsys):
    assert main(["scan", str(legacy_repo), "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert (
        "serving/app.py:39:13: model-load-in-handler: predict() runs th.jit.load() on every request"
        in out
    )
    assert (
        "fix: infragap migrate apply --rule model-load-in-handler (safe), "
        "or --rule flask-to-triton (unsafe)"
    ) in out
    assert "fix: by hand: it depends on the handler argument `name`" in out
    assert "fix: infragap migrate apply --rule shell-to-airflow (unsafe)" in out
    assert "fix: by hand: shell-to-airflow reads shell scripts" in out


def test_scan_sarif_is_structurally_valid(legacy_repo, capsys, tmp_path):
    out = tmp_path / "report.sarif"
    assert main(["scan", str(legacy_repo), "--format", "sarif", "-o", str(out), "-j", "1"]) == 0
    log = json.loads(out.read_text())
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "infragap-migrate"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"].startswith("file://")
    assert len(run["results"]) == sum(EXPECTED_FINDINGS.values())
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert result["message"]["text"]
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "SRCROOT"
        assert not artifact["uri"].startswith("/") and (legacy_repo / artifact["uri"]).is_file()
        region = location["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert {n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes} == set(
        BAD_FILES
    )


def test_apply_diff_is_the_default_and_writes_nothing(legacy_repo, capsys):
    before = _snapshot(legacy_repo)
    assert main(["apply", str(legacy_repo), "-j", "1"]) == 0
    captured = capsys.readouterr()
    assert "--- a/serving/app.py\n+++ b/serving/app.py\n" in captured.out
    assert (
        "would change: serving/app.py (model-load-in-handler, timing-log-to-metrics)"
        in captured.err
    )
    assert _snapshot(legacy_repo) == before


def test_apply_check_write_then_nothing_left(legacy_repo, capsys):
    tool = legacy_repo / "training" / "utils.py"
    tool.chmod(0o755)
    before = _snapshot(legacy_repo)
    assert main(["apply", str(legacy_repo), "--check", "-j", "2"]) == 1
    assert _snapshot(legacy_repo) == before
    assert main(["apply", str(legacy_repo), "--write", "-j", "2"]) == 0
    err = capsys.readouterr().err
    assert "5 changed, 3 skipped, 0 failed" in err
    after = _snapshot(legacy_repo)
    changed = {path for path in before if after[path] != before[path]}
    assert changed == {
        "serving/api.py",
        "serving/app.py",
        "training/extract.py",
        "training/train.py",
        "training/utils.py",
    }
    for path in BAD_FILES:
        assert after[path] == before[path]
    assert stat.S_IMODE(tool.stat().st_mode) == 0o755
    for path in changed:
        compile((legacy_repo / path).read_text(), path, "exec")  # compiles; never runs
    assert main(["apply", str(legacy_repo), "--check", "-j", "1"]) == 0
    assert main(["apply", str(legacy_repo), "--write", "-j", "1"]) == 0
    assert _snapshot(legacy_repo) == after
    assert "0 changed" in capsys.readouterr().err


def test_apply_flask_to_triton_on_the_fixture(legacy_repo, capsys):
    assert main(["apply", str(legacy_repo), "--rule", "flask-to-triton", "--write"]) == 0
    err = capsys.readouterr().err
    assert "changed: serving/app.py (flask-to-triton)" in err
    repo = legacy_repo / "serving" / "triton_models" / "ranker"
    assert {p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()} == {
        "config.pbtxt",
        "1/model.py",
        "README.md",
    }
    app = (legacy_repo / "serving" / "app.py").read_text()
    compile(app, "app.py", "exec")
    compile((repo / "1" / "model.py").read_text(), "model.py", "exec")
    assert "score = triton_infer(user_id=user_id, item_id=item_id, dense=dense)" in app
    assert main(["apply", str(legacy_repo), "--rule", "flask-to-triton", "--check"]) == 0


def test_apply_shell_to_airflow_on_the_fixture(legacy_repo, capsys):
    pytest.importorskip("tree_sitter_bash")
    script = legacy_repo / "run_pipeline.sh"
    before = script.read_text()
    assert main(["apply", str(legacy_repo), "--rule", "shell-to-airflow", "--write"]) == 0
    err = capsys.readouterr().err
    assert "changed: run_pipeline.sh (shell-to-airflow)" in err
    assert "new: run_pipeline_dag.py" in err
    dag = (legacy_repo / "run_pipeline_dag.py").read_text()
    compile(dag, "run_pipeline_dag.py", "exec")
    for step in ("extract", "preprocess", "train", "evaluate"):
        assert f'"{step}",' in dag
    lines = script.read_text().splitlines(keepends=True)
    assert "".join(lines[:1] + lines[2:]) == before
    assert main(["apply", str(legacy_repo), "--rule", "shell-to-airflow", "--check"]) == 0
    report = _scan_json(legacy_repo, capsys, "-j", "1")
    shell = [f for f in report["findings"] if f["rule"] == "shell-pipeline"]
    assert [f["path"] for f in shell] == ["pipeline/run_all.py"]  # the script is migrated


def test_a_shell_script_that_does_not_parse_is_skipped_byte_for_byte(tmp_path, capsys):
    pytest.importorskip("tree_sitter_bash")
    broken = b"#!/bin/sh\npython a.py\nif [ -f x ]; then\npython b.py\n"
    (tmp_path / "run.sh").write_bytes(broken)
    assert main(["apply", str(tmp_path), "--rule", "shell-to-airflow", "--write"]) == 0
    reason = "skipped: run.sh: not valid shell: `fi` is missing: the if statement at line 3"
    assert reason in capsys.readouterr().err
    assert (tmp_path / "run.sh").read_bytes() == broken
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.sh"]


def test_without_the_shell_parser_apply_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    from infragap.migrate.shell import syntax

    syntax._parser.cache_clear()
    monkeypatch.setitem(sys.modules, "tree_sitter_bash", None)
    try:
        assert main(["apply", str(tmp_path), "--rule", "shell-to-airflow"]) == 2
    finally:
        syntax._parser.cache_clear()
    assert "tree-sitter-bash" in capsys.readouterr().err


def test_a_generated_file_never_overwrites_a_different_one(legacy_repo, capsys):
    config = legacy_repo / "serving" / "triton_models" / "ranker" / "config.pbtxt"
    config.parent.mkdir(parents=True)
    config.write_text("# hand-written\n")
    app = legacy_repo / "serving" / "app.py"
    before = app.read_bytes()
    assert main(["apply", str(legacy_repo), "--rule", "flask-to-triton", "--write"]) == 2
    assert "already exists and differs" in capsys.readouterr().err
    assert app.read_bytes() == before and config.read_text() == "# hand-written\n"


def test_bad_files_are_skipped_and_left_byte_for_byte(tmp_path, capsys):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    files = {
        "syntax.py": b"import time\nt0 = time.time(\nprint 'took', time.time() - t0\n",
        "latin1.py": "import time\nt0 = time.time()\nprint('dur\xe9e', time.time() - t0)\n".encode(
            "latin-1"
        ),
        "binary.py": b"\x00\x01import time\x00\xff" * 10,
        "good.py": b"import time\nt0 = time.time()\nprint('took', time.time() - t0)\n",
    }
    for name, data in files.items():
        (repo / name).write_bytes(data)
    (repo / "pkg" / "up").symlink_to(repo, target_is_directory=True)  # a loop
    (repo / "loop.py").symlink_to(repo / "loop.py")
    assert main(["apply", str(repo), "--write", "-j", "1"]) == 0
    err = capsys.readouterr().err
    for name in ("syntax.py", "latin1.py", "binary.py"):
        assert (repo / name).read_bytes() == files[name]
        assert f"skipped: {name}: " in err
    assert "skipped: pkg/up: symbolic link" in err and "skipped: loop.py: symbolic link" in err
    assert (repo / "good.py").read_bytes() != files["good.py"]
    assert main(["scan", str(repo), "-j", "1"]) == 0


def test_the_target_repository_is_never_imported(tmp_path, capsys):
    marker = tmp_path / "IMPORTED"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nimport time\nt = time.time()\n"
        "print(time.time() - t)\n"
    )
    assert main(["scan", str(repo), "-j", "2"]) == 0
    assert main(["apply", str(repo), "--write", "-j", "2"]) == 0
    assert not marker.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["apply", ".", "--rule", "nope"], "unknown migrate rule 'nope'"),
        (["apply", ".", "--rule", "shell-pipeline"], "only reports"),
        (["apply", ".", "--option", "metrics=statsd"], "choose one of otel, prometheus"),
        (["apply", ".", "--option", "model_name=x"], "unknown option 'model_name'"),
        (["scan", "does/not/exist"], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_the_fix(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_list_and_the_main_cli_hook(capsys):
    parser = argparse.ArgumentParser(prog="infragap")
    add_migrate_command(parser.add_subparsers())
    args = parser.parse_args(["migrate", "list"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    for rule in EXPECTED_FINDINGS:
        assert rule in out
    assert "flask-to-triton" in out and "unsafe" in out
    args = parser.parse_args(["migrate"])
    assert args.func(args) == 2


def test_without_libcst_the_commands_say_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "libcst", None)  # makes `import libcst` fail
    assert main(["list"]) == 2
    assert "pip install 'infragap[migrate]'" in capsys.readouterr().err


def test_importing_the_cli_does_not_import_libcst():
    code = "import sys, infragap.migrate.cli; print('libcst' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_reader_that_leaves_early_gets_no_traceback():
    # `infragap migrate list | head -1`: the pipe closes before we are done writing
    command = [sys.executable, "-m", "infragap", "migrate", "list"]
    listing = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert listing.stdout is not None and listing.stderr is not None
    listing.stdout.close()
    errors = listing.stderr.read().decode()
    assert listing.wait(timeout=60) == 128 + 13  # as a shell reports SIGPIPE
    assert "Traceback" not in errors
