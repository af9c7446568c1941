"""Every report section, registered: importing this imports each section module."""

from infragap.registry import import_plugins
from infragap.reports.sections import SECTIONS, section_for

import_plugins("infragap.reports.sections")

__all__ = ["SECTIONS", "section_for"]
