"""Locate the tritonserver bundled in nvidia-pytriton and build a private backend folder.

Triton loads each backend from `<backend-directory>/<name>/`. The wheel ships the Python
backend without a stub (it keeps one stub per Python version elsewhere), so we assemble
`<dest>/python/` from symlinks: the backend library, its utils module and the stub that
matches the running interpreter. Nothing is written into site-packages.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from infragap.errors import ConfigError, MissingDependency

BACKEND_NAME = "python"
STUB_NAME = "triton_python_backend_stub"
BACKEND_FILES = ("libtriton_python.so", "triton_python_backend_utils.py")


@dataclass(frozen=True)
class TritonDistribution:
    """Where the pieces of the pytriton-bundled Triton server lie."""

    root: Path  # .../site-packages/pytriton/tritonserver

    @property
    def server_binary(self) -> Path:
        return self.root / "bin" / "tritonserver"

    @property
    def libs_dir(self) -> Path:
        """The shared libraries the wheel vendors (libtritonserver, libcudart, ...)."""
        return self.root.parent.parent / "nvidia_pytriton.libs"

    @property
    def python_backend_dir(self) -> Path:
        return self.root / "backends" / BACKEND_NAME

    def stub(self, version: tuple[int, int]) -> Path:
        return self.root / "python_backend_stubs" / f"{version[0]}.{version[1]}" / STUB_NAME


def find_distribution() -> TritonDistribution:
    """The installed tritonserver; MissingDependency when nvidia-pytriton is absent."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("Triton (nvidia-pytriton)", "serving")
    dist = TritonDistribution(Path(next(iter(spec.submodule_search_locations))) / "tritonserver")
    if not dist.server_binary.is_file():
        raise ConfigError(
            f"nvidia-pytriton at {dist.root.parent} has no tritonserver binary "
            f"({dist.server_binary}): reinstall it with `pip install --force-reinstall "
            "'nvidia-pytriton>=0.7'` on Linux x86-64 or aarch64"
        )
    return dist


def default_backend_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infragap" / "triton-backends"


def prepare_backend_directory(
    dest: Path | None = None,
    dist: TritonDistribution | None = None,
    version: tuple[int, int] | None = None,
) -> Path:
    """A backend directory for `--backend-directory` holding `python/` for this interpreter.

    `dest` defaults to a folder in the user cache per Python version and install; calling
    this again refreshes the links (a pytriton upgrade moves the targets).
    """
    dist = dist or find_distribution()
    version = version or (sys.version_info[0], sys.version_info[1])
    # One folder per (interpreter version, install): two venvs must not re-point each other's links.
    install = hashlib.sha256(str(dist.root).encode()).hexdigest()[:10]
    dest = dest or default_backend_cache() / f"py{version[0]}.{version[1]}-{install}"
    stub = dist.stub(version)
    if not stub.is_file():
        raise ConfigError(
            f"nvidia-pytriton has no Python-backend stub for Python {version[0]}.{version[1]} "
            f"(looked for {stub}): run infragap under a Python that it ships a stub for "
            f"({', '.join(sorted(p.name for p in stub.parent.parent.iterdir()))})"
        )
    targets = {name: dist.python_backend_dir / name for name in BACKEND_FILES}
    targets[STUB_NAME] = stub
    python_dir = dest / BACKEND_NAME
    python_dir.mkdir(parents=True, exist_ok=True)
    for name, target in targets.items():
        _link(python_dir / name, target)
    return dest


def _link(link: Path, target: Path) -> None:
    """Point `link` at `target`, replacing atomically so a concurrent start never sees a gap."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)
