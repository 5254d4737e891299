"""The in-memory reference for bench/reads.py: the same routes answered from a dict.

Served by gunicorn with the project's own config (same worker class, workers, threads), as
`reads_reference:app`. Each worker holds its own copy of the dict, so with 2 workers it would
be wrong for real jobs: it is the ceiling a database-backed read is compared with. The bodies
are the project's own answers, captured by reads.py (BENCH_REFERENCE_DATA, a JSON file).
"""

from __future__ import annotations

import json
import os

from flask import Flask, jsonify, request

app = Flask(__name__)
with open(os.environ["BENCH_REFERENCE_DATA"]) as source:
    DATA: dict = json.load(source)
JOBS: dict[str, dict] = DATA["jobs"]
TASKS: dict[str, dict] = DATA["tasks"]


def _job(job_id: str):
    body = JOBS.get(job_id)
    return jsonify(body) if body is not None else (jsonify(error="JOB_NOT_FOUND"), 404)


@app.get("/api/progress")
def progress():
    return _job(request.args.get("job_id") or DATA["latest"])


@app.get("/api/progress/<job_id>")
def progress_of(job_id: str):
    return _job(job_id)


@app.get("/api/video/tasks/<video_id>")
def task(video_id: str):
    body = TASKS.get(video_id)
    return jsonify(body) if body is not None else (jsonify(error="TASK_NOT_FOUND"), 404)
