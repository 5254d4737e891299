"""Observability: Prometheus metrics, request ids, and the log format."""
