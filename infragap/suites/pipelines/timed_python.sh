#!/usr/bin/env bash
# Stands in for `python` when the harness runs the naive script: runs the real
# interpreter and appends one JSON line per step (script, date, start, end, exit code)
# to $PIPELINE_TIMING_LOG. The shell script has no run record of its own; this is ours.
LC_ALL=C
start=$EPOCHREALTIME
"$PIPELINE_REAL_PYTHON" "$@"
rc=$?
end=$EPOCHREALTIME
step=$(basename "$1" .py)
day=""
prev=""
for arg in "$@"; do
    if [ "$prev" = "--date" ]; then day=$arg; fi
    prev=$arg
done
printf '{"step": "%s", "date": "%s", "start": %s, "end": %s, "exit_code": %d}\n' \
    "$step" "$day" "$start" "$end" "$rc" >> "$PIPELINE_TIMING_LOG"
exit $rc
