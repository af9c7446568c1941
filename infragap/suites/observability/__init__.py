"""The observability pair: timing logs vs metrics scraped by a real Prometheus."""
