"""`flask --app sora_app generate` renders its own job only, never the server's queue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sora_app import create_app
from sora_app.jobs import store
from tests.conftest import ROOT, app_config, server_env


def test_cli_generate_renders_only_its_own_job(tmp_path):
    app = create_app(app_config(tmp_path))
    with app.app_context():
        waiting = store.create_job({"topic": "someone else's"}).id
    flask = Path(sys.executable).parent / "flask"
    result = subprocess.run(
        [str(flask), "--app", "sora_app", "generate", "A tiny test", "--scenes", "2",
         "--minutes", "0.15"],
        cwd=ROOT, env=server_env(tmp_path, 0), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"status": "complete"' in result.stdout
    with app.app_context():
        assert store.get_job(waiting).status == "queued"
    assert len(list(app.config["VIDEOS_DIR"].glob("video_*.mp4"))) == 1
