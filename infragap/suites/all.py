"""Imports every suite module so each registers itself in SUITES."""

from infragap.suites.base import SUITES
from infragap.suites.serving import suite as _serving  # noqa: F401  (registers itself)

__all__ = ["SUITES"]
