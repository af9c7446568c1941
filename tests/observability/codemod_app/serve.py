"""How the rewritten endpoint is deployed: logging to a file, a metrics exporter on its
own port, then the Flask app on loopback.

`python serve.py APP_DIR PORT METRICS_PORT {otel,prometheus} LOG_FILE`: imports
`predict_app` from APP_DIR. With otel, the global MeterProvider reads into
prometheus_client's default registry (PrometheusMetricReader), which is what
start_http_server exposes; with prometheus the histograms are already there.
"""

import logging
import sys

from prometheus_client import start_http_server

LOOPBACK = "127.0.0.1"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def main(app_dir: str, port: str, metrics_port: str, metrics: str, log_file: str) -> None:
    logging.basicConfig(filename=log_file, level=logging.INFO, format=LOG_FORMAT)
    if metrics == "otel":
        from opentelemetry import metrics as otel_metrics
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider

        provider = MeterProvider(metric_readers=[PrometheusMetricReader()])
        otel_metrics.set_meter_provider(provider)
    start_http_server(int(metrics_port), addr=LOOPBACK)
    sys.path.insert(0, app_dir)
    from predict_app import app

    app.run(host=LOOPBACK, port=int(port), threaded=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
