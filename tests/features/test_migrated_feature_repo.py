"""preprocessing-to-feast for real: the repository it writes for tests/fixtures/
legacy_features applies and materialises on the features pair's data, and the rewritten
code reads from Feast what the training copy computed, in training and in serving."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from infragap.migrate.cli import main as migrate

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_features"
FEATURES = ["activity_level", "purchase_rate", "weekly_share", "log_events", "is_buyer"]

# Runs in the migrated repository, as its own code would: the old and the new functions.
DRIVER = """
import json, sys
import pandas as pd
from training.build_dataset import add_features, add_features_from_feast
from serving.features import online_features, online_features_from_feast

activity = pd.read_parquet("data/user_activity.parquet")
add_features(activity).to_parquet("out/legacy_training.parquet")
add_features_from_feast(activity).to_parquet("out/feast_training.parquet")
latest = activity.sort_values("event_timestamp").groupby("user_id").tail(1)
latest = latest.sort_values("user_id").reset_index(drop=True)
latest.to_parquet("out/latest.parquet")
rows = latest.to_dict("records")
pd.DataFrame(online_features(rows)).to_parquet("out/legacy_serving.parquet")
pd.DataFrame(online_features_from_feast(rows)).to_parquet("out/feast_serving.parquet")
unknown = online_features_from_feast([{"user_id": -1}])
print(json.dumps({"unknown": pd.isna(unknown).tolist()}))
"""


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("feast")
    from infragap.proven.feast_repo.store import feast_cli, feast_env
    from infragap.proven.feast_repo.tables import activity_table
    from infragap.workloads.ecommerce import data_size, generate

    repo = Path(shutil.copytree(FIXTURE, tmp_path_factory.mktemp("legacy") / "repo"))
    data = generate(data_size("tiny"), seed=5)
    activity = activity_table(data.users, data.events, data.start, data.end)
    activity = activity.drop(columns="as_of_ts")
    (repo / "data").mkdir()
    activity.to_parquet(repo / "data" / "user_activity.parquet", index=False)
    argv = ["apply", str(repo), "--rule", "preprocessing-to-feast", "--write", "-j", "1"]
    assert migrate(argv) == 0
    env = {**feast_env(), "PYTHONPATH": str(repo)}
    env.pop("FEAST_REPO", None)
    feature_repo = repo / "feature_repo"
    _run(feast_cli(feature_repo, "apply"), repo, env)
    start = activity["event_timestamp"].min().strftime("%Y-%m-%dT%H:%M:%S")
    end = activity["event_timestamp"].max() + pd.Timedelta(seconds=1)  # the window ends open
    _run(feast_cli(feature_repo, "materialize", start, f"{end:%Y-%m-%dT%H:%M:%S}"), repo, env)
    (repo / "out").mkdir()
    done = _run([sys.executable, "-c", DRIVER], repo, env)
    out = {name: pd.read_parquet(repo / "out" / f"{name}.parquet") for name in _OUTPUTS}
    return SimpleNamespace(repo=repo, out=out, printed=json.loads(done.stdout.splitlines()[-1]))


_OUTPUTS = ("legacy_training", "feast_training", "latest", "legacy_serving", "feast_serving")


def test_training_reads_from_feast_what_the_training_copy_computed(migrated):
    legacy, feast = migrated.out["legacy_training"], migrated.out["feast_training"]
    assert len(feast) == len(legacy) > 1000
    assert list(feast.columns) == list(legacy.columns)
    assert (feast["user_id"].to_numpy() == legacy["user_id"].to_numpy()).all()
    assert (feast["event_timestamp"] == legacy["event_timestamp"]).all()
    for name in FEATURES:
        assert np.allclose(feast[name].astype(float), legacy[name].astype(float)), name


def test_serving_reads_the_training_values_and_the_drift_is_gone(migrated):
    latest = migrated.out["latest"]
    served = migrated.out["feast_serving"].to_numpy(dtype=float)
    trained = (
        migrated.out["legacy_training"]
        .merge(latest[["user_id", "event_timestamp"]], on=["user_id", "event_timestamp"])
        .sort_values("user_id")[FEATURES]
        .to_numpy(dtype=float)
    )
    assert served.shape == trained.shape and len(served) == latest["user_id"].nunique()
    assert np.allclose(served, trained)
    drifted = migrated.out["legacy_serving"].to_numpy(dtype=float)
    differ = ~np.isclose(drifted, trained).all(axis=1)
    assert 0 < differ.sum() < len(trained)  # the old serving copy disagreed for some users


def test_an_unknown_user_gets_features_of_missing_inputs_not_an_error(migrated):
    # What the training code makes of missing counts: NaN, except the 0/1 flag (NaN > 0).
    assert migrated.printed["unknown"] == [[True, True, True, True, False]]


def test_a_second_apply_changes_nothing(migrated):
    argv = ["apply", str(migrated.repo), "--rule", "preprocessing-to-feast", "--check"]
    assert migrate(argv) == 0
