"""Serve ASGI apps on loopback (uvicorn) for as long as a block runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any


@contextlib.asynccontextmanager
async def serve_loopback(app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn; yield its origin (``http://127.0.0.1:PORT``); stop it after."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="critical", lifespan="off")
    )
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
