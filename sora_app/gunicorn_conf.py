"""gunicorn settings for `make run` and production (`-c python:sora_app.gunicorn_conf`).

gthread workers: slow clients streaming a video hold a thread, not a whole process. Each
worker process also runs its own job executor threads (started by wsgi.py after the fork),
and they share one job queue through the database.
"""

from sora_app.config import load_server_settings

_server = load_server_settings()

bind = f"{_server.host}:{_server.port}"
workers = _server.workers
threads = _server.threads
worker_class = "gthread"
timeout = _server.timeout
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def worker_exit(server, worker) -> None:
    """A worker leaving cleanly hands its running jobs back to the queue at once."""
    import sys

    from sora_app.jobs.executors import get_executor

    wsgi = sys.modules.get("wsgi")  # absent if the worker died while booting
    executor = get_executor(wsgi.app) if wsgi is not None else None
    if executor is not None:
        executor.shutdown()
