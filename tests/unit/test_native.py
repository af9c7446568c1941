"""The native generators' parsers on their real output, commands, record, supervised run."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from infragap.errors import ConfigError, LoadError
from infragap.loadtests.native import (
    NativeGenerator,
    NativeResult,
    calibration_record,
    find_native,
    native_command,
    parse_hey_csv,
    parse_wrk,
    require_native,
    run_native,
    wrk_script,
)
from infragap.processes import Supervisor

CAPTURED = Path(__file__).parents[1] / "fixtures" / "native"
HEY = NativeGenerator("hey", "/usr/bin/hey", "0.1.4-2+b4")
WRK = NativeGenerator("wrk", "/usr/bin/wrk", "debian/4.1.0-3+b2")


def captured(name: str) -> str:
    return (CAPTURED / name).read_text(encoding="utf-8")


def test_hey_csv_gives_exact_percentiles_and_the_span_of_the_run():
    result = parse_hey_csv(captured("hey-ok.csv"), concurrency=2, version="0.1.4")
    assert (result.generator, result.version, result.concurrency) == ("hey", "0.1.4", 2)
    assert result.requests == result.ok == 100 and result.failures == {}
    assert result.status_codes == {"200": 100}
    assert result.duration_s == pytest.approx(1.0056)  # last start 1.0051 + its 0.5 ms
    assert result.rps == pytest.approx(100 / 1.0056)
    assert len(result.latencies_ms) == 100
    ordered = sorted(result.latencies_ms)
    assert result.p50_ms == ordered[49] == 0.6  # nearest rank: the 50th of 100
    assert result.p90_ms == ordered[89]
    assert result.p99_ms == ordered[98] == 5.5


def test_hey_bad_statuses_are_failures_and_not_in_the_percentiles():
    result = parse_hey_csv(captured("hey-503.csv"), concurrency=2)
    assert (result.requests, result.ok, result.errors) == (40, 0, 40)
    assert result.failures == {"status 503": 40}
    assert result.p50_ms is None and result.p99_ms is None and result.rps == 0


def test_hey_mixed_statuses_and_stray_lines():
    lines = captured("hey-ok.csv").splitlines()
    mixed = [
        "some warning hey printed on stderr",
        lines[0],
        "0.0100,0.0000,0.0000,0.0000,0.0100,0.0000,200,0.0000",
        "0.0200,0.0000,0.0000,0.0000,0.0200,0.0000,500,0.0100",
        "0.0300,0.0000,0.0000,0.0000,0.0300,0.0000,200,0.5000",
        "not,a,number,line,at,all,x,y",
    ]
    result = parse_hey_csv("\n".join(mixed), concurrency=1)
    assert (result.requests, result.ok) == (3, 2)
    assert result.status_codes == {"200": 2, "500": 1}
    assert result.failures == {"status 500": 1}
    assert result.latencies_ms == (10.0, 30.0)
    assert result.duration_s == pytest.approx(0.53)


def test_hey_refused_leaves_only_the_header():
    result = parse_hey_csv(captured("hey-refused.csv"), concurrency=2)
    assert (result.requests, result.ok, result.errors, result.duration_s) == (0, 0, 0, 0)
    assert any("refused" in note for note in result.notes)


def test_hey_without_csv_is_a_load_error():
    with pytest.raises(LoadError, match="no CSV"):
        parse_hey_csv("flag provided but not defined: -zz\nUsage: hey ...", 2)


def test_wrk_summary_with_latency_distribution():
    result = parse_wrk(captured("wrk-ok.txt"), concurrency=4, version="4.1.0")
    assert (result.generator, result.concurrency) == ("wrk", 4)
    assert (result.requests, result.ok, result.failures) == (29139, 29139, {})
    assert result.duration_s == pytest.approx(2.00)
    assert result.rps == pytest.approx(29139 / 2.00)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (0.224, 1.16, 4.16)
    assert result.latencies_ms == ()


def test_wrk_non_2xx_and_socket_timeouts_are_failures():
    bad = parse_wrk(captured("wrk-503.txt"), concurrency=4)
    assert (bad.requests, bad.ok, bad.failures) == (39755, 0, {"status >= 400": 39755})
    assert bad.p99_ms is None
    slow = parse_wrk(captured("wrk-timeout.txt"), concurrency=2)
    assert (slow.requests, slow.ok, slow.failures) == (2, 0, {"socket timeout": 2})


def test_wrk_units_in_minutes_and_seconds():
    text = (
        "  Latency Distribution\n     50%    1.50s\n     90%    2.00s\n     99%    1.00m\n"
        "  600 requests in 1.00m, 1.00MB read\n"
        "  Socket errors: connect 1, read 2, write 0, timeout 0\n"
    )
    result = parse_wrk(text, concurrency=1)
    assert result.duration_s == 60 and result.ok == 600
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (1500, 2000, 60000)
    assert result.failures == {"socket connect": 1, "socket read": 2}


def test_wrk_that_could_not_connect_is_a_load_error():
    with pytest.raises(LoadError, match="unable to connect"):
        parse_wrk(captured("wrk-refused.txt"), concurrency=4)


def test_hey_command_posts_the_body_file_with_the_headers(tmp_path):
    body = tmp_path / "body.json"
    argv = native_command(HEY, "http://127.0.0.1:9/predict", {"X-Key": "v"}, 32, 2.5, body)
    assert argv[0] == "/usr/bin/hey" and argv[-1] == "http://127.0.0.1:9/predict"
    text = " ".join(argv)
    for part in ("-z 2500ms", "-c 32", "-o csv", "-m POST", f"-D {body}", "-T application/json"):
        assert part in text
    assert argv[argv.index("-H") + 1] == "X-Key: v"
    custom = native_command(HEY, "http://x/", {"content-type": "text/json"}, 1, 1, body)
    assert custom[custom.index("-T") + 1] == "text/json" and "-H" not in custom


def test_wrk_command_runs_whole_seconds_with_its_script(tmp_path):
    script = tmp_path / "post.lua"
    argv = native_command(WRK, "http://127.0.0.1:9/", {}, 32, 2.5, tmp_path / "b", script)
    text = " ".join(argv)
    assert "-c 32" in text and "-d 3s" in text and "--latency" in text
    assert f"-s {script}" in text and "--timeout 30s" in text
    threads = int(argv[argv.index("-t") + 1])
    assert 1 <= threads <= 32
    with pytest.raises(ValueError):
        native_command(WRK, "http://127.0.0.1:9/", {}, 1, 1, tmp_path / "b")


def lua_decode(literal: str) -> bytes:
    """A Lua "..." literal of the kind wrk_script writes, back to its bytes."""
    assert literal.startswith('"') and literal.endswith('"')
    inner = literal[1:-1]
    assert '"' not in inner and "\n" not in inner
    return re.sub(rb"\\(\d{3})", lambda m: bytes([int(m.group(1))]), inner.encode())


def test_wrk_script_carries_any_body_and_headers_exactly():
    body = '{"name": "Zoë \\"quoted\\"", "lines": "a\\nb", "lua": "]]--"}\n'
    script = wrk_script(body, {"X-Token": 'a"b'})
    assigned = dict(re.findall(r"^(wrk\.\S+) = (.*)$", script, flags=re.M))
    assert assigned["wrk.method"] == '"POST"'
    assert lua_decode(assigned["wrk.body"]) == body.encode()
    assert lua_decode(assigned['wrk.headers["Content-Type"]']) == b"application/json"
    assert lua_decode(assigned['wrk.headers["X-Token"]']) == b'a"b'


def test_find_native_prefers_hey_then_wrk():
    on_path = {"hey": "/opt/hey", "wrk": "/opt/wrk"}
    found = find_native(on_path.get)
    assert found is not None and (found.name, found.path) == ("hey", "/opt/hey")
    only_wrk = find_native({"wrk": "/opt/wrk"}.get)
    assert only_wrk is not None and only_wrk.name == "wrk"
    assert find_native(lambda name: None) is None


def test_require_native_says_how_to_install_one():
    assert require_native({"wrk": "/opt/wrk"}.get).name == "wrk"
    with pytest.raises(LoadError, match="apt-get install hey"):
        require_native(lambda name: None)


def native(rps_ok: int, p99: float | None) -> NativeResult:
    return NativeResult(
        generator="hey",
        version="0.1.4",
        concurrency=32,
        duration_s=1.0,
        requests=rps_ok + 2,
        ok=rps_ok,
        p50_ms=10.0,
        p90_ms=20.0,
        p99_ms=p99,
        failures={"status 503": 2},
        notes=("a note",),
    )


def test_calibration_record_gives_both_figures_and_ours_over_native():
    record = calibration_record(native(2155, 36.0), 1507.0, 45.0, 32, "triton")
    assert record["variant"] == "triton" and record["users"] == 32
    assert record["generator"] == "hey" and record["generator_version"] == "0.1.4"
    assert record["native_rps"] == 2155 and record["ours_rps"] == 1507
    assert record["native_errors"] == 2 and record["native_requests"] == 2157
    assert record["ratio"] == round(1507 / 2155, 4)
    assert record["p99_ratio"] == round(45 / 36, 4)
    assert record["native_notes"] == ["a note"]


def test_calibration_record_without_native_figures_has_no_ratios():
    record = calibration_record(native(0, None), 100.0, None, 8, "naive-hoisted")
    assert record["ratio"] is None and record["p99_ratio"] is None


def fake_generator(tmp_path: Path, output: str, code: int = 0) -> NativeGenerator:
    """A stand-in executable that prints `output` and exits with `code`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "out.txt").write_text(output)
    script = tmp_path / "fake-hey"
    script.write_text(f'#!/bin/sh\ncat {tmp_path / "out.txt"}\necho "$@" >&2\nexit {code}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return NativeGenerator("hey", str(script))


def test_run_native_supervises_the_generator_and_parses_its_log(tmp_path):
    generator = fake_generator(tmp_path, captured("hey-ok.csv"))
    with Supervisor(tmp_path / "logs") as supervisor:
        result = run_native(
            generator, "http://127.0.0.1:9/p", '{"x": 1}', {}, 2, 1.0, tmp_path / "w", supervisor
        )
        assert supervisor.children == []
    assert result.ok == 100
    assert (tmp_path / "w" / "hey-body").read_text() == '{"x": 1}'
    log = (tmp_path / "logs" / "hey-c2.log").read_text()
    assert "-D " in log and "http://127.0.0.1:9/p" in log


def test_run_native_failures_say_why(tmp_path):
    crashed = fake_generator(tmp_path / "a", "dial tcp: connection refused", code=1)
    refused = fake_generator(tmp_path / "b", captured("hey-refused.csv"))
    with Supervisor(tmp_path / "logs") as supervisor:
        args = ("http://127.0.0.1:9/", "{}", {}, 2, 1.0, tmp_path / "w", supervisor)
        with pytest.raises(LoadError, match=r"(?s)exited with code 1.*connection refused"):
            run_native(crashed, *args)
        with pytest.raises(LoadError, match=r"no successful request.*no response"):
            run_native(refused, *args)
        gone = NativeGenerator("hey", str(tmp_path / "no-such-hey"))
        with pytest.raises(LoadError, match=r"cannot run .*no-such-hey.*apt-get install hey"):
            run_native(gone, *args)
        with pytest.raises(ConfigError, match="at least 1 connection"):
            run_native(refused, "http://127.0.0.1:9/", "{}", {}, 0, 1.0, tmp_path, supervisor)
