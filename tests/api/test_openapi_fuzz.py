"""Schemathesis against our own OpenAPI document: no generated request gets a 5xx, in both
auth modes, for the documented examples, valid (positive) and schema-breaking (negative)
requests; path parameters are sometimes the ids of real things, to get past the 404.

Bounded by count, not time: a few deterministic examples per operation (~12 s of CPU per
mode here; a wall-clock budget failed a busy CI box with operations untried); no job ever
renders (the test app starts no job workers, so submitted jobs stay queued). Operations are
looped here rather than through schemathesis' pytest plugin, whose lazy fixture loader sets
`Function._nodeid`, an attribute pytest 9 no longer has.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from sora_app import create_app
from tests.conftest import app_config, close_app, png_bytes

from .test_openapi import finished_jobs

EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4}
EXCLUDED = r"/events$"
"""Server-Sent Events streams never end while their client listens (the WSGI test transport
reads a body to its end); tests/api/test_openapi_studio.py and test_events.py cover them."""
FUZZ = settings(
    deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)  # fmt: skip


def credentials(app) -> tuple[dict[str, str], str]:
    """Headers and owner id. Required mode: an API key (a fuzzed logout cannot end it)."""
    if app.config["AUTH_MODE"] == "open":
        return {}, "local"
    client = app.test_client()
    user = {"username": "fuzzer", "password": "long enough password"}
    client.post("/api/auth/register", json=user)
    tokens = client.post("/api/auth/login", json=user).get_json()
    made = client.post("/api/auth/api-keys", json={"name": "fuzz"},
                       headers={"Authorization": f"Bearer {tokens['access_token']}"})  # fmt: skip
    return {"Authorization": f"Bearer {made.get_json()['key']}"}, tokens["user"]["id"]


def seeded(app, headers: dict[str, str], owner: str) -> dict[str, str]:
    """Real path parameter values: the caller's job, script, media, batch, files."""
    client, done = app.test_client(), finished_jobs(app, owner)[0]

    def post(path: str, **kwargs) -> dict:
        response = client.post(path, headers=headers, **kwargs)
        assert response.status_code in (201, 202), response.get_json()
        return response.get_json()

    image = {"file": (io.BytesIO(png_bytes()), "p.png")}
    job = post("/api/generate-video", json={"topic": "Seed"})["job_id"]
    stock = client.get("/api/media/stock?q=seed", headers=headers).get_json()["results"][0]
    return {
        "job_id": job, "video_id": f"video_{done}", "filename": "video_done.mp4",
        "script_id": post("/api/scripts", json={"topic": "Seed", "num_scenes": 2})["id"],
        "media_id": post("/api/media", data=image, content_type="multipart/form-data")["id"],
        "batch_id": post("/api/videos/bulk", json={"topics": ["Seed"]})["batch_id"],
        "token": stock["id"], "voice_id": "espeak_male", "asset": "index.css",
    }  # fmt: skip


def fuzz(strategy, examples: int, headers: dict[str, str], seeds: dict[str, str]) -> None:
    @given(case=strategy, real=st.booleans())
    @settings(FUZZ, max_examples=examples)
    def one(case, real: bool) -> None:
        if real:
            for name in case.path_parameters or {}:
                case.path_parameters[name] = seeds.get(name, case.path_parameters[name])
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    with contextlib.suppress(Unsatisfiable):  # no invalid input exists (optional strings)
        one()


def strategies(schema, operation) -> list[tuple[object, int]]:
    """(strategy, examples): the documented examples, positive, and negative where a body
    or query can break the schema (a path parameter's only invalid values hold a `/`)."""
    found = [(st.one_of(s), len(s)) for s in [schema.get_strategies_from_examples(operation)] if s]
    found.append((operation.as_strategy(), EXAMPLES[GenerationMode.POSITIVE]))
    if len(operation.body) or len(operation.query):
        negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
        found.append((negative, EXAMPLES[GenerationMode.NEGATIVE]))
    return found


@pytest.mark.parametrize("auth_mode", ["open", "required"])
def test_no_server_errors(tmp_path: Path, auth_mode: str):
    config = {**app_config(tmp_path), "AUTH_MODE": auth_mode, "JOB_QUEUE_LIMIT": 10_000}
    app = create_app(config)
    try:
        headers, owner = credentials(app)
        seeds = seeded(app, headers, owner)
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
        operations = [r.ok() for r in schema.exclude(path_regex=EXCLUDED).get_all_operations()]
        assert len(operations) > 50
        operations.sort(key=lambda op: op.method.upper() == "DELETE")  # seeds live till the end
        failures = []
        for operation in operations:
            for strategy, examples in strategies(schema, operation):
                try:
                    fuzz(strategy, examples, headers, seeds)
                except Exception as exc:  # every operation runs; report them all at the end
                    failures.append(f"{operation.label}: {exc}")
        assert not failures, "\n\n".join(failures)
    finally:
        close_app(app)
