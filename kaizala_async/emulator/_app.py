"""The emulator's ASGI application: routing, auth, throttling, moves, and the endpoints."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs

from kaizala_async._ratelimit import Rate

from ._state import AccessGrant, Connector, Group, Message, PinMessage, RefreshGrant, World
from ._throttle import ThrottleMethod

__all__ = ["EmulatorApp", "EmulatorConfig"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

INVALID_TOKEN = {
    "message": "Invalid token. Failure reason:Token validation failed due to unknown reason!",
    "errorCode": "InvalidToken",
    "errorCategoryKey": "AuthException",
}
BAD_CONNECTOR = {
    "message": "Dont have correct applicationId and secret in header!",
    "errorCode": "Unauthenticated",
    "errorCategoryKey": "AuthException",
}
_MOBILE = re.compile(r"^\+[1-9][0-9]{6,14}$")


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


class HTTPError(Exception):
    def __init__(
        self, status: int, body: dict[str, str] | None, headers: dict[str, str] | None = None
    ):
        self.status = status
        self.body = body
        self.headers = headers or {}


def _bad(message: str) -> HTTPError:
    return HTTPError(
        400,
        {"message": message, "errorCode": "InvalidParameters", "errorCategoryKey": "Validation"},
    )


def _lower(value: Any) -> Any:
    """Request keys matched case-insensitively (SPEC: the service's binder was)."""
    if isinstance(value, dict):
        return {str(k).lower(): _lower(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


def _jwt_like(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{signature}"


@attrs.define
class Request:
    method: str
    path: str  # without the endpoint prefix
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise _bad("the body is not JSON") from None
        if not isinstance(data, dict):
            raise _bad("the body must be a JSON object")
        return _lower(data)  # type: ignore[no-any-return]


class EmulatorApp:
    """An ASGI app that behaves like the Kaizala service (see the emulator docs page)."""

    def __init__(self, config: EmulatorConfig, *, clock: Callable[[], float] | None = None) -> None:
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

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> float:
        """Monotonic seconds: the given clock, else the running loop's (virtual time works)."""
        if self._clock is not None:
            value = self._clock()
        else:
            try:
                value = asyncio.get_running_loop().time()
            except RuntimeError:  # set-up outside any loop (create_connector, issue_refresh_token)
                return self._last
        if self._clock0 is None:
            self._clock0 = value
        self._last = value
        return value

    def wall(self) -> float:
        """Epoch seconds that advance with :meth:`now`."""
        now = self.now()
        return self._wall0 + (now - self._clock0 if self._clock0 is not None else 0.0)

    # -- control ------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"{self.origin}{self.prefix}/"

    def move_endpoint(self) -> str:
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

    def stats(self) -> dict[str, Any]:
        w = self.world
        return {
            "connectors": {c.application_id: c.stats.as_dict() for c in w.connectors.values()},
            "tenants": {t.name: t.stats.as_dict() for t in w.tenants.values()},
            "messagesPerGroup": {g.group_id: len(g.messages) for g in w.groups.values()},
            "throttle": w.method,
        }

    # -- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = {}
        for pair in scope.get("query_string", b"").decode().split("&"):
            if pair:
                key, _, value = pair.partition("=")
                query[key.lower()] = value
        request = Request(
            scope["method"].upper(), scope["path"].rstrip("/") or "/", headers, query, body
        )
        try:
            status, payload, extra = await self.dispatch(request)
        except HTTPError as error:
            status, payload, extra = error.status, error.body, error.headers
        raw = b"" if payload is None else json.dumps(payload).encode()
        head = (
            [(b"content-type", b"application/json; charset=utf-8")] if payload is not None else []
        )
        head += [(k.encode(), v.encode()) for k, v in extra.items()]
        head.append((b"date", email.utils.formatdate(self.wall(), usegmt=True).encode()))
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": raw})

    async def dispatch(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        path, method = request.path, request.method
        lowered = path.lower()
        if lowered.startswith("/_emulator/"):
            return self.control(request)
        if lowered in {"/v1/generatepin", "/v1/loginwithpinandapplicationid", "/v1/accesstoken"}:
            return self.token_service(request, lowered)
        # Resource calls: under the current endpoint prefix, else 308 from an old one.
        prefix = self.prefix
        if prefix and lowered.startswith(prefix + "/v1/"):
            rest = path[len(prefix) :]
        elif lowered.startswith("/v1/") and not prefix:
            rest = path
        elif any(lowered.startswith(p + "/v1/") for p in self.old_prefixes):
            return 308, None, {"location": self.endpoint_url}
        else:
            raise HTTPError(
                404,
                {
                    "message": f"no such path {path}",
                    "errorCode": "NotFound",
                    "errorCategoryKey": "Routing",
                },
            )
        grant = self.authenticate(request)
        self.throttle(grant.connector)
        self.resource_calls += 1
        if self.move_after is not None and self.resource_calls > self.move_after:
            self.move_endpoint()
            return 308, None, {"location": self.endpoint_url}
        return self.resource(method, rest[3:], request, grant)

    def throttle(self, connector: Connector) -> None:
        now = self.now()
        ok_c, wait_c = connector.counter.check(now)
        if not ok_c:
            connector.stats.reject()
            connector.tenant.stats.reject()
            raise HTTPError(429, _too_many(), {"retry-after": str(wait_c)})
        ok_t, wait_t = connector.tenant.counter.check(now)
        if not ok_t:
            # The connector's counter has already counted this refused call (counters cannot
            # un-count), so the emulator is slightly stricter here than a service that checks
            # both scopes before counting.
            connector.stats.reject()
            connector.tenant.stats.reject()
            raise HTTPError(429, _too_many(), {"retry-after": str(wait_t)})
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

    # -- token service (A1-A3) -------------------------------------------------------------------
    def token_service(self, request: Request, path: str) -> tuple[int, Any, dict[str, str]]:
        world = self.world
        if path == "/v1/accesstoken":
            if request.method != "GET":
                raise HTTPError(
                    405,
                    {
                        "message": "use GET",
                        "errorCode": "MethodNotAllowed",
                        "errorCategoryKey": "Routing",
                    },
                )
            connector = world.connectors.get(request.headers.get("applicationid", ""))
            if connector is None or not secrets.compare_digest(
                connector.application_secret, request.headers.get("applicationsecret", "")
            ):
                raise HTTPError(401, BAD_CONNECTOR)
            self.throttle(connector)
            refresh = request.headers.get("refreshtoken", "")
            grant = world.refresh.get(refresh)
            wall = self.wall()
            if grant is None or grant.connector is not connector or wall >= grant.expires_at:
                raise HTTPError(401, BAD_CONNECTOR)
            access = _jwt_like(
                {"appId": connector.application_id, "iat": int(wall), "n": secrets.token_hex(4)}
            )
            world.access[access] = AccessGrant(
                connector, grant.mobile_number, wall + self.config.access_token_ttl
            )
            rotated: str | None = None
            if wall >= grant.issued_at + 0.9 * (grant.expires_at - grant.issued_at):
                rotated = self.issue_refresh_token(connector, grant.mobile_number)
                del world.refresh[refresh]
            return (
                200,
                {
                    "accessToken": access,
                    "endpointUrl": self.endpoint_url,
                    "accessTokenExpiry": math.floor((wall + self.config.access_token_ttl) * 1000),
                    "refreshToken": rotated,
                    "scope": "token.write",
                },
                {},
            )
        data = request.json()
        connector = world.connectors.get(str(data.get("applicationid", "")))
        mobile = str(data.get("mobilenumber", ""))
        if connector is None:
            raise HTTPError(401, BAD_CONNECTOR)
        if not _MOBILE.match(mobile):
            raise _bad("mobileNumber must be a number with country code, e.g. +911234567890")
        self.throttle(connector)
        wall = self.wall()
        if path == "/v1/generatepin":
            # 4 digits, no leading zero: the PIN travels as a JSON integer (SPEC A2).
            pin = str(1000 + secrets.randbelow(9000))
            world.outbox.append(
                PinMessage(mobile, connector.application_id, pin, wall, wall + self.config.pin_ttl)
            )
            return 200, {}, {}
        pin = str(data.get("pin", "")).strip()
        for message in reversed(world.outbox):
            if (
                message.mobile_number == mobile
                and message.application_id == connector.application_id
                and not message.used
                and wall < message.expires_at
                and secrets.compare_digest(message.pin, pin.lstrip("0") or "0")
            ):
                message.used = True
                token = self.issue_refresh_token(connector, mobile)
                return (
                    200,
                    {
                        "refreshToken": token,
                        "grantedScope": connector.scopes,
                        "refreshTokenExpiry": math.floor(
                            (wall + self.config.refresh_token_ttl) * 1000
                        ),
                    },
                    {},
                )
        raise HTTPError(
            401,
            {
                "message": "The PIN is wrong or has expired",
                "errorCode": "Unauthenticated",
                "errorCategoryKey": "AuthException",
            },
        )

    # -- resources --------------------------------------------------------------------------------
    def resource(
        self, method: str, path: str, request: Request, grant: AccessGrant
    ) -> tuple[int, Any, dict[str, str]]:
        parts = [p for p in path.split("/") if p]
        lowered = [p.lower() for p in parts]
        caller = grant.mobile_number
        tenant = grant.connector.tenant.name
        if lowered == ["users", "me"] and method == "GET":
            return (
                200,
                {
                    "id": self.world.user_id(caller),
                    "mobileNumber": caller,
                    "name": caller,
                    "profilePic": "",
                },
                {},
            )
        if lowered == ["groups"] and method == "POST":
            return 200, self.create_group(request.json(), caller, tenant), {}
        if lowered == ["groups"] and method == "GET":
            groups = [g.as_json(caller) for g in self.world.groups.values() if caller in g.members]
            return 200, {"groups": groups}, {}
        if len(parts) >= 2 and lowered[0] == "groups":
            group = self.world.groups.get(parts[1])
            if group is None or caller not in group.members:
                raise HTTPError(
                    404,
                    {
                        "message": f"group {parts[1]} not found",
                        "errorCode": "NotFound",
                        "errorCategoryKey": "Resource",
                    },
                )
            if len(parts) == 2 and method == "GET":
                return 200, {"groups": [group.as_json(caller)]}, {}
            if lowered[2:] == ["messages"] and method == "POST":
                return 200, self.send_message(group, request.json(), caller), {}
        raise HTTPError(
            404,
            {
                "message": f"{method} {path} is not emulated yet",
                "errorCode": "NotFound",
                "errorCategoryKey": "Routing",
            },
        )

    def create_group(self, data: dict[str, Any], caller: str, tenant: str) -> dict[str, Any]:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("name is required")
        members = data.get("members") or []
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise _bad("members must be a list of phone numbers")
        if len(members) > self.config.max_group_members:
            raise _bad(f"at most {self.config.max_group_members} members")
        valid = [m for m in members if _MOBILE.match(m)]
        group = Group(
            group_id=self.world.new_id(),
            name=name,
            tenant=tenant,
            welcome_message=str(data.get("welcomemessage", "")),
            group_type=str(data.get("grouptype", "Group")),
            image_url=str(data.get("groupimageurl", "")),
            members={caller: "Admin", **dict.fromkeys(valid, "Member")},
        )
        self.world.groups[group.group_id] = group
        return {
            "groupId": group.group_id,
            "groupName": name,
            "membersAdded": len(valid) == len(members),
        }

    def send_message(self, group: Group, data: dict[str, Any], caller: str) -> dict[str, Any]:
        text = data.get("message")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message is required")
        if len(text) > self.config.max_message_length:
            raise _bad(f"message is longer than {self.config.max_message_length} characters")
        message = Message(str(uuid.uuid4()), text, caller, self.wall())
        group.messages.append(message)
        return {"referenceId": message.reference_id}

    # -- control routes -----------------------------------------------------------------------------
    def control(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        what = request.path.lower().removeprefix("/_emulator/")
        if what == "stats" and request.method == "GET":
            return 200, self.stats(), {}
        if what == "outbox" and request.method == "GET":
            return (
                200,
                {
                    "messages": [
                        {
                            "mobileNumber": m.mobile_number,
                            "applicationId": m.application_id,
                            "pin": m.pin,
                            "sentAt": m.sent_at,
                        }
                        for m in self.world.outbox
                    ]
                },
                {},
            )
        if what == "move" and request.method == "POST":
            data = request.json()
            after = data.get("after")
            if after is None:
                return 200, {"endpointUrl": self.move_endpoint()}, {}
            self.move_after = self.resource_calls + int(after)
            return 200, {"endpointUrl": self.endpoint_url, "movesAfter": int(after)}, {}
        raise HTTPError(
            404,
            {
                "message": f"unknown control route {request.path}",
                "errorCode": "NotFound",
                "errorCategoryKey": "Routing",
            },
        )


def _too_many() -> dict[str, str]:
    return {
        "message": "Too many requests",
        "errorCode": "TooManyRequests",
        "errorCategoryKey": "Throttling",
    }
