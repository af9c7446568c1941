"""Find the naive ML-infrastructure patterns in a legacy repository and rewrite them.

`scan` reports every pattern the toolkit knows; `apply` runs the codemods (LibCST, so
formatting and comments survive). Rules are plugins in `infragap.migrate.rules.RULES`.
The target repository is only ever read as text: never imported, never executed.
"""
