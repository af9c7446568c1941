"""The rule registry. Importing this package registers every rule; `apply` orders the
ones it runs itself (see `infragap.migrate.apply.select_rules`).
"""

from __future__ import annotations

from infragap.migrate.rules import (  # noqa: F401 - imported to register the rules
    duplicated_preprocessing,
    flask_to_triton,
    model_load,
    preprocessing_to_feast,
    retry_tenacity,
    shell_pipeline,
    shell_to_airflow,
    timing_metrics,
)
from infragap.migrate.rules.base import (
    RULES,
    Option,
    Options,
    Rule,
    fix_sources,
    fix_text,
    run_find,
    run_fix,
    run_fix_repository,
)

__all__ = [
    "RULES",
    "Option",
    "Options",
    "Rule",
    "fix_sources",
    "fix_text",
    "run_find",
    "run_fix",
    "run_fix_repository",
]
