"""A real Prometheus: start it, query it, give it alert rules and a Grafana dashboard."""
