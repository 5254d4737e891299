"""Run as a separate process by test_store: claim jobs until none are left, print their ids."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sora_app import create_app
from sora_app.jobs import store
from tests.conftest import app_config


def main(tmp: str, owner: str) -> None:
    app = create_app(app_config(Path(tmp)))
    (Path(tmp) / f"ready-{owner}").touch()
    go = Path(tmp) / "go"
    while not go.exists():  # start both claimers at the same moment, so they really race
        time.sleep(0.005)
    claimed = []
    with app.app_context():
        while (job_id := store.claim_next(owner, 60)) is not None:
            claimed.append(job_id)
            if len(claimed) == 1:
                meet_the_other(Path(tmp), owner)
            time.sleep(0.001)  # a real worker does work between claims; lets the other one in
    print("\n".join(claimed))


def meet_the_other(tmp: Path, owner: str, patience: float = 30.0) -> None:
    """After a first claim, wait (boundedly) for the other claimer's first claim, so both
    really claim side by side: on a busy box one could otherwise take every job before the
    other was scheduled at all. If the other never claims, the test's check says so."""
    (tmp / f"claimed-{owner}").touch()
    deadline = time.monotonic() + patience
    while len(list(tmp.glob("claimed-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
