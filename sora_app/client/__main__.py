"""Entry point: `python -m sora_app.client …`."""

from .commands import main

main()
