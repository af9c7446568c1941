"""The observability pair's proven side: the serving endpoint instrumented with
OpenTelemetry or prometheus_client, and the operator's questions answered with PromQL."""
