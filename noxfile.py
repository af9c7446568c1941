"""Developer sessions: `nox -s tests`, `nox -s bench`, `nox -s lint`."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

CONSTRAINTS = ("-c", "constraints.txt")
PYTHON = "3.11"


def install(session: nox.Session, extras: str) -> None:
    session.install(*CONSTRAINTS, "-e", f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit and integration tests (starts real Flask, Triton and Locust on loopback)."""
    install(session, "all,redis,test")
    session.run("pytest", *(session.posargs or ["-q", "-ra"]))


def debian_tools(session: nox.Session, packages: dict[str, str]) -> None:
    """Install the Debian packages whose command is missing (command -> package) when
    running as root with apt-get, as CI does; otherwise say the command to run."""
    missing = sorted(
        {package for command, package in packages.items() if not shutil.which(command)}
    )
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.warn(f"missing Debian packages: sudo apt-get install {' '.join(missing)}")
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True)
    session.run(
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        *missing,
        external=True,
        env=env,
    )
    # Debian's prometheus package may start its own server on 0.0.0.0:9090; ours binds
    # loopback on a free port, so stop that one.
    session.run("pkill", "-x", "prometheus", external=True, success_codes=[0, 1])


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The main job: `infragap bench` on the embedded defaults (pass args after --)."""
    install(session, "all")
    debian_tools(session, {"prometheus": "prometheus", "promtool": "prometheus"})
    session.run("infragap", "bench", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy on every module under its import name."""
    install(session, "all,lint,test")  # test: pytest, for the check of the type check
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # Not `mypy naive ...`: mypy cannot see setup.py's package_dir (see the script).
    session.run("python", "tools/typecheck.py")
    session.run("pytest", "-q", "tests/lint")
