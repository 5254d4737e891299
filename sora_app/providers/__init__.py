"""Offline and remote implementations behind the pipeline stages."""
