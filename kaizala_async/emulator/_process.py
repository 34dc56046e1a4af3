"""The loopback emulator in a process of its own, for the demo, the benchmarks and the tests."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator

import attrs

__all__ = ["EmulatorProcess", "emulator_process"]


@attrs.frozen
class EmulatorProcess:
    """A running ``python -m kaizala_async.emulator``: its API root and one credentials mapping
    (``applicationId``, ``applicationSecret``, ``refreshToken``) per connector it registered."""

    root: str
    credentials: list[dict[str, str]]
    pid: int


@contextlib.contextmanager
def emulator_process(*options: str, connectors: int = 1) -> Iterator[EmulatorProcess]:
    """Run the emulator on a free loopback port with ``options`` (the CLI's); stop it after."""
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "kaizala_async.emulator",
            "--port",
            "0",
            "--connectors",
            str(connectors),
            *options,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        credentials = [json.loads(process.stdout.readline()) for _ in range(connectors)]
        root = process.stdout.readline().rsplit(" ", 1)[1].strip()
        yield EmulatorProcess(root, credentials, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
