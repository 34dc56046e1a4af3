"""The little of ASGI the emulator, the webhook receiver and the test stand-ins need, without a
web framework. It runs under asyncio and trio alike; serving an app on loopback with uvicorn
(asyncio only) is `_loopback`'s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyTooLarge", "Receive", "Scope", "Send", "read_body", "serve_lifespan"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown: there is nothing to set up or tear down."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class BodyTooLarge(Exception):
    """The request body is longer than the reader's limit."""


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """The whole request body, however many messages it arrives in (at most ``limit`` bytes)."""
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if limit is not None and len(body) > limit:
            raise BodyTooLarge
        if not message.get("more_body"):
            return body
