"""The emulator's ASGI application: what every route shares, applied once around the handlers.

Routing is the table in `._routes` (one declared route and one handler per endpoint of the
API reference); here: the endpoint prefix and 308 moves, injected faults, the network model,
authentication, permissions, throttling, the call log, and turning answers into responses.
"""

from __future__ import annotations

import base64
import collections
import copy
import email.utils
import json
import math
import random
import secrets
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import httpx

from kaizala_async._asgi import Receive, Scope, Send, read_body, serve_lifespan
from kaizala_async._ratelimit import Rate

from ._actions import Actions
from ._content import Content, ContentError
from ._faults import FaultPlan
from ._network import NetworkProfile
from ._routes import ROUTES
from ._routes.groups import create_group
from ._routing import Call
from ._state import AccessGrant, Connector, Group, RefreshGrant, World
from ._throttle import ThrottleMethod
from ._webhooks import WebhookHub
from ._wire import INVALID_TOKEN, Answer, HTTPError, Request, not_found, too_many

__all__ = ["EmulatorApp", "EmulatorConfig"]


@attrs.frozen(kw_only=True)
class EmulatorConfig:
    """How the emulated service behaves. Limits and lifetimes are scaled down for tests."""

    connector_limit: Rate = Rate(100, 60.0)  # noqa: RUF009 (Rate is frozen)
    tenant_limit: Rate = Rate(300, 60.0)  # noqa: RUF009
    throttle: ThrottleMethod = "sliding-log"
    access_token_ttl: float = 86_400.0
    refresh_token_ttl: float = 365 * 86_400.0
    pin_ttl: float = 600.0
    max_message_length: int = 4000
    max_group_members: int = 100
    #: Webhook validation handshake timeout (API K1: 5 s) and delivery timeout (G-11).
    webhook_timeout: float = 5.0
    #: Retry n waits unit * 2**(n-1): 2742 s puts the 6th retry inside 48 h (API reference, "Retries").
    webhook_retry_unit: float = 2742.0
    #: Largest media upload accepted, in bytes (the API reference names no limit).
    max_media_bytes: int = 50 * 1024 * 1024
    #: Seed of the fault-injection draws.
    seed: int = 0
    #: Network delays each API call meets on its way in and back (None: none).
    network: NetworkProfile | None = None
    #: How many recent calls the call log keeps (``GET /_emulator/calls``, ``Emulator.calls()``).
    call_log_size: int = 10_000

    @classmethod
    def fast(cls, **changes: Any) -> EmulatorConfig:
        """The real limits' shape, 60 times faster: 100 calls/s per connector, 300/s per tenant.

        For demos and examples that should finish in seconds; ``changes`` override any field.
        """
        changes.setdefault("connector_limit", Rate(100, 1.0))
        changes.setdefault("tenant_limit", Rate(300, 1.0))
        return cls(**changes)


