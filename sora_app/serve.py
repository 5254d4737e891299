"""`make run`: check what the server needs, then hand over to gunicorn.

A port in use or a missing tool gets one clear sentence and exit code 1, not a traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sys

from .config import (
    ConfigError,
    folder_problem,
    load_env_file,
    load_server_settings,
    load_settings,
)


def _port_problem(host: str, port: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"Port {port} on {host} is already in use: stop the other server "
                    f"or start this one with SORA_PORT=<another port> make run."
                )
            return f"Cannot listen on {host}:{port}: {exc.strerror}."
    return None


def _tool_problem() -> str | None:
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:
        return "ffmpeg is missing: run `make install` (it comes with the imageio-ffmpeg package)."
    if shutil.which("gunicorn", path=os.path.dirname(sys.executable)) is None:
        return "gunicorn is missing from the virtualenv: run `make install`."
    return None


def main() -> int:
    if load_env_file():  # exec'd gunicorn inherits it, so its config reads the same values
        print("read settings from .env (the environment wins)", file=sys.stderr)
    try:
        settings = load_settings()
        server = load_server_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}.", file=sys.stderr)
        return 1
    problem = (
        _tool_problem()
        or _port_problem(server.host, server.port)
        or folder_problem(settings, server)
    )
    if problem:
        print(problem, file=sys.stderr)
        return 1
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    print(f"sora_app serving on http://localhost:{server.port} (bound to {server.host})")
    os.execv(gunicorn, [gunicorn, "-c", "python:sora_app.gunicorn_conf", "wsgi:app"])
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
