"""tools/typecheck.py sees a type error in every room, under the room's import name.

Checked as folders, mypy resolved `infragap.naive`, `infragap.reports`, ... to Any and
missed most errors across rooms; this plants one in each room of a copy of the tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each room's folder and its import name; each plant reads from the next room.
ROOMS = {
    "infragap": "infragap",
    "naive": "infragap.naive",
    "proven": "infragap.proven",
    "loadtests": "infragap.loadtests",
    "reports": "infragap.reports",
    "migrate": "infragap.migrate",
}
PLANT = "planted_type_error.py"
PLANTED_LINE = 3


def copy_tree(target: Path) -> None:
    for name in ("setup.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, target / name)
    for folder in ROOMS:
        shutil.copytree(
            ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__")
        )


def plant(target: Path) -> None:
    """In each room a module reading a name the next room's planted module lacks."""
    folders = list(ROOMS)
    for folder, after in zip(folders, folders[1:] + folders[:1], strict=True):
        other = f"{ROOMS[after]}.{Path(PLANT).stem}"
        (target / folder / PLANT).write_text(f"import {other}\n\nMISSING = {other}.no_such_name\n")


def test_a_type_error_in_any_room_fails_the_check(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    copy_tree(tmp_path)
    plant(tmp_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "typecheck.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for folder in ROOMS:
        where = f"{folder}/{PLANT}:{PLANTED_LINE}: error:"
        assert any(line.startswith(where) and '"no_such_name"' in line for line in lines), (
            f"{where} not reported:\n{result.stdout}"
        )
