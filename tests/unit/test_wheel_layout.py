"""The rooms install inside the `infragap` namespace in a built wheel, not as top-level
modules such as `naive` or `reports`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("naive", "proven", "loadtests", "reports", "migrate")


def test_wheel_maps_rooms_into_infragap(tmp_path):
    pytest.importorskip("setuptools")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("infragap-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.endswith(".dist-info/")}
    assert tops <= {"infragap", next(n.split("/")[0] for n in names if ".dist-info/" in n)}
    for room in ROOMS:
        assert f"infragap/{room}/__init__.py" in names
    assert "infragap/naive/serving_app.py" in names
    assert "infragap/suites/serving/suite.py" in names
    for data_file in (
        "infragap/naive/pipeline/run_pipeline.sh",
        "infragap/suites/pipelines/timed_python.sh",
        "infragap/proven/airflow_dag/dags/training_pipeline.py",
        "infragap/reports/templates/report.j2",
    ):
        assert data_file in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "infragap = infragap.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
