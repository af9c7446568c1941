"""Every suite, registered: importing this module imports each suite module."""

from infragap.registry import import_plugins
from infragap.suites.base import SUITES

import_plugins("infragap.suites")

__all__ = ["SUITES"]
