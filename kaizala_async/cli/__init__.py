"""The ``kaizala`` command (extra ``cli``): the demo, the emulator, and the API from a shell."""

from kaizala_async.cli._app import app, main

__all__ = ["app", "main"]
