"""The suite's options, and that the CLI starts without the heavy pipeline dependencies."""

import subprocess
import sys

import pytest

from infragap.cli import build_parser
from infragap.errors import ConfigError
from infragap.suites.all import SUITES


def config(*argv: str) -> dict:
    args = build_parser().parse_args(["bench", "pipelines", *argv])
    return SUITES.get("pipelines").config(args)


def test_quick_defaults_are_small_and_options_override_them():
    quick = config("--quick")
    assert (quick["runs"], quick["backfill_dates"], quick["data_size"]) == (4, 3, "small")
    assert quick["fault_rate"] == 0.2 and quick["retries"] == 2
    chosen = config("--pipelines-runs", "7", "--fault-rate", "0.5", "--pipelines-retry-delay", "0")
    assert (chosen["runs"], chosen["fault_rate"], chosen["retry_delay_s"]) == (7, 0.5, 0.0)


@pytest.mark.parametrize(
    "argv",
    [
        ["--fault-rate", "1"],
        ["--fault-rate", "-0.1"],
        ["--pipelines-runs", "0"],
        ["--pipelines-dates", "1"],
        ["--pipelines-retries", "-1"],
    ],
)
def test_bad_options_fail_with_a_config_error(argv):
    with pytest.raises(ConfigError):
        config(*argv)


def test_cli_start_up_does_not_import_airflow_pandas_or_sklearn():
    code = (
        "import sys\n"
        "from infragap.cli import build_parser\n"
        "build_parser()\n"
        "heavy = [m for m in ('airflow', 'pandas', 'sklearn', 'pyarrow') if m in sys.modules]\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
