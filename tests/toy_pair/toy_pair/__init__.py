"""A whole toy pair, defined outside infragap: a suite, its two endpoints, a load target
and a report section. `INFRAGAP_PLUGINS=toy_pair` (with this folder's parent on
PYTHONPATH) makes `infragap bench toy` and `infragap report` find it; no harness file
knows about it. tests/integration/test_toy_pair.py runs it."""

from toy_pair import section, suite, target

__all__ = ["section", "suite", "target"]
