"""The Executor protocol: how a committed job row gets a worker, whatever runs it.

Two implementations, chosen by SORA_JOB_EXECUTOR: `thread` (the embedded default: daemon
threads in each server process over SQLite) and `celery` (worker hosts fed by a broker).
Both claim with the same conditional UPDATE and run the same `runner.run_job`, so the
row stays the truth and a duplicate delivery can never run a job twice.
"""

from __future__ import annotations

from typing import Any, Protocol

from flask import Flask

EXTENSION_KEY = "sora_executor"


class Executor(Protocol):
    """What the rest of the app may ask of an executor; nothing uses the concrete types."""

    def start(self) -> None:
        """Begin taking jobs in this process (threads) or connect to the broker (Celery)."""
        ...

    def submit(self, job_id: str) -> None:
        """Hand over a job whose row is already committed as queued; never raises.

        A lost hand-over only delays the job: the periodic maintenance re-submits queued
        jobs nobody took, and the claim makes a second delivery harmless.
        """
        ...

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop, giving running jobs in this process `timeout` seconds to be handed back."""
        ...

    def shutdown_soon(self, timeout: float = 10.0) -> None:
        """shutdown() without blocking: for a signal handler that must return at once."""
        ...

    def health(self) -> dict[str, Any]:
        """The /health "workers" check: at least {"ok": bool}."""
        ...


def create_executor(app: Flask) -> Executor:
    """The configured executor, not started (Celery workers use it only to re-submit)."""
    if app.config.get("JOB_EXECUTOR", "thread") == "celery":
        from .celery_executor import CeleryExecutor

        return CeleryExecutor(app)
    from .thread_executor import ThreadExecutor

    return ThreadExecutor(app)


def start_executor(app: Flask) -> Executor:
    """Start this process's executor once; the server entry point calls this, the CLI doesn't."""
    existing = app.extensions.get(EXTENSION_KEY)
    if existing is not None:
        return existing
    executor = create_executor(app)
    app.extensions[EXTENSION_KEY] = executor
    executor.start()
    return executor


def get_executor(app: Flask) -> Executor | None:
    return app.extensions.get(EXTENSION_KEY)
