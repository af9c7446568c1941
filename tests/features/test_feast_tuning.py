"""How Feast's online path is set up: the on-demand view's two modes agree value for
value, `feast serve` gets the tuned flags, and the suite records the configuration."""

from __future__ import annotations

import importlib.util
import itertools
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from infragap.errors import ConfigError
from infragap.proven.feast_repo.repository import FeatureRepo, definitions_source
from infragap.proven.feast_repo.tuning import FeastTuning

YEAR_S = 31_557_600
NOW = 1_700_000_000
# Birth times around each bucket edge, unknown users (None, and NaN as a float column
# has them) and a birth after the request (a negative age).
BIRTHS: list[Any] = [
    NOW - edge * YEAR_S + delta for edge in (18, 25, 35, 45, 55, 65) for delta in (-1, 0, 1)
] + [None, math.nan, NOW + YEAR_S, NOW - 80 * YEAR_S]


def suite_config(*options: str) -> dict[str, Any]:
    from infragap.cli import build_parser
    from infragap.suites.features.suite import FeaturesSuite

    args = build_parser().parse_args(["bench", "features", "--quick", *options])
    return FeaturesSuite().config(args)


def user_age_udf(mode: str, folder: Path) -> Any:
    """The transformation of user_age as the repository written in `mode` defines it."""
    pytest.importorskip("feast")
    path = folder / f"features_{mode}.py"
    path.write_text(definitions_source(mode), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # Feast reads the view's source from the file
    assert module.user_age.mode == mode
    return module.user_age.feature_transformation.udf


def test_python_and_pandas_user_age_agree(tmp_path):
    import pandas as pd

    python_buckets = user_age_udf("python", tmp_path)(
        {"birth_ts": list(BIRTHS), "request_ts": [NOW] * len(BIRTHS)}
    )["age_bucket"]
    frame = pd.DataFrame({"birth_ts": BIRTHS, "request_ts": NOW})
    pandas_buckets = user_age_udf("pandas", tmp_path)(frame)["age_bucket"]
    assert [None if pd.isna(b) else int(b) for b in pandas_buckets] == python_buckets
    assert python_buckets[:3] == [1, 1, 0]  # one second short of 18 is still under 18
    # Historical retrieval hands the python version birth times as floats (and None).
    floats = [None if b is None else float(b) for b in BIRTHS]
    python = user_age_udf("python", tmp_path)
    assert python({"birth_ts": floats, "request_ts": [NOW] * len(BIRTHS)}) == {
        "age_bucket": python_buckets
    }
    assert python_buckets[-4:] == [None, None, 0, 6]


def test_definitions_source_sets_the_mode_line():
    assert 'USER_AGE_MODE = "pandas"' in definitions_source("pandas")
    assert 'USER_AGE_MODE = "python"' in definitions_source("python")
    with pytest.raises(ConfigError, match="python, pandas"):
        definitions_source("substrait")


def test_tuning_checks_and_round_trips():
    tuning = FeastTuning(odfv_mode="pandas", typechecks=True, workers=2)
    assert FeastTuning(**tuning.record()) == tuning
    with pytest.raises(ConfigError, match="python, pandas"):
        FeastTuning(odfv_mode="numpy")
    with pytest.raises(ConfigError, match="--feast-workers"):
        FeastTuning(workers=0)


def test_serve_gets_the_tuned_flags_and_environment(monkeypatch):
    from infragap.proven.feast_repo.server import serve_argv, serve_env

    monkeypatch.setenv("PYTHONOPTIMIZE", "1")
    repo = FeatureRepo(Path("/tmp/repo"), "sqlite", None)  # type: ignore[arg-type]
    tuning = FeastTuning()
    argv = serve_argv(repo, 6566, tuning)
    flags = dict(itertools.pairwise(argv))
    assert flags["--registry_ttl_sec"] == "300" and flags["--keep-alive-timeout"] == "30"
    assert flags["--workers"] == "1"
    assert serve_env(tuning)["PYTHONOPTIMIZE"] == "1"
    assert "PYTHONOPTIMIZE" not in serve_env(replace(tuning, typechecks=True))
    assert serve_env(tuning)["FEAST_USAGE"] == "False"


def test_suite_records_the_feast_configuration():
    default = suite_config()["feast_config"]
    assert default == FeastTuning().record()
    assert default["odfv_mode"] == "python" and default["typechecks"] is False
    before = suite_config(
        "--feast-odfv-mode", "pandas", "--feast-typechecks", "on", "--feast-workers", "3"
    )["feast_config"]
    assert before == FeastTuning(odfv_mode="pandas", typechecks=True, workers=3).record()
    with pytest.raises(ConfigError, match="--feast-workers"):
        suite_config("--feast-workers", "0")
