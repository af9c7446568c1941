"""The features suite's records, as the suite writes them and the report reads them."""

from __future__ import annotations

from infragap.reports.records import LevelRecord


class FeaturesLevel(LevelRecord):
    entities_per_s: float
