"""Entry point: `python -m sora_app.client …` (installed with pip: the `sora` command)."""

from .commands import main

main()
