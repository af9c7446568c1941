"""Imports every report section module so each registers itself in SECTIONS."""

from infragap.reports.sections import SECTIONS, section_for
from infragap.reports.sections import serving as _serving  # noqa: F401  (registers itself)

__all__ = ["SECTIONS", "section_for"]
