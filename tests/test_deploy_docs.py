"""The settings blocks an operator pastes into /etc/sora_app/env work as systemd reads them,
and agree with deploy/nginx.conf (a newcomer's first deploy failed on both)."""

from __future__ import annotations

import re

import pytest

from sora_app.config import load_server_settings, load_settings
from tests.conftest import ROOT

NGINX_ALIAS = re.compile(r"^\s*alias (\S+);", re.MULTILINE)


def env_block(document: str, heading: str) -> dict[str, str]:
    """The first ```sh block after `heading`, read as systemd reads an EnvironmentFile: one
    KEY=VALUE per line, lines starting with # ignored, the rest of a line kept in the value."""
    text = (ROOT / document).read_text()
    after = text[text.index(heading) :]
    block = after[after.index("```sh\n") + 6 : after.index("\n```", after.index("```sh\n"))]
    settings = {}
    for line in block.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


BLOCKS = [
    ("README.md", "## Deployment: one machine behind nginx"),
    ("deploy/README.md", "Settings that go with this nginx"),
]


@pytest.mark.parametrize(("document", "heading"), BLOCKS)
def test_a_settings_block_starts_a_server_as_systemd_reads_it(monkeypatch, tmp_path, document,
                                                               heading):  # fmt: skip
    settings = env_block(document, heading)
    assert settings["SORA_ENV"] == "production"
    settings["SORA_SECRET_KEY"] = "ab" * 32  # the block shows how to make one
    for name in ("SORA_INSTANCE_DIR", "SORA_VIDEOS_DIR"):
        settings[name] = str(tmp_path / settings[name].lstrip("/"))
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    loaded = load_settings()
    assert loaded.ENV == "production" and loaded.AUTH_MODE == "required"
    assert str(loaded.VIDEOS_DIR).endswith("/srv/sora_app/data/videos")
    assert load_server_settings().workers == 1


@pytest.mark.parametrize(("document", "heading"), BLOCKS)
def test_nginx_serves_videos_from_the_folder_the_settings_name(document, heading):
    aliases = NGINX_ALIAS.findall((ROOT / "deploy" / "nginx.conf").read_text())
    assert aliases == [env_block(document, heading)["SORA_VIDEOS_DIR"] + "/"]
