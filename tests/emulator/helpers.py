"""What the emulator tests share: a client wired to an emulator, a loopback emulator process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

from kaizala_async import Credentials, KaizalaClient, RateLimits
from kaizala_async.emulator import Emulator

MOBILE = "+911234567890"


def client_for(
    emu: Emulator,
    *,
    tenant: str = "contoso",
    permissions: frozenset[str] | None = None,
    **kwargs: Any,
) -> KaizalaClient:
    """A client for a new connector of ``tenant``, in-process, unpaced unless ``limits`` says."""
    conn = emu.create_connector(tenant=tenant, permissions=permissions)
    refresh = emu.issue_refresh_token(conn, MOBILE)
    kwargs.setdefault("limits", RateLimits.unlimited())
    return KaizalaClient(
        Credentials(conn.application_id, conn.application_secret, refresh),
        api_root=emu.api_root,
        transport=emu.transport(),
        **kwargs,
    )


@contextlib.contextmanager
def loopback_emulator(*options: str) -> Iterator[tuple[dict[str, str], str]]:
    """Run ``python -m kaizala_async.emulator --port 0 OPTIONS``; yield (credentials, API root)."""
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "kaizala_async.emulator", "--port", "0", *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        credentials = json.loads(process.stdout.readline())
        root = process.stdout.readline().rsplit(" ", 1)[1].strip()
        yield credentials, root
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yield its origin."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
