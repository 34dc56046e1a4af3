"""Serving an ASGI app on loopback with uvicorn: `kaizala listen` and `kaizala demo`, the
emulator's command line, the tests' receivers.

uvicorn runs on asyncio only, so this module is asyncio's by nature (like `_exchange`'s asyncio
path). The ASGI helpers the webhook receiver and the emulator's app use under either backend
are in `_asgi`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

from kaizala_async._asgi import Receive, Scope, Send

__all__ = ["asgi3", "loopback_config", "resettable_protocol", "serve_loopback"]


def resettable_protocol() -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, with a ``kaizala.reset`` scope extension: a callable that drops
    the connection with a TCP reset (SO_LINGER 0, then abort), for injected connection resets."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class ResettableProtocol(AutoHTTPProtocol):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            inner: Any = getattr(self, "app")  # noqa: B009 (untyped base class)

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                scope.setdefault("extensions", {})["kaizala.reset"] = self._reset
                await inner(scope, receive, send)

            setattr(self, "app", app)  # noqa: B010

        def _reset(self) -> None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()

    return ResettableProtocol


def asgi3(app: Any) -> Any:
    """``app`` as a plain three-argument coroutine function, for uvicorn.

    uvicorn calls the app it is given with no arguments to find out whether it is a factory. An
    app whose ``__call__`` takes ``*args`` (one wrapped by a tracing or test decorator) survives
    that call, and uvicorn would then serve the coroutine it returned instead of the app.
    """

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    return served


def loopback_config(app: Any, **options: Any) -> Any:
    """A ``uvicorn.Config`` serving ``app`` as every loopback server here does: handed over as a
    plain ASGI 3 function, no lifespan, connections that injected resets can drop; ``options``
    (``host``, ``port``, ``log_level``, ...) as uvicorn takes them."""
    import uvicorn

    return uvicorn.Config(
        asgi3(app), lifespan="off", interface="asgi3", http=resettable_protocol(), **options
    )


@contextlib.asynccontextmanager
async def serve_loopback(app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn; yield its origin (``http://127.0.0.1:PORT``); stop it after."""
    import uvicorn

    server = uvicorn.Server(loopback_config(app, host=host, port=port, log_level="critical"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the loopback server did not start")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task