def _jwt_like(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{signature}"


def _routing_error(status: int, message: str) -> HTTPError:
    code = "NotFound" if status == 404 else "MethodNotAllowed"
    return HTTPError(status, {"message": message, "errorCode": code, "errorCategoryKey": "Routing"})


class EmulatorApp:
    """An ASGI app that behaves like the Kaizala service (see the emulator docs page)."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        clock: Callable[[], float] | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.world = World(config.connector_limit, config.tenant_limit, config.throttle)
        self._clock = clock
        self._clock0: float | None = None
        self._last = 0.0
        self._wall0 = time.time()
        self.prefix = ""  # the current endpoint's path prefix ("" or "/moved-N")
        self.old_prefixes: set[str] = set()
        self.move_after: int | None = None
        self._moves = 0
        self.resource_calls = 0
        self.origin = "http://kaizala.emulator"
        self.faults = FaultPlan(config.seed)
        self._network_random = random.Random(config.seed + 1)
        self.content = Content(config.max_media_bytes)
        self.actions = Actions(self.content.is_media)
        self.oauth_codes: dict[str, tuple[str, str]] = {}
        self._log: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=config.call_log_size
        )
        self.hub = WebhookHub(
            transport=webhook_transport,
            handshake_timeout=config.webhook_timeout,
            delivery_timeout=config.webhook_timeout,
            retry_unit=config.webhook_retry_unit,
            wall_ms=self.wall_ms,
        )

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> float:
        """Monotonic seconds: the given clock, else the running loop's (virtual time works)."""
        if self._clock is not None:
            value = self._clock()
        else:
            try:
                value = anyio.current_time()  # asyncio's loop time, or trio's clock
            except RuntimeError:  # set-up outside any loop (create_connector, issue_refresh_token)
                return self._last
        if self._clock0 is None:
            self._clock0 = value
        self._last = value
        return value

    def wall(self) -> float:
        """Epoch seconds that advance with `now`."""
        now = self.now()
        return self._wall0 + (now - self._clock0 if self._clock0 is not None else 0.0)

    def wall_ms(self) -> int:
        return math.floor(self.wall() * 1000)

    # -- endpoint, tokens, set-up ----------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"{self.origin}{self.prefix}/"

    def move_endpoint(self, after: int | None = None) -> str:
        """Move the endpoint now, or once ``after`` more resource calls have been served."""
        if after is not None:
            self.move_after = self.resource_calls + after
            return self.endpoint_url
        self._moves += 1
        self.old_prefixes.add(self.prefix)
        self.prefix = f"/moved-{self._moves}"
        self.move_after = None
        return self.endpoint_url

    def issue_refresh_token(self, connector: Connector, mobile_number: str) -> str:
        wall = self.wall()
        token = _jwt_like(
            {
                "appId": connector.application_id,
                "phone": mobile_number,
                "iat": int(wall),
                "n": secrets.token_hex(4),
            }
        )
        self.world.refresh[token] = RefreshGrant(
            connector, mobile_number, wall + self.config.refresh_token_ttl, wall
        )
        self.world.user_id(mobile_number)
        return token

    def issue_access_token(self, connector: Connector, subject: str) -> dict[str, Any]:
        """A new access token for ``subject`` (a user's number or ``bot:<id>``) and its expiry."""
        wall = self.wall()
        token = _jwt_like(
            {"appId": connector.application_id, "iat": int(wall), "n": secrets.token_hex(4)}
        )
        expires = wall + self.config.access_token_ttl
        self.world.access[token] = AccessGrant(connector, subject, expires)
        return {"accessToken": token, "accessTokenExpiry": math.floor(expires * 1000)}

    def access_answer(
        self, connector: Connector, mobile: str, *, rotated: str | None
    ) -> dict[str, Any]:
        """The A3/A5 answer: a new access token, the endpoint, and the rotated refresh token."""
        issued = self.issue_access_token(connector, mobile)
        return {
            "accessToken": issued["accessToken"],
            "endpointUrl": self.endpoint_url,
            "accessTokenExpiry": issued["accessTokenExpiry"],
            "refreshToken": rotated,
            "scope": "token.write",
        }

    def seed_groups(self, count: int, mobile_number: str, tenant: str) -> list[str]:
        """Create ``count`` groups administered by ``mobile_number`` without any API call (test
        and benchmark set-up; nothing is counted against a limit)."""
        return [
            create_group(
                self, {"name": f"Group {n:06d}", "welcomemessage": "Hi"}, mobile_number, tenant
            )["groupId"]
            for n in range(count)
        ]

    # -- introspection ---------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        w = self.world
        return {
            "connectors": {c.application_id: c.stats.as_dict() for c in w.connectors.values()},
            "tenants": {t.name: t.stats.as_dict() for t in w.tenants.values()},
            "messagesPerGroup": {g.group_id: len(g.messages) for g in w.groups.values()},
            "throttle": w.method,
        }

    def calls(self, since: float = 0.0) -> list[dict[str, Any]]:
        """The call log: the last ``call_log_size`` API calls answered at or after ``since``
        (epoch seconds), oldest first, each ``{at, method, path, route, status, applicationId}``."""
        return [dict(entry) for entry in self._log if entry["at"] >= since]

    # -- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_query = scope.get("query_string", b"").decode("latin-1")
        query = {k.lower(): v for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True)}
        request = Request(
            scope["method"].upper(), scope["path"].rstrip("/") or "/", headers, query, body
        )
        control = request.path.lower().startswith("/_emulator/")
        # The control routes are the test harness's, not the service's: never delayed.
        network = None if control else self.config.network
        if network is not None:  # on its way in: the throttle sees the call only now
            await anyio.sleep(network.draw(self._network_random))
        try:
            status, payload, extra = await self.dispatch(request)
        except HTTPError as error:
            status, payload, extra = error.status, error.body, error.headers
        except ContentError as error:  # the content handlers' own error type
            status, extra = error.status, {}
            payload = {
                "message": error.message,
                "errorCode": error.code,
                "errorCategoryKey": "Validation",
            }
        except ConnectionResetError:
            self._record(request, None)
            reset = scope.get("extensions", {}).get("kaizala.reset")
            if reset is None:
                raise  # in-process: the transport turns it into httpx.ReadError
            reset()  # on loopback: a real reset (RST), no answer at all
            for _ in range(3):  # let the server see the connection is gone before returning
                await anyio.lowlevel.checkpoint()
            return
        if not control:
            self._record(request, status)
        raw = b"" if payload is None else json.dumps(payload).encode()
        head = (
            [(b"content-type", b"application/json; charset=utf-8")] if payload is not None else []
        )
        head += [(k.encode(), v.encode()) for k, v in extra.items()]
        head.append((b"date", email.utils.formatdate(self.wall(), usegmt=True).encode()))
        if network is not None:  # on its way back
            await anyio.sleep(network.draw(self._network_random))
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": raw})

    def _record(self, request: Request, status: int | None) -> None:
        self._log.append(
            {
                "at": self.wall(),
                "method": request.method,
                "path": request.path,
                "route": request.route_id,
                "status": status,  # None: the connection was reset
                "applicationId": request.application_id,
            }
        )

    async def dispatch(self, request: Request) -> Answer:
        path, method = request.path, request.method
        lowered = path.lower()
        if lowered.startswith("/_emulator/"):
            route, params = ROUTES.match("control", method, path)
            if route is None:
                raise _routing_error(404, f"unknown control route {method} {path}")
            request.route_id = route.id
            return await route.handler(Call(self, request, params))
        route, params = ROUTES.match("token", method, path)
        if route is not None:
            request.route_id = route.id
            return await route.handler(Call(self, request, params))
        if params:  # the token service's path, another method
            raise _routing_error(405, f"{path} does not take {method}")
        # Resource calls: under the current endpoint prefix, else 308 from an old one.
        prefix = self.prefix
        if prefix and lowered.startswith(prefix + "/v1/"):
            rest = path[len(prefix) :]
        elif lowered.startswith("/v1/") and not prefix:
            rest = path
        elif any(lowered.startswith(p + "/v1/") for p in self.old_prefixes):
            return 308, None, {"location": self.endpoint_url}
        else:
            raise _routing_error(404, f"no such path {path}")
        route, params = ROUTES.match("resource", method, rest)
        request.route_id = route.id if route is not None else None
        latency, outcome, fault = self.faults.draw(method, rest)
        if latency:
            await anyio.sleep(latency)
        if outcome == "hang":  # never answers: the client's timeout fires
            await anyio.sleep_forever()
        if outcome == "error" and fault is not None:
            raise HTTPError(
                fault.error_status,
                {
                    "message": "injected fault",
                    "errorCode": "ServiceUnavailable",
                    "errorCategoryKey": "Fault",
                },
            )
        if outcome == "reset" and fault is not None and fault.reset_phase == "before":
            raise ConnectionResetError("injected connection reset")
        grant = self.authenticate(request)
        request.application_id = grant.connector.application_id
        self.throttle(grant.connector)
        self.resource_calls += 1
        if self.move_after is not None and self.resource_calls > self.move_after:
            self.move_endpoint()
            return 308, None, {"location": self.endpoint_url}
        if route is None:
            raise not_found(f"{method} {rest[3:]}")
        if route.permission and route.permission not in grant.connector.permissions:
            raise HTTPError(
                403,
                {
                    "message": f"the connector lacks the {route.permission} permission",
                    "errorCode": "Forbidden",
                    "errorCategoryKey": "Permission",
                },
            )
        answer = await route.handler(Call(self, request, params, grant))
        if outcome == "reset":
            raise ConnectionResetError("injected connection reset (after processing)")
        return answer

    def throttle(self, connector: Connector) -> None:
        """Both scopes are asked first and a call refused by either is counted by neither (the
        throttle module's rule: refused calls are not counted)."""
        now = self.now()
        ok_c, wait_c = copy.deepcopy(connector.counter).check(now)
        ok_t, wait_t = copy.deepcopy(connector.tenant.counter).check(now)
        if not (ok_c and ok_t):
            connector.stats.reject()
            connector.tenant.stats.reject()
            wait = max(wait_c if not ok_c else 0, wait_t if not ok_t else 0)
            raise HTTPError(429, too_many(), {"retry-after": str(wait)})
        connector.counter.check(now)
        connector.tenant.counter.check(now)
        connector.stats.accept(now)
        connector.tenant.stats.accept(now)

    def authenticate(self, request: Request) -> AccessGrant:
        token = request.headers.get("accesstoken")
        if token is None:
            bearer = request.headers.get("authorization", "")
            token = bearer[7:] if bearer.lower().startswith("bearer ") else None
        grant = self.world.access.get(token or "")
        if grant is None or self.wall() >= grant.expires_at:
            raise HTTPError(401, INVALID_TOKEN)
        return grant

    # -- webhooks -----------------------------------------------------------------------------------
    def emit(self, group: Group, event_type: str, data: dict[str, Any], actor: str) -> None:
        """Deliver an event to the group's subscriptions and, for an action's events, to those
        on the action (``Action``) and on its package (``ActionPackage``)."""
        sender = {
            "fromUser": actor,
            "fromUserId": self.world.user_id(actor),
            "fromUserName": actor,
            "fromUserProfilePic": "",
        }
        self.hub.emit("Group", group.group_id, event_type, data, sender)
        action = self.actions.actions.get(str(data.get("actionId") or ""))
        if action is not None:
            self.hub.emit("Action", action.action_id, event_type, data, sender)
            self.hub.emit("ActionPackage", action.action_type, event_type, data, sender)
