"""An output location infragap cannot use: refused before any server starts with the cause
and the fix; a save that fails mid-run stops the run and keeps the last good file."""

from __future__ import annotations

import argparse
import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from infragap import atomic, output
from infragap.bench import BenchRun, run_suites
from infragap.cli import main
from infragap.errors import OutputError, ResultsSaveError
from infragap.loadtests.targets.features import write_feature_requests
from infragap.loadtests.targets.ranking import write_requests_file
from infragap.output import check_output_folder, recover_abandoned_results
from infragap.reports.schema import WRITER_GONE, load, new_document
from infragap.suites.base import BenchContext, ResultsRecorder
from infragap.workloads.ranking_requests import RankingRequest


def _disk_full(*args: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_path_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match=r"notes\.txt is a file, not a folder: pass --out"):
        check_output_folder(tmp_path / "notes.txt" / "results")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match=r"Permission denied .* make the folder writable"):
            check_output_folder(folder / "results")
    finally:
        folder.chmod(0o755)


def test_a_full_disk_is_refused_and_the_probe_removed(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(output.os, "write", _disk_full)
    with pytest.raises(OutputError, match=r"No space left on device .ENOSPC.: free some space"):
        check_output_folder(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_too_little_free_space_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"MB free on the disk holding .* at least"):
        check_output_folder(tmp_path, min_free_bytes=1 << 62)
    check_output_folder(tmp_path / "fine")  # the default threshold passes here


def test_the_cli_says_why_before_starting_anything(tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "out"
    assert main(["bench", "serving", "--out", str(out), "--no-report"]) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps to the terminal
    assert "is a file, not a folder" in err and "Traceback" not in err


def test_a_failed_save_keeps_the_last_good_file(tmp_path, monkeypatch) -> None:
    recorder = ResultsRecorder(tmp_path / "results.json", new_document({"id": "x"}))
    recorder.save()
    good = recorder.path.read_bytes()
    recorder.doc["complete"] = True
    monkeypatch.setattr(atomic.os, "fsync", _disk_full)
    with pytest.raises(ResultsSaveError, match=r"No space left.*last good copy is kept"):
        recorder.save()
    assert recorder.path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_request_files_are_never_left_partial(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(atomic.os, "fsync", _disk_full)
    with pytest.raises(OSError, match="No space"):
        write_requests_file([RankingRequest([1], [2], [[0.0]])], tmp_path / "requests.json")
    with pytest.raises(OSError, match="No space"):
        write_feature_requests([[1, 2]], 0, tmp_path / "features.json")
    assert list(tmp_path.iterdir()) == []


class _SavesTwice:
    """A suite that starts a child, saves one level, then saves again (the disk is full)."""

    name = "fake"
    description = "fake"

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.child_pid = 0

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        argv = [sys.executable, "-c", "import time; time.sleep(60)"]
        self.child_pid = ctx.supervisor.start("server", argv).pid
        section["levels"] = [1]
        ctx.results.save()
        self.monkeypatch.setattr(atomic.os, "fsync", _disk_full)
        section["levels"].append(2)
        ctx.results.save()


def test_a_save_failing_mid_run_stops_the_run_and_its_children(tmp_path, monkeypatch) -> None:
    args = argparse.Namespace(out=tmp_path)
    suite = _SavesTwice(monkeypatch)
    run = BenchRun(args, Console(quiet=True), suites=[("fake", suite)], run_dir=tmp_path / "run")
    doc = new_document({"id": "x"})
    doc["suites"]["fake"] = {"status": "pending", "error": None}
    run.results = ResultsRecorder(tmp_path / "results.json", doc)
    with pytest.raises(ResultsSaveError, match="No space left"):
        run_suites(run)
    assert subprocess.run(["kill", "-0", str(suite.child_pid)], capture_output=True).returncode
    saved = json.loads(run.results.path.read_text())
    assert saved["suites"]["fake"]["levels"] == [1]


def _document(writer: dict[str, Any] | None) -> dict[str, Any]:
    doc = new_document({"id": "x"})
    if writer is not None:
        doc["run"]["writer"] = writer
    doc["suites"]["serving"] = {"status": "running", "error": None}
    doc["suites"]["features"] = {"status": "complete", "error": None}
    return doc


def _dead_writer() -> dict[str, Any]:
    import socket

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return {"pid": gone.pid, "process_started": 0.0, "hostname": socket.gethostname()}


def test_a_file_left_running_by_a_dead_writer_reads_as_interrupted(tmp_path: Path) -> None:
    from infragap.environment import this_writer

    cases = {"dead": _dead_writer(), "alive": this_writer(), "old": None}
    for name, writer in cases.items():
        atomic.write_json_atomically(tmp_path / f"results-{name}.json", _document(writer))
    dead = load(tmp_path / "results-dead.json")
    assert dead["suites"]["serving"] == {"status": "incomplete", "error": WRITER_GONE}
    assert dead["suites"]["features"]["status"] == "complete"
    for name in ("alive", "old"):  # still running, or a file from before `writer`
        assert load(tmp_path / f"results-{name}.json")["suites"]["serving"]["status"] == "running"

    # `infragap bench` repairs such files in its output folder, once.
    assert recover_abandoned_results(tmp_path) == [(tmp_path / "results-dead.json", ["serving"])]
    on_disk = json.loads((tmp_path / "results-dead.json").read_text())
    assert on_disk["suites"]["serving"]["error"] == WRITER_GONE
    assert recover_abandoned_results(tmp_path) == []
