import sys

from infragap.cli import main

sys.exit(main())
