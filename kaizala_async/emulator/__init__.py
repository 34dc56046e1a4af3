"""A local Kaizala service for tests, demos and benchmarks (DESIGN §6).

In progress: the token service (PIN flow, access tokens, rotation), throttling per connector and
per tenant with four counting methods, 308 endpoint moves, stats, and the group and message
endpoints are emulated; the remaining endpoints, webhooks and fault injection are not yet.

::

    emu = Emulator(EmulatorConfig(connector_limit=Rate(100, 6.0)))
    conn = emu.create_connector(tenant="contoso")
    refresh = emu.issue_refresh_token(conn, mobile_number="+911234567890")
    client = KaizalaClient(Credentials(conn.application_id, conn.application_secret, refresh),
                           api_root=emu.api_root, transport=emu.transport())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ._app import EmulatorApp, EmulatorConfig
from ._state import Connector

__all__ = ["Connector", "Emulator", "EmulatorConfig"]


class Emulator:
    """The emulated service, used in-process (:meth:`transport`) or served on loopback."""

    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        self.app = EmulatorApp(self.config, clock=clock)

    @property
    def api_root(self) -> str:
        """The root the SDK's ``api_root`` should point at."""
        return self.app.origin

    def serve_at(self, origin: str) -> None:
        """Tell the emulator the origin it is reachable at (a loopback server's URL)."""
        self.app.origin = origin.rstrip("/")

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process transport for ``KaizalaClient(transport=...)``."""
        return httpx.ASGITransport(app=self.app)

    def create_connector(self, tenant: str = "contoso") -> Connector:
        """Register a connector in ``tenant`` (as the management portal does)."""
        return self.app.world.add_connector(tenant)

    def issue_refresh_token(self, connector: Connector, mobile_number: str) -> str:
        """A user refresh token for ``connector``, as the portal's "Generate user token" does."""
        return self.app.issue_refresh_token(connector, mobile_number)

    def outbox(self) -> list[dict[str, Any]]:
        """The PIN "SMS" messages sent so far."""
        return [
            {"mobileNumber": m.mobile_number, "pin": m.pin, "applicationId": m.application_id}
            for m in self.app.world.outbox
        ]

    def move_endpoint(self, *, after: int | None = None) -> None:
        """Move the endpoint now, or after ``after`` more resource calls; the old one answers 308."""
        if after is None:
            self.app.move_endpoint()
        else:
            self.app.move_after = self.app.resource_calls + after

    def stats(self) -> dict[str, Any]:
        """Calls, 429s and the most calls in any window, per connector and per tenant."""
        return self.app.stats()
