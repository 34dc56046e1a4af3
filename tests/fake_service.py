"""A small scripted Kaizala stand-in (ASGI) for the core tests.

It knows the token service (A1-A3) and answers any other ``/v1/...`` path with the request echoed,
after checking the access token. Tests script it: token lifetime, rotation, revocation, 308 moves,
429s. The full-fidelity service is ``kaizala_async.emulator``; this one exists so the transport
can be tested call by call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import attrs

from kaizala_async._asgi import Receive, Scope, Send, read_body, serve_lifespan

APP_ID = "app-1"
APP_SECRET = "s3cret-app-value"
REFRESH = "refresh-token-0001"


@attrs.define
class Seen:
    method: str
    path: str
    host: str
    headers: dict[str, str]
    body: bytes
    at: float
    query: str = ""


@attrs.define
class FakeKaizala:
    token_ttl: float = 3600.0
    endpoint: str = "https://kms.kaiza.la/"
    rotate_on: set[int] = attrs.field(factory=set)  # A3 call numbers that rotate
    token_latency: float = 0.0
    calls: list[Seen] = attrs.field(factory=list)
    token_calls: int = 0
    pins: list[tuple[str, str]] = attrs.field(factory=list)
    valid_refresh: set[str] = attrs.field(factory=lambda: {REFRESH})
    tokens: dict[str, float] = attrs.field(factory=dict)  # access token -> loop-time expiry
    expired_uses: int = 0
    reject_tokens: bool = False  # answer InvalidToken to every resource call
    move_to: str | None = None  # answer 308 with this Location to the next resource call(s)
    moves_left: int = 0
    throttle: list[str | None] = attrs.field(factory=list)  # Retry-After values for next 429s
    replies: list[Any] = attrs.field(factory=list)  # JSON answers for the next resource calls
    #: Connectors the service knows (application id -> secret); each shares REFRESH.
    apps: dict[str, str] = attrs.field(factory=lambda: {APP_ID: APP_SECRET})
    token_apps: dict[str, str] = attrs.field(factory=dict)  # access token -> application id
    _ids: Any = attrs.field(factory=lambda: itertools.count(1))

    def revoke_all(self) -> None:
        self.tokens.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        now = asyncio.get_running_loop().time()
        seen = Seen(
            scope["method"],
            scope["path"],
            headers.get("host", ""),
            headers,
            body,
            now,
            scope.get("query_string", b"").decode(),
        )
        self.calls.append(seen)
        status, extra, payload = await self.handle(seen, now)
        raw = b"" if payload is None else json.dumps(payload).encode()
        head = [(b"content-type", b"application/json")] + [
            (k.encode(), v.encode()) for k, v in extra.items()
        ]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": raw})

    async def handle(self, seen: Seen, now: float) -> tuple[int, dict[str, str], Any]:
        path = seen.path
        if path == "/v1/generatePin":
            data = json.loads(seen.body)
            self.pins.append((data["mobileNumber"], "4321"))
            return 200, {}, {}
        if path == "/v1/loginWithPinAndApplicationId":
            data = json.loads(seen.body)
            if data.get("pin") != 4321:
                return 401, {}, {"message": "bad pin", "errorCode": "Unauthenticated"}
            token = f"refresh-from-pin-{next(self._ids)}"
            self.valid_refresh.add(token)
            return (
                200,
                {},
                {
                    "refreshToken": token,
                    "grantedScope": "groupinfo.read,textmessage.read",
                    "refreshTokenExpiry": int((time.time() + 365 * 86400) * 1000),
                },
            )
        if path == "/v1/accessToken":
            self.token_calls += 1
            h = seen.headers
            if (
                h.get("applicationid") not in self.apps
                or h.get("applicationsecret") != self.apps[h["applicationid"]]
                or h.get("refreshtoken") not in self.valid_refresh
            ):
                return (
                    401,
                    {},
                    {
                        "message": "Dont have correct applicationId and secret in header!",
                        "errorCode": "Unauthenticated",
                        "errorCategoryKey": "AuthException",
                    },
                )
            if self.token_latency:
                await asyncio.sleep(self.token_latency)
                now = asyncio.get_running_loop().time()
            token = f"access-{next(self._ids)}"
            self.tokens[token] = now + self.token_ttl
            self.token_apps[token] = h["applicationid"]
            answer: dict[str, Any] = {
                "accessToken": token,
                "endpointUrl": self.endpoint,
                "accessTokenExpiry": int((time.time() + self.token_ttl) * 1000),
                "refreshToken": None,
                "scope": "token.write",
            }
            if self.token_calls in self.rotate_on:
                new = f"rotated-{self.token_calls}"
                self.valid_refresh = {new}
                answer["refreshToken"] = new
            return 200, {}, answer
        # Any resource call.
        presented = seen.headers.get("accesstoken")
        expiry = self.tokens.get(presented or "")
        if expiry is None or now >= expiry or self.reject_tokens:
            if expiry is not None:
                self.expired_uses += 1
            return (
                401,
                {},
                {
                    "message": "Invalid token. Failure reason:Token validation failed due to unknown reason!",
                    "errorCode": "InvalidToken",
                    "errorCategoryKey": "AuthException",
                },
            )
        if self.move_to and self.moves_left > 0:
            self.moves_left -= 1
            return 308, {"location": self.move_to}, None
        if self.throttle:
            retry_after = self.throttle.pop(0)
            return (
                429,
                ({"retry-after": retry_after} if retry_after is not None else {}),
                {"message": "Too many requests", "errorCode": "TooManyRequests"},
            )
        if path.startswith("/v1/fail/"):
            status = int(path.rsplit("/", 1)[1])
            return status, {}, {"message": "failed on purpose", "errorCode": "Scripted"}
        if self.replies:
            return 200, {}, self.replies.pop(0)
        return 200, {}, {"method": seen.method, "path": path, "host": seen.host, "at": now}

    def resource_calls(self) -> list[Seen]:
        return [
            c
            for c in self.calls
            if c.path
            not in {"/v1/accessToken", "/v1/generatePin", "/v1/loginWithPinAndApplicationId"}
        ]
