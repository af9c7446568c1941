"""The naive pipeline: four Python step scripts chained by a shell script.

The scripts are run as files (`python extract.py ...`), the way the team runs them, and
import their two helpers (`pipeline_io`, `injected_faults`) as sibling modules.
"""

from pathlib import Path

STEPS = ("extract", "preprocess", "train", "evaluate")
PIPELINE_DIR = Path(__file__).resolve().parent
RUN_SCRIPT = PIPELINE_DIR / "run_pipeline.sh"
