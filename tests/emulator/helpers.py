"""What the emulator tests share: a client wired to an emulator, a loopback emulator process."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from kaizala_async import Credentials, KaizalaClient, RateLimits
from kaizala_async._asgi import read_body
from kaizala_async._loopback import serve_loopback
from kaizala_async.emulator import Connector, Emulator, EmulatorConfig, emulator_process

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
    with emulator_process(*options) as process:
        yield process.credentials[0], process.root


#: Serve an ASGI app with uvicorn on a free loopback port; yields its origin.
serve = serve_loopback


async def new_group(client: KaizalaClient, body: dict[str, Any]) -> str:
    """Create a group with the raw G1 request ``body`` (as the service takes it); its id."""
    return str((await client.request("POST", "/groups", json=body)).json()["groupId"])


def recording_receiver(deliveries: list[dict[str, Any]]) -> httpx.ASGITransport:
    """A webhook receiver for ``Emulator(webhook_transport=...)``: echoes each validation
    token (K1) and appends each delivery's JSON envelope to ``deliveries``."""

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&"))
            body = query["validationToken"].encode()
        else:
            deliveries.append(json.loads(await read_body(receive)))
            body = b""
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return httpx.ASGITransport(app=receiver)


def cli_env(
    credentials: dict[str, str], root: str, folder: Path, *, refresh_token: bool = False
) -> dict[str, str]:
    """The ``kaizala`` command's environment for a loopback emulator's connector: its token file
    and (absent) config in ``folder``, paced at the emulator's fast limits (at the service's
    100/min a 30-group fan-out takes 18 s). ``refresh_token``: the portal's token in the
    environment too (no login needed)."""
    env = {
        "KAIZALA_APPLICATION_ID": credentials["applicationId"],
        "KAIZALA_APPLICATION_SECRET": credentials["applicationSecret"],
        "KAIZALA_API_ROOT": root,
        "KAIZALA_TOKEN_FILE": str(folder / "tokens.json"),
        "KAIZALA_CONFIG": str(folder / "absent.json"),
        "KAIZALA_LIMITS": "100/1,300/1",
    }
    if refresh_token:
        env["KAIZALA_REFRESH_TOKEN"] = credentials["refreshToken"]
    return env


class Wire:
    """One connector's raw HTTP session with an in-process emulator, and the events emitted."""

    def __init__(
        self, emu: Emulator, http: httpx.AsyncClient, token: str, connector: Connector, refresh: str
    ) -> None:
        self.emu = emu
        self.http = http
        self.token = token
        self.connector = connector
        self.refresh = refresh
        self.events: list[tuple[str, str, dict[str, Any], str]] = []
        emit = emu.app.emit

        def recorded(group: Any, event_type: str, data: dict[str, Any], actor: str) -> None:
            self.events.append((group.group_id, event_type, data, actor))
            emit(group, event_type, data, actor)

        emu.app.emit = recorded  # type: ignore[method-assign]

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """``method path`` with the access token; the status and the JSON answer (None if empty)."""
        answer = await self.http.request(
            method, path, headers={"accessToken": self.token}, **kwargs
        )
        return answer.status_code, (answer.json() if answer.content else None)

    def group(self, members: dict[str, str] | None = None, group_type: str = "Group") -> str:
        """A group made directly in the world (no call), administered by this caller."""
        (group_id,) = self.emu.create_groups(1, mobile_number=MOBILE)
        group = self.emu.app.world.groups[group_id]
        group.members.update(members or {})
        group.group_type = group_type
        return group_id


@contextlib.asynccontextmanager
async def wire(
    clock: Callable[[], float] | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    **config: Any,
) -> AsyncIterator[Wire]:
    """A :class:`Wire` for a new connector of ``contoso`` (user ``MOBILE``) of an emulator
    made with ``EmulatorConfig(**config)`` (and ``clock`` and ``webhook_transport``, if given)."""
    emulator = Emulator(EmulatorConfig(**config), clock=clock, webhook_transport=webhook_transport)
    async with emulator as emu:
        connector = emu.create_connector()
        refresh = emu.issue_refresh_token(connector, MOBILE)
        async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http:
            answer = await http.get("/v1/accessToken", headers={
                "applicationId": connector.application_id,
                "applicationSecret": connector.application_secret, "refreshToken": refresh})  # fmt: skip
            assert answer.status_code == 200, answer.text
            yield Wire(emu, http, answer.json()["accessToken"], connector, refresh)


def run_wire(test: Callable[[Wire], Awaitable[None]], **config: Any) -> None:
    """Run ``test`` with a :func:`wire` session of an emulator made with ``config``."""

    async def main() -> None:
        async with wire(**config) as session:
            await test(session)

    asyncio.run(main())


def invalid(message: str) -> dict[str, str]:
    """The service's 400 body for a refused parameter."""
    return {"message": message, "errorCode": "InvalidParameters", "errorCategoryKey": "Validation"}
