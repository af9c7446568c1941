"""Run mypy on every module under its import name: `python tools/typecheck.py [ROOT]`.

setup.py maps the top-level rooms (naive/, proven/, loadtests/, reports/, migrate/) into
`infragap.<room>` with `package_dir`, a mapping mypy does not read: checked as folders,
`naive/x.py` is the module `naive.x`, and every `import infragap.naive...` resolves to
nothing (Any), which hides most errors across rooms.

So this lays out, in ROOT/build/typecheck/ (ignored by git), the package as it is
installed: `infragap/` holds a symlink to each entry of the real `infragap/` folder and
one symlink per room. mypy follows the links, checks `-p infragap` there with the
project's [tool.mypy] config, and the paths it prints are turned back into the real
files (`infragap/naive/x.py` -> `naive/x.py`), so they stay clickable. The exit status
is mypy's.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# A mypy message starts with the file it is about: `path.py:12: error: ...`.
MESSAGE_PATH = re.compile(r"^(?P<path>[^:\s]+\.pyi?)(?P<rest>:.*)$")


def rooms(root: Path) -> list[str]:
    """The ROOMS list of setup.py, read without running setup()."""
    for node in ast.parse((root / "setup.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "ROOMS" for target in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise SystemExit(f"{root / 'setup.py'} has no ROOMS list: the rooms cannot be mapped")


def build_tree(root: Path, work: Path) -> None:
    """Lay out `work/infragap/` as the installed package, out of symlinks to `root`."""
    package = work / "infragap"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for entry in (root / "infragap").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry.resolve())
    for room in rooms(root):
        (package / room).symlink_to((root / room).resolve(), target_is_directory=True)


def real_path(line: str, root: Path, work: Path) -> str:
    """`line` with the tree's path it starts with replaced by the real file's."""
    match = MESSAGE_PATH.match(line)
    if not match:
        return line
    real = Path(os.path.realpath(work / match["path"]))
    if not real.is_relative_to(root):
        return line
    return f"{real.relative_to(root)}{match['rest']}"


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else ".").resolve()
    work = root / "build" / "typecheck"
    build_tree(root, work)
    command = [sys.executable, "-m", "mypy", "--config-file", str(root / "pyproject.toml")]
    with subprocess.Popen(
        [*command, "-p", "infragap"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as mypy:
        assert mypy.stdout is not None  # stdout=PIPE above
        for line in mypy.stdout:
            print(real_path(line.rstrip("\n"), root, work), flush=True)
    return mypy.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
