"""Prometheus start-up plumbing without a server: configuration, command line, version
checks and the errors for a missing or old binary."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from infragap.errors import ConfigError
from infragap.processes import Supervisor
from infragap.proven.prometheus.server import (
    ScrapeTarget,
    check_version,
    parse_version,
    prometheus_argv,
    prometheus_config,
    require_tool,
    start_prometheus,
    yaml_text,
)

DEBIAN_VERSION = (
    "prometheus, version 2.42.0+ds (branch: debian/sid, revision: 2.42.0+ds-5+deb12u1)\n"
    "  build user:       team+pkg-go@tracker.debian.org\n"
)


def test_config_scrapes_every_second_and_evaluates_rules_as_often(tmp_path):
    targets = [ScrapeTarget("proven", "127.0.0.1:8000"), ScrapeTarget("triton", "[::1]:8002")]
    config = prometheus_config(targets, [tmp_path / "rules.yml"])
    assert config["global"] == {
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "evaluation_interval": "1s",
    }
    assert config["rule_files"] == [str(tmp_path / "rules.yml")]
    assert config["scrape_configs"][1] == {
        "job_name": "triton",
        "metrics_path": "/metrics",
        "static_configs": [{"targets": ["[::1]:8002"]}],
    }


def test_duplicate_job_names_are_refused():
    with pytest.raises(ConfigError, match="repeated: a"):
        prometheus_config([ScrapeTarget("a", "h:1"), ScrapeTarget("a", "h:2")])


@pytest.mark.parametrize("address", ["127.0.0.1", "http://h:80", "h:0", "h:70000", "h: 80"])
def test_scrape_target_must_be_host_port(address):
    with pytest.raises(ConfigError, match="host:port"):
        ScrapeTarget("job", address)


def test_metrics_path_must_be_absolute():
    with pytest.raises(ConfigError, match="must start with '/'"):
        ScrapeTarget("job", "h:1", "metrics")


def test_yaml_text_reads_back_as_the_same_data():
    yaml = pytest.importorskip("yaml")
    data = {
        "groups": [
            {
                "name": "g: with colon",
                "rules": [{"expr": 'a{b="c"} > 0.25', "for": "1s", "labels": {}, "x": []}],
            }
        ],
        "weird key": ["# not a comment", True, None, 3, 1.5, "{{ $value }}\n"],
    }
    assert yaml.safe_load(yaml_text(data)) == data


def test_argv_binds_loopback_and_uses_our_files(tmp_path):
    argv = prometheus_argv("/usr/bin/prometheus", tmp_path / "p.yml", tmp_path / "data", 9999)
    assert "--web.listen-address=127.0.0.1:9999" in argv
    assert f"--config.file={tmp_path / 'p.yml'}" in argv
    assert f"--storage.tsdb.path={tmp_path / 'data'}" in argv


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (DEBIAN_VERSION, (2, 42, 0)),
        ("prometheus, version 3.1.0 (branch: HEAD, revision: abc)", (3, 1, 0)),
        ("promtool, version 2.30.3 (branch: HEAD)", (2, 30, 3)),
    ],
)
def test_parse_version(text, version):
    assert parse_version(text) == version


def test_unreadable_version_is_a_clear_error():
    with pytest.raises(ConfigError, match="cannot read the version"):
        parse_version("usage: something else\n")


def test_old_version_is_refused_with_the_reason():
    check_version((2, 30, 0))
    check_version((3, 0, 0))
    with pytest.raises(ConfigError, match=r"2\.24\.1 is too old: infragap needs 2\.30 or newer"):
        check_version((2, 24, 1))


def test_missing_binary_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"sudo apt-get install prometheus"):
        require_tool("promtool")
    with pytest.raises(ConfigError, match=r"prometheus is not installed"):
        start_prometheus(Supervisor(tmp_path / "logs"), tmp_path, [])


def fake_binary(folder: Path, name: str, version_line: str) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_too_old_prometheus_is_refused_before_it_starts(monkeypatch, tmp_path):
    fake_binary(tmp_path, "prometheus", "prometheus, version 2.24.1+ds (branch: debian/sid)")
    monkeypatch.setenv("PATH", str(tmp_path))
    supervisor = Supervisor(tmp_path / "logs")
    with pytest.raises(ConfigError, match="too old"):
        start_prometheus(supervisor, tmp_path, [])
    assert supervisor.children == []


@pytest.mark.parametrize("number", [1e-05, 1e20, -2.5e-7, 0.1, 3.0, 1e16])
def test_floats_read_back_as_floats(number):
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(yaml_text({"x": number})) == {"x": number}


def test_a_value_yaml_cannot_hold_is_refused():
    with pytest.raises(TypeError, match="nan"):
        yaml_text({"x": float("nan")})
