"""The server entry point (gunicorn wsgi:app): the app plus this process's job workers."""

from sora_app import create_app
from sora_app.jobs.executors import start_executor

app = create_app()
start_executor(app)
