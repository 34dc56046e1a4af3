"""The emulator's ASGI application: routing, auth, throttling, moves, and the endpoints."""

from __future__ import annotations

import asyncio
import base64
import copy
import email.utils
import json
import math
import random
import re
import secrets
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import httpx

from kaizala_async._asgi import Receive, Scope, Send, read_body, serve_lifespan
from kaizala_async._ratelimit import Rate

from ._content import Content, ContentError
from ._faults import Fault, FaultPlan
from ._network import NetworkProfile
from ._state import (
    AccessGrant,
    Connector,
    Group,
    Message,
    PinMessage,
    RefreshGrant,
    World,
)
from ._throttle import ThrottleMethod
from ._webhooks import EVENT_TYPES, OBJECT_TYPES, Webhook, WebhookHub

__all__ = ["EmulatorApp", "EmulatorConfig"]


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
_MOBILE = re.compile(r"^\+[1-9][0-9]{6,14}\Z")


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

    @classmethod
    def fast(cls, **changes: Any) -> EmulatorConfig:
        """The real limits' shape, 60 times faster: 100 calls/s per connector, 300/s per tenant.

        For demos and examples that should finish in seconds; ``changes`` override any field.
        """
        changes.setdefault("connector_limit", Rate(100, 1.0))
        changes.setdefault("tenant_limit", Rate(300, 1.0))
        return cls(**changes)


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
    """Request keys matched case-insensitively (API reference: the service's binder was)."""
    if isinstance(value, dict):
        return {str(k).lower(): _lower(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


_UNQUOTED_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:")


def _relaxed_json(raw: bytes) -> Any:
    """The Postman collection's relaxed JSON: unquoted or single-quoted keys (API reference: accepted)."""
    text = raw.decode("utf-8", "replace")
    text = re.sub(r"'([^'\\]*)'", lambda m: json.dumps(m.group(1)), text)
    text = _UNQUOTED_KEY.sub(lambda m: f'{m.group(1)}"{m.group(2)}":', text)
    try:
        return json.loads(text)
    except ValueError:
        raise _bad("the body is not JSON") from None


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
            data = _relaxed_json(self.body)
        if not isinstance(data, dict):
            raise _bad("the body must be a JSON object")
        return _lower(data)  # type: ignore[no-any-return]


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
        self._oauth_codes: dict[str, tuple[str, str]] = {}
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
        network = self.config.network
        if network is not None and request.path.lower().startswith("/_emulator/"):
            network = None  # the control routes are the test harness's, not the service's
        if network is not None:  # on its way in: the throttle sees the call only now
            await asyncio.sleep(network.draw(self._network_random))
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
        raw = b"" if payload is None else json.dumps(payload).encode()
        head = (
            [(b"content-type", b"application/json; charset=utf-8")] if payload is not None else []
        )
        head += [(k.encode(), v.encode()) for k, v in extra.items()]
        head.append((b"date", email.utils.formatdate(self.wall(), usegmt=True).encode()))
        if network is not None:  # on its way back
            await asyncio.sleep(network.draw(self._network_random))
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": raw})

    async def dispatch(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        path, method = request.path, request.method
        lowered = path.lower()
        if lowered.startswith("/_emulator/"):
            return self.control(request)
        if lowered in {"/api/oauth/authorize", "/api/oauth/token"}:
            return self.oauth(request, lowered)
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
        latency, outcome, fault = self.faults.draw(method, rest)
        if latency:
            await asyncio.sleep(latency)
        if outcome == "hang":
            await (
                asyncio.get_running_loop().create_future()
            )  # never answers: the client's timeout fires
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
        self.throttle(grant.connector)
        self.resource_calls += 1
        if self.move_after is not None and self.resource_calls > self.move_after:
            self.move_endpoint()
            return 308, None, {"location": self.endpoint_url}
        answer = await self.resource(method, rest[3:], request, grant)
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
            raise HTTPError(429, _too_many(), {"retry-after": str(wait)})
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
            rotated: str | None = None
            if wall >= grant.issued_at + 0.9 * (grant.expires_at - grant.issued_at):
                rotated = self.issue_refresh_token(connector, grant.mobile_number)
                del world.refresh[refresh]
            return 200, self._access_answer(connector, grant.mobile_number, rotated=rotated), {}
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
            # 4 digits, no leading zero: the PIN travels as a JSON integer (API A2).
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

    # -- OAuth (A4, A5) ------------------------------------------------------------------------------
    def oauth(self, request: Request, path: str) -> tuple[int, Any, dict[str, str]]:
        world = self.world
        if path == "/api/oauth/authorize" and request.method == "GET":
            connector = world.connectors.get(request.query.get("client_id", ""))
            redirect = request.query.get("redirect_uri", "")
            if connector is None or not redirect.startswith(("http://", "https://")):
                raise _bad("client_id must name a connector and redirect_uri must be a URL")
            # The browser sign-in is emulated: the user is the one named by the (emulator-only)
            # mobileNumber parameter, by default the demo number.
            mobile = request.query.get("mobilenumber", "") or "+911234567890"
            code = secrets.token_urlsafe(16)
            self._oauth_codes[code] = (connector.application_id, mobile)
            separator = "&" if "?" in redirect else "?"
            return 302, None, {"location": f"{redirect}{separator}code={code}"}
        if path == "/api/oauth/token" and request.method == "POST":
            form = dict(urllib.parse.parse_qsl(request.body.decode("utf-8", "replace")))
            connector = world.connectors.get(form.get("client_id", ""))
            if connector is None or not secrets.compare_digest(
                connector.application_secret, form.get("client_secret", "")
            ):
                raise HTTPError(401, BAD_CONNECTOR)
            issued = self._oauth_codes.pop(form.get("code", ""), None)
            if issued is None or issued[0] != connector.application_id:
                raise HTTPError(
                    401,
                    {
                        "message": "The code is wrong or was used",
                        "errorCode": "Unauthenticated",
                        "errorCategoryKey": "AuthException",
                    },
                )
            self.throttle(connector)
            refresh = self.issue_refresh_token(connector, issued[1])
            return 200, self._access_answer(connector, issued[1], rotated=refresh), {}
        raise HTTPError(
            405,
            {
                "message": "method not allowed",
                "errorCode": "MethodNotAllowed",
                "errorCategoryKey": "Routing",
            },
        )

    def _access_answer(
        self, connector: Connector, mobile: str, *, rotated: str | None
    ) -> dict[str, Any]:
        wall = self.wall()
        access = _jwt_like(
            {"appId": connector.application_id, "iat": int(wall), "n": secrets.token_hex(4)}
        )
        self.world.access[access] = AccessGrant(
            connector, mobile, wall + self.config.access_token_ttl
        )
        return {
            "accessToken": access,
            "endpointUrl": self.endpoint_url,
            "accessTokenExpiry": math.floor((wall + self.config.access_token_ttl) * 1000),
            "refreshToken": rotated,
            "scope": "token.write",
        }

    # -- resources --------------------------------------------------------------------------------
    async def resource(
        self, method: str, path: str, request: Request, grant: AccessGrant
    ) -> tuple[int, Any, dict[str, str]]:
        parts = [p for p in path.split("/") if p]
        key = [p.lower() for p in parts]
        caller = grant.mobile_number
        if key == ["users", "me"] and method == "GET":
            me = {
                "id": self.world.user_id(caller),
                "mobileNumber": caller,
                "name": caller,
                "profilePic": "",
            }
            return 200, me, {}
        if key == ["groups"]:
            if method == "POST":
                return (
                    200,
                    self.create_group(request.json(), caller, grant.connector.tenant.name),
                    {},
                )
            if method == "GET":
                return 200, {"groups": [g.as_json(caller) for g in self.visible(caller)]}, {}
        family = _FAMILIES.get(key[0] if key else "", "")
        if len(key) >= 3 and key[0] == "groups":
            family = _FAMILIES.get(key[2], "groupinfo")
        if family and family not in grant.connector.permissions:
            raise HTTPError(
                403,
                {
                    "message": f"the connector lacks the {family} permission",
                    "errorCode": "Forbidden",
                    "errorCategoryKey": "Permission",
                },
            )
        answer = await self.content_resource(method, key, parts, request, grant)
        if answer is not None:
            return 200, answer, {}
        if key == ["webhook"]:
            if method == "POST":
                return 200, await self.register_webhook(request.json(), grant), {}
            if method == "GET":
                hooks = [
                    h.as_json()
                    for h in self.hub.hooks.values()
                    if h.object_id == request.query.get("objectid")
                    and h.object_type.lower() == request.query.get("objecttype", "").lower()
                ]
                return 200, {"webhooks": hooks}, {}
        if len(key) == 2 and key[0] == "webhook" and method in {"PUT", "DELETE"}:
            hook = self.hub.hooks.get(parts[1])
            if hook is None:
                raise _not_found(f"webhook {parts[1]}")
            if method == "DELETE":
                del self.hub.hooks[hook.id]
            else:
                await self.update_webhook(hook, request.json())
            return 200, {"result": True}, {}
        if len(key) >= 2 and key[0] == "groups":
            group = self.world.groups.get(parts[1])
            if group is None or caller not in group.members:
                raise _not_found(f"group {parts[1]}")
            return await self.group_resource(method, key[2:], parts[2:], group, request, caller)
        raise _not_found(f"{method} {path}")

    def visible(self, caller: str) -> list[Group]:
        return [g for g in self.world.groups.values() if caller in g.members]

    async def group_resource(
        self,
        method: str,
        key: list[str],
        parts: list[str],
        group: Group,
        request: Request,
        caller: str,
    ) -> tuple[int, Any, dict[str, str]]:
        world = self.world
        if not key and method == "GET":
            return 200, {"groups": [group.as_json(caller)]}, {}
        answer = self.group_content(method, key, parts, group, request, caller)
        if answer is not None:
            return 200, answer, {}
        if key == ["messages"] and method == "POST":
            return 200, self.send_message(group, request.json(), caller), {}
        if key == ["members"]:
            if method == "GET":
                members = [
                    {"id": world.user_id(m), "role": role, "mobileNumber": m, "isProvisioned": True}
                    for m, role in group.members.items()
                ]
                return 200, {"members": members}, {}
            if method == "PUT":
                numbers = _numbers(request.json(), "members")
                added = [m for m in numbers if _MOBILE.match(m)]
                for number in added:
                    if number not in group.members:
                        group.members[number] = "Member"
                        self.emit(group, "MemberAdded", _member_data(number, "Member"), caller)
                return 200, {"result": len(added) == len(numbers)}, {}
        if len(key) == 2 and key[0] == "members" and method == "DELETE":
            for number in list(group.members):
                if world.user_id(number) == parts[1] or number == parts[1]:
                    role = group.members.pop(number)
                    self.emit(group, "MemberRemoved", _member_data(number, role), caller)
                    return 200, {"result": True}, {}
            raise _not_found(f"member {parts[1]}")
        if key == ["subgroups"]:
            if method == "GET":
                children = [
                    world.groups[c].as_json(caller) | {"isDuplicate": False}
                    for c in sorted(group.children)
                ]
                return 200, group.as_json(caller) | {"subGroups": children}, {}
            if method == "POST":
                data = request.json()
                if "name" not in data and "groupname" in data:
                    data["name"] = data["groupname"]
                add_caller = data.get("addusertogroup", True)
                created = self.create_group(
                    data, caller, group.tenant, add_caller=_truthy(add_caller)
                )
                self.attach(group, world.groups[created["groupId"]], caller)
                return 200, {"groupId": created["groupId"], "groupName": created["groupName"]}, {}
            if method == "PUT":
                ids = request.json().get("subgroups")
                if not isinstance(ids, list) or not ids:
                    raise _bad("subGroups must be a non-empty list of group ids")
                for child_id in ids:
                    child = world.groups.get(str(child_id))
                    if child is None or child is group:
                        raise _bad(f"subGroups: {child_id} is not a group that can be attached")
                    self.attach(group, child, caller)
                return 200, {"result": True}, {}
        if len(key) == 2 and key[0] == "subgroups" and method == "DELETE":
            child = world.groups.get(parts[1])
            if child is None or child.group_id not in group.children:
                raise _not_found(f"sub-group {parts[1]}")
            group.children.discard(child.group_id)
            child.parents.discard(group.group_id)
            self.emit(group, "GroupRemoved", _group_data(child), caller)
            return 200, {"result": True}, {}
        if key == ["subscribers"] and method == "POST":
            return 200, self.list_subscribers(group, request.json()), {}
        if (
            len(key) == 2
            and key[0] == "subscribers"
            and key[1] in {"add", "remove"}
            and method == "PUT"
        ):
            if group.group_type.lower() != "connectgroup":
                raise _bad("subscribers exist only in public (ConnectGroup) groups")
            numbers = _numbers(request.json(), "subscribers")
            result: dict[str, dict[str, Any]] = {}
            for number in numbers:
                if not _MOBILE.match(number):
                    flag = "isAdded" if key[1] == "add" else "isRemoved"
                    result[number] = {
                        flag: False,
                        "errorReason": "Invalid phone number",
                        "errorCode": "InvalidParameters",
                    }
                elif key[1] == "add":
                    group.subscribers[number] = world.user_id(number)
                    result[number] = {"isAdded": True}
                else:
                    found = group.subscribers.pop(number, None) is not None
                    result[number] = {"isRemoved": found} | (
                        {}
                        if found
                        else {"errorReason": "Not a subscriber", "errorCode": "NotFound"}
                    )
            return 200, {"result": result}, {}
        raise _not_found(f"{method} /groups/{group.group_id}/{'/'.join(parts)}")

    def attach(self, parent: Group, child: Group, caller: str) -> None:
        parent.children.add(child.group_id)
        child.parents.add(parent.group_id)
        self.emit(parent, "GroupAdded", _group_data(child), caller)

    def list_subscribers(self, group: Group, data: dict[str, Any]) -> dict[str, Any]:
        try:
            count = int(data.get("count", 50))
            start = int(data.get("cursor") or 0)
        except (TypeError, ValueError):
            raise _bad("count must be a number and cursor a value from a previous page") from None
        count = max(1, min(50, count))
        numbers = sorted(group.subscribers)
        page = numbers[start : start + count]
        answer: dict[str, Any] = {
            "subscribers": [
                {
                    "id": group.subscribers[n],
                    "mobileNumber": n,
                    "name": "",
                    "profilePic": "",
                    "isProvisioned": True,
                }
                for n in page
            ]
        }
        if start + count < len(numbers):
            answer["cursor"] = str(start + count)
        return answer

    def create_group(
        self, data: dict[str, Any], caller: str, tenant: str, *, add_caller: bool = True
    ) -> dict[str, Any]:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("name is required")
        members = data.get("members") or []
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise _bad("members must be a list of phone numbers")
        if len(members) > self.config.max_group_members:
            raise _bad(f"at most {self.config.max_group_members} members")
        group_type = str(data.get("grouptype") or "Group")
        if group_type.lower() not in {"group", "connectgroup"}:
            raise _bad("groupType must be Group or ConnectGroup")
        valid = [m for m in members if _MOBILE.match(m)]
        roster = dict.fromkeys(valid, "Member")
        roster[caller] = "Admin"  # the caller administers the group (and can manage it) ...
        group = Group(
            group_id=self.world.new_id(),
            name=name,
            tenant=tenant,
            welcome_message=str(data.get("welcomemessage") or ""),
            group_type="ConnectGroup" if group_type.lower() == "connectgroup" else "Group",
            image_url=str(data.get("groupimageurl") or ""),
            members=roster,
            short_description=str(data.get("shortdescriptionstring") or ""),
            long_description=str(data.get("longdescriptionstring") or ""),
        )
        if not add_caller and caller not in valid:
            # ... unless addUserToGroup is false: then it stays out of the member list but keeps
            # admin rights through the parent (the emulator keeps it as an Admin for access).
            group.members[caller] = "Admin"
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
        answer: dict[str, Any] = {}
        subscribers = data.get("subscribers")
        if _truthy(data.get("sendtoallsubscribers", False)) or subscribers:
            if group.group_type != "ConnectGroup":
                raise _bad(
                    "sendToAllSubscribers and subscribers apply only to public (ConnectGroup) groups"
                )
            if isinstance(subscribers, list):
                failed = [
                    {
                        "subscriber": s,
                        "subscriberId": "",
                        "errorReason": "Not a subscriber",
                        "errorCode": "NotFound",
                    }
                    for s in subscribers
                    if s not in group.subscribers
                ]
                if failed:
                    answer["failedResult"] = failed
        message = Message(str(uuid.uuid4()), text, caller, self.wall())
        group.messages.append(message)
        reply_to = data.get("replytoreferenceid")
        event = {
            "text": text,
            "groupId": group.group_id,
            "sourceGroupId": group.group_id,
            "messageId": message.reference_id,
            "isReply": bool(reply_to),
        }
        if reply_to:
            event["originalMessageId"] = str(reply_to)
        self.emit(group, "TextMessageCreated", event, caller)
        answer["referenceId"] = message.reference_id
        return answer

    # -- content: media, actions, reactions, bots, tenant ------------------------------------------
    async def content_resource(
        self, method: str, key: list[str], parts: list[str], request: Request, grant: AccessGrant
    ) -> dict[str, Any] | None:
        content, caller = self.content, grant.mobile_number
        if key == ["media"] and method == "POST":
            return content.upload(request.headers.get("content-type", ""), request.body)
        if key == ["media", "url"] and method == "POST":
            return content.upload_url(request.json())
        if key == ["tenant", "findgroupsbyquery"] and method == "GET":
            text = request.query.get("query", "").lower()
            try:
                offset = int(request.query.get("resultsoffset") or 0)
                size = int(request.query.get("pagesize") or 10)
            except ValueError:
                raise _bad("resultsOffset and pageSize must be numbers") from None
            tenant = grant.connector.tenant.name
            found = [
                g
                for g in self.world.groups.values()
                if g.tenant == tenant and text in g.name.lower()
            ]
            found.sort(key=lambda g: g.name)
            return {"groups": [g.as_json(caller) for g in found[offset : offset + max(1, size)]]}
        if key and key[0] == "bot":
            if key == ["bot"] and method == "POST":
                return content.create_bot(request.json(), grant.connector.tenant.name, caller)
            if key == ["bot"] and method == "GET":
                creator_id = self.world.user_id(caller)
                return {
                    "bots": [
                        b.as_json(creator_id) for b in content.bots.values() if b.creator == caller
                    ]
                }
            if len(key) == 3 and key[1] == "accesstoken" and method == "GET":
                bot = content.bot(parts[2], caller)
                wall = self.wall()
                token = _jwt_like(
                    {"bot": bot.bot_user_id, "iat": int(wall), "n": secrets.token_hex(4)}
                )
                expires = wall + self.config.access_token_ttl
                self.world.access[token] = AccessGrant(
                    grant.connector, f"bot:{bot.bot_user_id}", expires
                )
                return {
                    "accessToken": token,
                    "accessTokenExpiry": math.floor(expires * 1000),
                    "scope": "bot",
                }
            if len(key) == 2 and method in {"PUT", "DELETE"}:
                bot = content.bot(parts[1], caller)
                if method == "DELETE":
                    del content.bots[bot.bot_user_id]
                else:
                    data = request.json()
                    bot.name = str(data.get("name") or bot.name)
                    bot.profile_pic = str(data.get("profilepic") or bot.profile_pic)
                return {"result": True}
        return None

    def group_content(
        self,
        method: str,
        key: list[str],
        parts: list[str],
        group: Group,
        request: Request,
        caller: str,
    ) -> dict[str, Any] | None:
        content = self.content
        if key == ["actions"]:
            if method == "POST":
                action, events = content.send_action(
                    group.group_id, request.json(), caller, self.wall()
                )
                group.messages.append(
                    Message(action.reference_id, f"[{action.action_type}]", caller, action.sent_at)
                )
                for event_type, data in events:
                    self.emit(group, event_type, data, caller)
                return {"referenceId": action.reference_id, "actionId": action.action_id}
            if method == "GET":
                return content.list_actions(group.group_id, request.query)
        if len(key) >= 2 and key[0] == "actions":
            found = content.actions.get(parts[1])
            if found is None or found.group_id != group.group_id:
                raise ContentError(404, f"action {parts[1]} not found", "NotFound")
            action = found
            if len(key) == 2 and method == "GET":
                flag = request.query.get("getdetails", "false").lower() == "true"
                return content.details(action, flag)
            if key[2:] == ["responses"] and method == "POST":
                response_id, events = content.respond(action, request.json(), caller)
                for event_type, data in events:
                    self.emit(group, event_type, data, caller)
                return {"responseId": response_id}
        if key and key[0] == "reaction":
            if key == ["reaction"] and method == "POST":
                known = {m.reference_id for g in self.world.groups.values() for m in g.messages}
                return content.react(request.json(), self.world.user_id(caller), known, self.wall())
            if key == ["reaction", "summary"] and method == "GET":
                return content.group_summary(request.query)
            if len(key) == 3 and key[2] == "summary" and method == "GET":
                return content.item_summary(parts[1], request.query)
            if len(key) == 2 and method == "GET":
                return content.reaction_details(parts[1], request.query)
        if key == ["bot"] and method == "POST":
            bot = content.bot(str(request.json().get("botuserid") or ""), caller)
            bot.groups.add(group.group_id)
            group.members[f"bot:{bot.bot_user_id}"] = "Member"
            return {"result": True}
        return None

    # -- webhooks -----------------------------------------------------------------------------------
    def emit(self, group: Group, event_type: str, data: dict[str, Any], actor: str) -> None:
        self.hub.emit(
            "Group",
            group.group_id,
            event_type,
            data,
            {
                "fromUser": actor,
                "fromUserId": self.world.user_id(actor),
                "fromUserName": actor,
                "fromUserProfilePic": "",
            },
        )

    async def register_webhook(self, data: dict[str, Any], grant: AccessGrant) -> dict[str, Any]:
        object_id = data.get("objectid")
        object_type = str(data.get("objecttype") or "")
        events = data.get("eventtypes")
        url = data.get("callbackurl")
        if not isinstance(object_id, str) or not object_id:
            raise _bad("objectId is required")
        matched = [t for t in OBJECT_TYPES if t.lower() == object_type.lower()]
        if not matched:
            raise _bad("objectType must be Group, Action or ActionPackage")
        if not isinstance(events, list) or not events:
            raise _bad("eventTypes must be a non-empty list")
        canonical = {e.lower(): e for e in EVENT_TYPES}
        unknown = [e for e in events if str(e).lower() not in canonical]
        if unknown:
            raise _bad(f"unknown event types: {unknown}")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad("callBackUrl must be an http(s) URL")
        if matched[0] == "Group":
            group = self.world.groups.get(object_id)
            if group is None or grant.mobile_number not in group.members:
                raise _not_found(f"group {object_id}")
        problem = await self.hub.validate(url)
        if problem:
            raise _bad(problem)
        now = self.wall_ms()
        validity = data.get("validity")
        hook = Webhook(
            id=str(uuid.uuid4()),
            object_id=object_id,
            object_type=matched[0],
            events=[canonical[str(e).lower()] for e in events],
            callback_url=url,
            callback_token=str(data.get("callbacktoken") or ""),
            callback_context=str(data.get("callbackcontext") or ""),
            ts=now,
            validity=int(validity) if validity is not None else now + 2 * 365 * 86_400_000,
            owner=grant.connector.application_id,
        )
        self.hub.hooks[hook.id] = hook
        return {"webhookId": hook.id}

    async def update_webhook(self, hook: Webhook, data: dict[str, Any]) -> None:
        url = data.get("callbackurl")
        if isinstance(url, str) and url != hook.callback_url:
            problem = await self.hub.validate(url)  # re-validated when it changes (API G-12)
            if problem:
                raise _bad(problem)
            hook.callback_url = url
        if "eventtypes" in data:
            hook.events = [str(e) for e in data["eventtypes"]]
        if "callbacktoken" in data:
            hook.callback_token = str(data["callbacktoken"] or "")
        if "callbackcontext" in data:
            hook.callback_context = str(data["callbackcontext"] or "")
        if "validity" in data:
            hook.validity = int(data["validity"])
        if "active" in data:
            hook.active = _truthy(data["active"])

    def seed_groups(self, count: int, mobile_number: str, tenant: str) -> list[str]:
        """Create ``count`` groups administered by ``mobile_number`` without any API call (test
        and benchmark set-up; nothing is counted against a limit)."""
        return [
            self.create_group(
                {"name": f"Group {n:06d}", "welcomemessage": "Hi"}, mobile_number, tenant
            )["groupId"]
            for n in range(count)
        ]

    def wall_ms(self) -> int:
        return math.floor(self.wall() * 1000)

    # -- control routes -----------------------------------------------------------------------------
    def control(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        what = request.path.lower().removeprefix("/_emulator/")
        if what == "stats" and request.method == "GET":
            return 200, self.stats(), {}
        if what == "outbox" and request.method == "GET":
            return 200, {"messages": [m.as_json() for m in self.world.outbox]}, {}
        if what == "faults" and request.method == "POST":
            data = request.json()
            try:
                fault = Fault(
                    route=str(data.get("route") or "*"),
                    latency=float(data.get("latency") or 0.0),
                    error_rate=float(data.get("errorrate") or 0.0),
                    error_status=int(data.get("errorstatus") or 503),
                    reset_rate=float(data.get("resetrate") or 0.0),
                    reset_phase="after"
                    if str(data.get("resetphase")).lower() == "after"
                    else "before",
                    hang_rate=float(data.get("hangrate") or 0.0),
                )
            except (TypeError, ValueError) as exc:
                raise _bad(f"bad fault: {exc}") from None
            self.faults.add(fault)
            return 200, {"faults": len(self.faults.faults)}, {}
        if what == "faults" and request.method == "DELETE":
            self.faults.clear()
            return 200, {"faults": 0}, {}
        if what == "faults" and request.method == "GET":
            return (
                200,
                {"injected": dict(self.faults.injected), "faults": len(self.faults.faults)},
                {},
            )
        if what == "groups" and request.method == "POST":
            data = request.json()
            count = data.get("count")
            mobile = str(data.get("mobilenumber") or "")
            if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 100_000:
                raise _bad("count must be a whole number from 1 to 100000")
            if not _MOBILE.match(mobile):
                raise _bad("mobileNumber must be an E.164 number")
            tenant = str(data.get("tenant") or "contoso")
            return 200, {"groupIds": self.seed_groups(count, mobile, tenant)}, {}
        if what == "move" and request.method == "POST":
            data = request.json()
            after = data.get("after")
            if after is None:
                return 200, {"endpointUrl": self.move_endpoint()}, {}
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                raise _bad("after must be a non-negative whole number of calls")
            return 200, {"endpointUrl": self.move_endpoint(after), "movesAfter": after}, {}
        raise HTTPError(
            404,
            {
                "message": f"unknown control route {request.path}",
                "errorCode": "NotFound",
                "errorCategoryKey": "Routing",
            },
        )


#: Path family -> the portal permission it needs (API reference, "Connector permissions and scopes").
_FAMILIES = {
    "groups": "groupinfo",
    "subgroups": "groupinfo",
    "members": "groupmember",
    "subscribers": "groupmember",
    "messages": "textmessage",
    "actions": "action",
    "media": "media",
    "webhook": "webhook",
    "users": "profile",
    "reaction": "reaction",
    "tenant": "tenant",
}


def _not_found(what: str) -> HTTPError:
    return HTTPError(
        404,
        {"message": f"{what} not found", "errorCode": "NotFound", "errorCategoryKey": "Resource"},
    )


def _truthy(value: Any) -> bool:
    """Booleans arrive as JSON booleans or as "true"/"false" strings (API reference leniency)."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _numbers(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _bad(f"{key} must be a non-empty list of phone numbers")
    return value


def _member_data(number: str, role: str) -> dict[str, str]:
    return {"member": number, "memberName": number, "memberProfilePic": "", "type": role}


def _group_data(group: Group) -> dict[str, str]:
    return {
        "groupId": group.group_id,
        "groupName": group.name,
        "groupPicUrl": group.image_url,
        "groupType": group.group_type,
    }


def _too_many() -> dict[str, str]:
    return {
        "message": "Too many requests",
        "errorCode": "TooManyRequests",
        "errorCategoryKey": "Throttling",
    }
