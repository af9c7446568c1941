"""Developer sessions: `nox -s tests`, `nox -s bench`, `nox -s lint`."""

from __future__ import annotations

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


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The main job: `infragap bench` on the embedded defaults (pass args after --)."""
    install(session, "all")
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
