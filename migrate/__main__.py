"""`python -m infragap.migrate` runs the migrate CLI on its own."""

import sys

from infragap.migrate.cli import main

sys.exit(main())
