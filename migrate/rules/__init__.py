"""The rule registry. Importing this package imports every module in it, so each rule
registers itself, then fills RULES in the order `base.RULE_ORDER` states; `apply` picks
which run and when (see `infragap.migrate.apply.select_rules`).
"""

from __future__ import annotations

from infragap.migrate.rules.base import (
    RULE_ORDER,
    RULES,
    Option,
    Options,
    Rule,
    fix_sources,
    fix_text,
    register_in_order,
    run_fix,
    run_fix_repository,
)
from infragap.registry import import_plugins

import_plugins("infragap.migrate.rules")
register_in_order()

__all__ = [
    "RULES",
    "RULE_ORDER",
    "Option",
    "Options",
    "Rule",
    "fix_sources",
    "fix_text",
    "run_fix",
    "run_fix_repository",
]
