"""Sends due webhooks: a sender thread per process (woken when a job ends), and the
maintenance pass as the safety net that finds what any process left behind.

Works under both executors: the process that ends a job (a worker thread, or a Celery
worker) wakes its own sender at once; after a restart, or for a job ended elsewhere (a
queued job cancelled, a worker lost), the next maintenance pass finds the due rows in the
table. Retries wait 5 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h (or the receiver's
Retry-After), up to SORA_WEBHOOK_MAX_ATTEMPTS attempts.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time

from flask import Flask

from ..extensions import db
from . import webhook_outbox as outbox
from .backoff import Backoff
from .webhook_send import Outcome, attempt
from .webhook_settings import allow_list, secret_of
from .webhook_tables import DELIVERED, FAILED, PENDING, WebhookDelivery

log = logging.getLogger(__name__)

SCHEDULE = (5.0, 30.0, 120.0, 600.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0)
"""Wait after the 1st, 2nd, … failed attempt (the last one repeats)."""
JITTER = 0.1
"""Up to this fraction is added to each wait, so a receiver back from an outage is not hit
by every retry in the same second."""
RETRY_STATUSES = frozenset({408, 409, 429})
"""4xx answers that mean "later", not "never"."""
MAX_RETRY_AFTER = 24 * 3600.0
BATCH = 20
"""Deliveries one pass attempts at most (the rest wait for the next)."""
IDLE_SECONDS = 60.0
"""A sender with retries scheduled looks at the table at least this often."""
EXTENSION_KEY = "sora_webhook_sender"
_create_lock = threading.Lock()


def next_wait(outcome: Outcome, attempts: int, max_attempts: int) -> float | None:
    """Seconds until the next attempt, or None when this delivery is over (either way)."""
    code = outcome.status_code
    if outcome.delivered or outcome.refused or attempts >= max_attempts:
        return None
    if code is not None and 300 <= code < 500 and code not in RETRY_STATUSES:
        return None  # a redirect or a refusal: the same request will get the same answer
    wait = SCHEDULE[min(attempts, len(SCHEDULE)) - 1] * (1 + random.random() * JITTER)
    if outcome.retry_after is not None:
        wait = max(wait, min(outcome.retry_after, MAX_RETRY_AFTER))
    return wait


def deliver_due(app: Flask, now: float | None = None, limit: int = BATCH) -> list[str]:
    """Attempt every delivery due at `now` (tests pass their clock); the ids attempted."""
    sender = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    timeout = float(app.config["WEBHOOK_TIMEOUT_SECONDS"])
    lease = max(60.0, 3 * timeout)
    attempted: list[str] = []
    with app.app_context():
        clock = time.time() if now is None else now
        for delivery_id in outbox.due_ids(clock, limit):
            if outbox.claim(delivery_id, sender, clock, lease):
                attempted.append(delivery_id)
                _deliver(app, delivery_id, sender, now)
    return attempted


def _deliver(app: Flask, delivery_id: str, sender: str, now: float | None) -> None:
    """One claimed attempt: freeze the event, sign, send, and settle the row."""
    delivery = outbox.freeze_event(db.session.get(WebhookDelivery, delivery_id))
    if delivery is None:
        error = "the job was deleted before its event could be sent"
        outbox.settle(delivery_id, sender, status=FAILED, status_code=None, error=error)
        return
    job_id, event_type, attempts = delivery.job_id, delivery.event_type, delivery.attempts
    url, body, owner_id = delivery.url, delivery.payload or "", delivery.owner_id
    timeout = float(app.config["WEBHOOK_TIMEOUT_SECONDS"])
    outcome = attempt(url, delivery_id, body, secret_of(owner_id), allow_list(), timeout)
    wait = next_wait(outcome, attempts, int(app.config["WEBHOOK_MAX_ATTEMPTS"]))
    status = DELIVERED if outcome.delivered else (PENDING if wait is not None else FAILED)
    clock = time.time() if now is None else now
    outbox.settle(
        delivery_id, sender, status=status, status_code=outcome.status_code,
        error=outcome.error, next_attempt_at=clock + wait if wait is not None else None,
    )  # fmt: skip
    log.log(
        logging.INFO if status != FAILED else logging.WARNING,
        "event=webhook_attempt job=%s delivery=%s type=%s attempt=%d status=%s code=%s "
        "retry_in_s=%s error=%s",
        job_id, delivery_id, event_type, attempts, status,
        outcome.status_code, f"{wait:.0f}" if wait is not None else "-", outcome.error,
    )  # fmt: skip


class Sender:
    """This process's sender thread: runs while deliveries are due or scheduled, then ends."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._running = False

    def kick(self) -> None:
        """Something may be due now: send it (starting the thread if it is not running)."""
        with self._lock:
            self._wake.set()
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._loop, name="webhook-sender", daemon=True).start()

    def _loop(self) -> None:
        trouble = Backoff("webhooks", 1.0)
        while True:
            self._wake.clear()
            try:
                deliver_due(self.app)
                with self.app.app_context():
                    due = outbox.next_due_at(time.time())
                trouble.succeeded()
            except Exception as exc:
                due = time.time() + trouble.failed(exc)
            if due is None:
                with self._lock:
                    if not self._wake.is_set():
                        self._running = False
                        return
                continue
            self._wake.wait(min(max(0.0, due - time.time()), IDLE_SECONDS))


def kick(app: Flask) -> bool:
    """Wake this process's sender (False when the setting leaves sending to maintenance)."""
    if not app.config["WEBHOOK_SENDER_THREAD"]:
        return False
    with _create_lock:
        sender = app.extensions.get(EXTENSION_KEY)
        if sender is None or sender.pid != os.getpid():  # none yet, or inherited by a fork
            sender = app.extensions[EXTENSION_KEY] = Sender(app)
    sender.kick()
    return True


def maintain(app: Flask, now: float | None = None) -> list[str]:
    """The maintenance pass's share: wake the sender for due rows, or send them here."""
    clock = time.time() if now is None else now
    with app.app_context():
        due = outbox.next_due_at(clock)
    if due is None or due > clock:
        return []
    if kick(app):
        return []
    return deliver_due(app, now)
