"""A new pair is a set of new files: a toy pair living only under tests/toy_pair runs
through `infragap bench` and `infragap report` with no harness file edited for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

TOY = Path(__file__).resolve().parents[1] / "toy_pair"


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, INFRAGAP_PLUGINS="toy_pair")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOY), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "infragap", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


def test_a_toy_pair_runs_through_bench_and_report(tmp_path: Path) -> None:
    help_text = run("bench", "toy", "--help", cwd=tmp_path)
    assert help_text.returncode == 0, help_text.stderr
    assert "--toy-numbers" in help_text.stdout

    out = tmp_path / "out"
    bench = run(
        "bench", "toy", "--users", "1,2", "--duration", "2", "--warmup", "0.5",
        "--toy-numbers", "4", "--out", str(out), "--no-report", cwd=tmp_path,
    )  # fmt: skip
    assert bench.returncode == 0, bench.stderr[-3000:]
    (results,) = out.glob("results-*.json")
    doc = json.loads(results.read_text())
    toy = doc["suites"]["toy"]
    assert doc["complete"] is True and toy["status"] == "complete"
    assert set(toy["variants"]) == {"toy-slow", "toy-fast"}
    for variant in toy["variants"].values():
        assert [level["users"] for level in variant["levels"]] == [1, 2]
        for level in variant["levels"]:
            assert level["failures"] == 0, level["failure_messages"]
            assert level["requests"] == len(level["latencies_ms"]) > 0
            assert level["numbers_per_s"] == pytest.approx(level["throughput_rps"] * 4)
            assert level["server"]["cpu_s"] >= 0
    slow = toy["variants"]["toy-slow"]["levels"][0]["latency_ms"]["p50"]
    fast = toy["variants"]["toy-fast"]["levels"][0]["latency_ms"]["p50"]
    assert slow >= 20 and fast < slow  # the slow server sleeps 20 ms per request

    page = tmp_path / "report.html"
    report = run("report", str(results), "-o", str(page), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    html = page.read_text()
    assert "Toy: slow vs fast summing" in html
    assert "toy-fast sums faster than toy-slow" in html
