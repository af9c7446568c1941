"""Errors of the migrate room; all derive from the one infragap root."""

from infragap.errors import InfragapError


class MigrateError(InfragapError):
    """The migration cannot run at all (bad PATH, unwritable file, unknown option)."""
