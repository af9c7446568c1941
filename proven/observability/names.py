"""The metric and label names the instrumented endpoint writes and the answers read.

A module of its own so that answering (PromQL, no torch or Flask) does not import the
serving app.
"""

from __future__ import annotations

HISTOGRAM = "model_inference_duration_ms"
# The base name Prometheus stores, per metrics variant: the OTel exporter appends the
# instrument's unit (`ms`, written `milliseconds`) as the OTel-to-Prometheus
# compatibility spec says; prometheus_client keeps the name it is given.
PROMETHEUS_HISTOGRAM = {
    "otel": f"{HISTOGRAM}_milliseconds",
    "prometheus-client": HISTOGRAM,
}
VARIANT_LABEL = "variant"
STATUS_LABEL = "status"
LABELS = (VARIANT_LABEL, STATUS_LABEL)
