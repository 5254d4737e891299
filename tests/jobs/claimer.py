"""Run as a separate process by test_store: claim jobs until none are left, print their ids."""

from __future__ import annotations

import sys
from pathlib import Path

from sora_app import create_app
from sora_app.jobs import store
from tests.conftest import app_config


def main(tmp: str, owner: str) -> None:
    app = create_app(app_config(Path(tmp)))
    claimed = []
    with app.app_context():
        while (job_id := store.claim_next(owner, 60)) is not None:
            claimed.append(job_id)
    print("\n".join(claimed))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
