"""A naive model endpoint, as teams write it before they have metrics: the handler times
itself and writes the duration into a log line, and that line is all there is.

Fixture of test_codemod_closed_loop.py, which copies it, lets `infragap migrate apply
--rule timing-log-to-metrics` rewrite the copy and serves the result. The "model" is a
sum; `work_ms` in the body stands in for its inference time, so the test controls how
the latencies spread.
"""

import logging
import time

from flask import Flask, jsonify, request

logger = logging.getLogger("predict")
app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/predict")
def predict():
    start = time.perf_counter()
    body = request.get_json()
    rows = body["rows"]
    time.sleep(body["work_ms"] / 1000)  # the model's inference, in this fixture
    scores = [sum(row) for row in rows]
    logger.info(f"predict took {(time.perf_counter() - start) * 1000:.1f}ms for {len(rows)} rows")
    return jsonify(scores=scores)
