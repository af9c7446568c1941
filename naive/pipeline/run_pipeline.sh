#!/usr/bin/env bash
# Daily training pipeline: extract -> preprocess -> train -> evaluate.
#
#   ./run_pipeline.sh                          # yesterday's data
#   ./run_pipeline.sh 2025-01-06 2025-01-07    # a backfill, one day after another
#
# The first failing step stops everything (set -e); fix the cause and run it again.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
RAW_DIR="${RAW_DIR:-/data/raw/events}"
WORK_DIR="${WORK_DIR:-/data/pipeline}"

if [ "$#" -gt 0 ]; then
    DATES=("$@")
else
    DATES=("$(date -u -d yesterday +%F)")
fi

for DATE in "${DATES[@]}"; do
    echo "[$(date -u +%T)] pipeline for $DATE"
    "$PYTHON" "$HERE/extract.py" --date "$DATE" --raw-dir "$RAW_DIR" --work-dir "$WORK_DIR"
    "$PYTHON" "$HERE/preprocess.py" --date "$DATE" --work-dir "$WORK_DIR"
    "$PYTHON" "$HERE/train.py" --date "$DATE" --work-dir "$WORK_DIR"
    "$PYTHON" "$HERE/evaluate.py" --date "$DATE" --work-dir "$WORK_DIR"
    echo "[$(date -u +%T)] done $DATE: $(cat "$WORK_DIR/metrics/date=$DATE/metrics.json" | tr -d '\n')"
done
