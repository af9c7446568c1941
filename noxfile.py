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
    """ruff (lint + format check) and mypy."""
    install(session, "all,lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "infragap", "naive", "proven", "loadtests", "reports", "migrate")
