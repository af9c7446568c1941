"""Dataclasses' generated methods compiled once and cached (migrate/dataclass_cache.py).

Each case imports LibCST, hundreds of dataclasses, in a fresh interpreter: this one has
imported it already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

# Imports LibCST through the cache, then uses what the cached methods built: the
# generated __init__ (with defaults), __eq__, __repr__ and frozen __setattr__.
PROGRAM = textwrap.dedent(
    """
    import dataclasses, json, sys
    from pathlib import Path
    from infragap.migrate.dataclass_cache import compiled_once

    with compiled_once("test", Path(sys.argv[1])) as counts:
        import libcst as cst
    with compiled_once("test", Path(sys.argv[1])) as nothing_new:
        pass
    import libcst.metadata

    text = "def f(x, *, y=1):\\n    return x + y  # sum\\n"
    module = cst.parse_module(text)
    name = cst.Name("a")
    try:
        name.value = "b"
        frozen = False
    except dataclasses.FrozenInstanceError:
        frozen = True
    print(json.dumps({
        "found": counts.found,
        "compiled": counts.compiled,
        "round_trip": module.code == text,
        "equal": cst.metadata.CodePosition(1, 2) == cst.metadata.CodePosition(1, 2)
        and cst.metadata.CodePosition(1, 2) != cst.metadata.CodePosition(1, 3),
        "repr": repr(name),
        "frozen": frozen,
        "exec_left": hasattr(dataclasses, "exec"),
        "again": [nothing_new.found, nothing_new.compiled],
    }))
    """
)


def run(cache: Path, *, write: bool = True) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    flags = [] if write else ["-B"]
    done = subprocess.run(
        [sys.executable, *flags, "-c", PROGRAM, str(cache)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def assert_libcst_works(result: dict[str, object]) -> None:
    assert result["round_trip"] and result["equal"] and result["frozen"]
    assert "Name(" in str(result["repr"]) and "value='a'" in str(result["repr"])
    assert result["exec_left"] is False  # dataclasses is as it was
    assert result["again"] == [0, 0]  # a block that creates no dataclass


def test_the_first_import_compiles_and_the_next_finds_every_text(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "libcst.dataclasses"
    first = run(cache)
    assert first["found"] == 0 and int(first["compiled"]) > 100  # type: ignore[call-overload]
    assert cache.is_file()
    second = run(cache)
    assert second["found"] == first["compiled"] and second["compiled"] == 0
    assert_libcst_works(first)
    assert_libcst_works(second)


def test_a_damaged_cache_is_compiled_again_and_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "libcst.dataclasses"
    cache.write_bytes(b"not marshal data")
    damaged = run(cache)
    assert damaged["found"] == 0 and int(damaged["compiled"]) > 100  # type: ignore[call-overload]
    assert_libcst_works(damaged)
    assert run(cache)["compiled"] == 0


def test_no_cache_is_written_where_python_writes_no_bytecode(tmp_path: Path) -> None:
    cache = tmp_path / "libcst.dataclasses"
    assert_libcst_works(run(cache, write=False))
    assert not cache.exists()
