"""An ``httpx.MockTransport`` that answers like the service, as fast as possible (limits lifted)."""

from __future__ import annotations

import itertools
import json
import time

import httpx

from kaizala_async import Credentials, KaizalaClient, RateLimits

CREDENTIALS = Credentials("bench-app", "bench-secret", "bench-refresh")
_TOKEN = json.dumps(
    {
        "accessToken": "bench-access",
        "endpointUrl": "https://kms.kaiza.la",
        "accessTokenExpiry": int((time.time() + 86_400) * 1000),
        "refreshToken": None,
        "scope": "token.write",
    }
).encode()


def mock_transport() -> httpx.MockTransport:
    numbers = itertools.count()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/accessToken":
            return httpx.Response(200, content=_TOKEN, headers={"content-type": "application/json"})
        body = b'{"referenceId": "ref-%d"}' % next(numbers)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(answer)


def mock_client(limits: RateLimits | None = None) -> KaizalaClient:
    return KaizalaClient(
        CREDENTIALS,
        transport=mock_transport(),
        limits=limits if limits is not None else RateLimits.unlimited(),
    )
