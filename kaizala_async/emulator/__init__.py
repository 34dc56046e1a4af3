"""A local Kaizala service for tests, demos and benchmarks (DESIGN §6).

Every endpoint of the API reference's index, the auth flows (PIN outbox, rotation, OAuth), throttling per
connector and per tenant with four counting methods, 308 moves, seeded fault injection, webhooks
(handshake, delivery, retries) and ``/_emulator/...`` introspection. See docs/emulator.md.
For example:

    async with Emulator(EmulatorConfig(connector_limit=Rate(100, 6.0))) as emu:
        async with emu.client() as client:            # a new connector, wired in-process
            group = await client.groups.create("Ops", "Welcome")

``emu.client()`` is shorthand for:

    conn = emu.create_connector(tenant="contoso")
    refresh = emu.issue_refresh_token(conn, mobile_number="+911234567890")
    client = KaizalaClient(Credentials(conn.application_id, conn.application_secret, refresh),
                           api_root=emu.api_root, transport=emu.transport())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

import anyio
import httpx

from kaizala_async._auth import Credentials
from kaizala_async._client import KaizalaClient
from kaizala_async._limits import RateLimits

from ._app import EmulatorApp, EmulatorConfig
from ._faults import Fault
from ._network import NetworkProfile
from ._process import EmulatorProcess, emulator_process
from ._state import Connector
from ._throttle import THROTTLE_METHODS, ThrottleMethod

__all__ = [
    "THROTTLE_METHODS",
    "Connector",
    "Emulator",
    "EmulatorConfig",
    "EmulatorProcess",
    "Fault",
    "NetworkProfile",
    "ThrottleMethod",
    "emulator_process",
]


class _InProcessTransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport, with the app's injected resets surfacing as httpx errors."""

    #: No connection pool: the client's exchanges need no isolation from cancellation.
    kaizala_pool_free = True

    def __init__(self, app: EmulatorApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # httpx enforces timeouts in its network backends, which an in-process app bypasses:
        # apply the request's read timeout here, so a hung route behaves as on a socket.
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            with anyio.fail_after(timeout):  # asyncio or trio
                return await self._inner.handle_async_request(request)
        except ConnectionResetError as exc:
            raise httpx.ReadError(str(exc), request=request) from None
        except TimeoutError:
            raise httpx.ReadTimeout(
                "the emulator did not answer in time", request=request
            ) from None


class Emulator:
    """The emulated service, used in-process (`transport`) or served on loopback.

    ``webhook_transport`` carries the emulator's own outbound calls (webhook handshakes and
    deliveries); by default they go over the network (loopback receivers).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.app = EmulatorApp(self.config, clock=clock, webhook_transport=webhook_transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel webhook deliveries still under way."""
        await self.app.hub.aclose()

    @property
    def api_root(self) -> str:
        """The root the SDK's ``api_root`` should point at."""
        return self.app.origin

    def serve_at(self, origin: str) -> None:
        """Tell the emulator the origin it is reachable at (a loopback server's URL)."""
        self.app.origin = origin.rstrip("/")

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process transport for ``KaizalaClient(transport=...)``."""
        return _InProcessTransport(self.app)

    def create_connector(
        self, tenant: str = "contoso", *, permissions: frozenset[str] | None = None
    ) -> Connector:
        """Register a connector in ``tenant`` (as the management portal does).

        ``permissions`` limits what it may do (families such as ``"groupinfo"``,
        ``"textmessage"``, ``"webhook"``); calls outside them get 403. Default: all.
        """
        return self.app.world.add_connector(tenant, permissions)

    def client(
        self,
        *,
        tenant: str = "contoso",
        mobile_number: str = "+911234567890",
        permissions: frozenset[str] | None = None,
        **options: Any,
    ) -> KaizalaClient:
        """A `KaizalaClient` for a new connector of ``tenant``, wired in-process.

        It paces itself by the emulator's own limits (clients of one tenant share its budget)
        unless ``limits`` says otherwise; other ``options`` go to ``KaizalaClient`` too.
        """
        options.setdefault(
            "limits",
            RateLimits(
                connector=self.config.connector_limit,
                tenant=self.config.tenant_limit,
                tenant_key=f"emulator-{id(self)}-{tenant}",
            ),
        )
        connector = self.create_connector(tenant, permissions=permissions)
        refresh = self.issue_refresh_token(connector, mobile_number)
        credentials = Credentials(connector.application_id, connector.application_secret, refresh)
        options.setdefault("api_root", self.api_root)
        options.setdefault("transport", self.transport())
        return KaizalaClient(credentials, **options)

    def create_groups(
        self, count: int, *, mobile_number: str = "+911234567890", tenant: str = "contoso"
    ) -> list[str]:
        """Create ``count`` groups administered by ``mobile_number``, directly (no API call, no
        limit charged): set-up for tests and benchmarks. Also ``POST /_emulator/groups``."""
        return self.app.seed_groups(count, mobile_number, tenant)

    def issue_refresh_token(self, connector: Connector, mobile_number: str) -> str:
        """A user refresh token for ``connector``, as the portal's "Generate user token" does."""
        return self.app.issue_refresh_token(connector, mobile_number)

    def outbox(self) -> list[dict[str, Any]]:
        """The PIN "SMS" messages sent so far."""
        return [m.as_json() for m in self.app.world.outbox]

    def move_endpoint(self, *, after: int | None = None) -> None:
        """Move the endpoint now, or after ``after`` more resource calls; the old one answers 308."""
        self.app.move_endpoint(after)

    def inject(self, fault: Fault) -> None:
        """Add a fault (latency, 5xx, reset, no answer) on the routes it matches."""
        self.app.faults.add(fault)

    def clear_faults(self) -> None:
        self.app.faults.clear()

    async def drain_webhooks(self) -> None:
        """Wait until every webhook delivery under way has finished."""
        await self.app.hub.drain()

    def stats(self) -> dict[str, Any]:
        """Calls, 429s and the most calls in any window, per connector and per tenant."""
        return self.app.stats()

    def calls(self, since: float = 0.0) -> list[dict[str, Any]]:
        """The call log: the last ``call_log_size`` API calls answered at or after ``since``
        (epoch seconds), oldest first: ``{at, method, path, route, status, applicationId}``
        (``route`` is the endpoint's id such as ``"T1"``; ``status`` None for a reset)."""
        return self.app.calls(since)
