"""The pipeline through respx: 308 moves (allowed and foreign), 429s, retries, errors."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from kaizala_async import (
    BadRequestError,
    Credentials,
    EndpointMovedError,
    KaizalaClient,
    MemoryTokenStore,
    NotFoundError,
    PermissionDeniedError,
    Rate,
    RateLimits,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
    TransportError,
    ValidationError,
)

from .vtime import run_virtual

API = "https://api.kaiza.la"
EP = "https://kms.kaiza.la"
TOKEN = "the-access-token-value"


def token_route(router: respx.Router, endpoint: str = EP + "/") -> respx.Route:
    return router.get(f"{API}/v1/accessToken").respond(
        json={
            "accessToken": TOKEN,
            "endpointUrl": endpoint,
            "accessTokenExpiry": int((time.time() + 86400) * 1000),
            "scope": "token.write",
        }
    )


def client_for(router: respx.Router, **kwargs: object) -> KaizalaClient:
    options: dict[str, object] = {
        "transport": httpx.MockTransport(router.async_handler),
        "limits": RateLimits.unlimited(),
    }
    options.update(kwargs)
    return KaizalaClient(Credentials("app", "secret-value", "refresh-value"), **options)  # type: ignore[arg-type]


def test_resource_calls_go_to_the_endpoint_with_the_token_header() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router, endpoint="https://inc-000.KaizalaMessaging.osi.office.net/")
    route = router.get("https://inc-000.kaizalamessaging.osi.office.net/v1/groups").respond(
        json={"groups": []}
    )

    async def main() -> None:
        async with client_for(router) as client:
            response = await client.request("GET", "/groups")
            assert response.json() == {"groups": []}

    run_virtual(main)
    sent = route.calls.last.request
    assert sent.headers["accessToken"] == TOKEN
    assert "authorization" not in sent.headers
    token_call = router.routes[0].calls.last.request
    assert token_call.headers["applicationId"] == "app"
    assert token_call.headers["applicationSecret"] == "secret-value"
    assert token_call.headers["refreshToken"] == "refresh-value"
    assert "accessToken" not in token_call.headers


@pytest.mark.parametrize(
    "location",
    [
        "https://kms2.kaiza.la/",
        "https://kms2.kaiza.la",
        "https://kms2.kaiza.la/v1/groups/g1/messages",
    ],
)
def test_308_moves_the_endpoint_and_resends_once(location: str) -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    old = router.post(f"{EP}/v1/groups/g1/messages").respond(308, headers={"Location": location})
    new = router.post("https://kms2.kaiza.la/v1/groups/g1/messages").respond(
        json={"referenceId": "m1"}
    )
    later = router.get("https://kms2.kaiza.la/v1/groups").respond(json={"groups": []})
    store = MemoryTokenStore()

    async def main() -> None:
        async with client_for(router, token_store=store) as client:
            response = await client.request("POST", "/groups/g1/messages", json={"message": "hi"})
            assert response.json() == {"referenceId": "m1"}
            assert client.endpoint_url == "https://kms2.kaiza.la"
            await client.request("GET", "/groups")  # later calls go straight to the new base
            saved = await store.load("app")
            assert saved is not None and saved.endpoint_url == "https://kms2.kaiza.la"

    run_virtual(main)
    assert old.call_count == 1 and new.call_count == 1 and later.call_count == 1
    resent = new.calls.last.request
    assert resent.method == "POST" and resent.content == b'{"message":"hi"}'


def test_308_to_a_foreign_host_never_receives_the_token() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(308, headers={"Location": "https://evil.example.com/"})
    evil = router.route(host="evil.example.com").respond(200, json={})

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(EndpointMovedError) as info:
                await client.request("GET", "/groups")
            assert info.value.location == "https://evil.example.com/"
            assert client.endpoint_url == EP + "/"  # not moved

    run_virtual(main)
    assert evil.call_count == 0
    for call in router.calls:
        assert call.request.url.host != "evil.example.com"


@pytest.mark.parametrize(
    "location",
    [
        "http://kms2.kaiza.la/",
        "https://kaiza.la.evil.com/",
        "https://127.0.0.1:9/",
        "ftp://kms.kaiza.la/",
    ],
)
def test_308_refuses_plain_http_lookalikes_and_loopback(location: str) -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(308, headers={"Location": location})

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(EndpointMovedError):
                await client.request("GET", "/groups")

    run_virtual(main)
    assert len(router.calls) == 2  # the token call and the one 308; nothing else


def test_a_second_308_on_the_resent_request_is_an_error() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(308, headers={"Location": "https://kms2.kaiza.la/"})
    router.get("https://kms2.kaiza.la/v1/groups").respond(
        308, headers={"Location": "https://kms3.kaiza.la/"}
    )

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(EndpointMovedError, match="again"):
                await client.request("GET", "/groups")

    run_virtual(main)


def test_token_endpoint_outside_the_allow_list_is_refused_before_sending() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router, endpoint="https://evil.example.com/")
    evil = router.route(host="evil.example.com").respond(200, json={})

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(EndpointMovedError):
                await client.request("GET", "/groups")

    run_virtual(main)
    assert evil.call_count == 0


def test_429_pauses_for_retry_after_then_resends() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    route = router.get(f"{EP}/v1/groups")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, json={"groups": []}),
    ]

    async def main() -> float:
        loop = asyncio.get_running_loop()
        async with client_for(router) as client:
            start = loop.time()
            await client.request("GET", "/groups")
            assert client.stats.throttled == 1
            return loop.time() - start

    waited = run_virtual(main)
    assert 7.0 <= waited < 7.1
    assert route.call_count == 2


def test_429_with_an_http_date_uses_the_responses_date_header() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    server_now = datetime(2030, 1, 1, tzinfo=UTC)  # the server's clock, far from ours
    route = router.get(f"{EP}/v1/groups")
    route.side_effect = [
        httpx.Response(
            429,
            headers={
                "Retry-After": format_datetime(server_now + timedelta(seconds=12), usegmt=True),
                "Date": format_datetime(server_now, usegmt=True),
            },
        ),
        httpx.Response(200, json={}),
    ]

    async def main() -> float:
        loop = asyncio.get_running_loop()
        async with client_for(router) as client:
            start = loop.time()
            await client.request("GET", "/groups")
            return loop.time() - start

    assert 12.0 <= run_virtual(main) < 12.1


def test_429_beyond_the_cap_raises_throttled_error_without_waiting() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(429, headers={"Retry-After": "3600"})

    async def main() -> float:
        loop = asyncio.get_running_loop()
        async with client_for(router, max_retry_after=60.0) as client:
            start = loop.time()
            with pytest.raises(ThrottledError) as info:
                await client.request("GET", "/groups")
            assert info.value.retry_after == 3600.0
            assert info.value.status == 429
            return loop.time() - start

    assert run_virtual(main) < 0.01


def test_429_pauses_every_client_of_the_tenant() -> None:
    """One client's 429 holds back its tenant-mates too, until the deadline (not a flag)."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    a_route = router.get(f"{EP}/v1/a")
    a_route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "10"}),
        httpx.Response(200, json={}),
    ]
    router.get(f"{EP}/v1/b").respond(json={})
    limits = RateLimits(connector=Rate(100, 60.0), tenant=Rate(300, 60.0), tenant_key="contoso")

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        async with client_for(router, limits=limits) as a, client_for(router, limits=limits) as b:
            start = loop.time()
            first = asyncio.create_task(a.request("GET", "/a"))
            while a_route.call_count == 0:
                await asyncio.sleep(0.01)
            await b.request("GET", "/b")
            b_done = loop.time() - start
            await first
            return b_done, loop.time() - start

    b_done, a_done = run_virtual(main)
    assert b_done >= 10.0
    assert a_done >= 10.0
    assert a_route.calls[-1].response.status_code == 200


def test_429_absorbed_a_bounded_number_of_times() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    route = router.get(f"{EP}/v1/groups").respond(429, headers={"Retry-After": "1"})

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(ThrottledError) as info:
                await client.request("GET", "/groups")
            assert info.value.attempts == 9

    run_virtual(main)
    assert route.call_count == 9


def test_connection_errors_before_sending_are_retried_even_for_post() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    route = router.post(f"{EP}/v1/groups/g/messages")
    route.side_effect = [
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"referenceId": "r"}),
    ]

    async def main() -> None:
        async with client_for(router) as client:
            response = await client.request("POST", "/groups/g/messages", json={"message": "x"})
            assert response.json()["referenceId"] == "r"
            assert client.stats.connection_retries == 1

    run_virtual(main)
    assert route.call_count == 2


def test_post_is_not_retried_after_the_request_left() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    post = router.post(f"{EP}/v1/groups/g/messages")
    post.side_effect = [httpx.ReadError("reset"), httpx.Response(200, json={})]
    fail = router.post(f"{EP}/v1/groups/g/x").respond(503)

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(TransportError) as info:
                await client.request("POST", "/groups/g/messages", json={"message": "x"})
            assert info.value.request_sent is True
            with pytest.raises(ServerError):
                await client.request("POST", "/groups/g/x", json={})

    run_virtual(main)
    assert post.call_count == 1
    assert fail.call_count == 1


def test_idempotent_calls_and_opt_ins_are_retried_after_sending() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    get = router.get(f"{EP}/v1/groups")
    get.side_effect = [httpx.Response(503), httpx.ReadError("reset"), httpx.Response(200, json={})]
    post = router.post(f"{EP}/v1/groups/g/subscribers")
    post.side_effect = [httpx.Response(502), httpx.Response(200, json={})]

    async def main() -> None:
        async with client_for(router) as client:
            await client.request("GET", "/groups")
            await client.request("POST", "/groups/g/subscribers", json={}, idempotent=True)

    run_virtual(main)
    assert get.call_count == 3
    assert post.call_count == 2


def test_timeouts_raise_request_timeout_error_and_are_configurable_per_call() -> None:
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/accessToken":
            return httpx.Response(
                200,
                json={
                    "accessToken": TOKEN,
                    "endpointUrl": EP,
                    "accessTokenExpiry": int((time.time() + 86400) * 1000),
                },
            )
        seen.append(request.extensions["timeout"])
        if request.url.path == "/v1/slow":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={})

    async def main() -> None:
        client = KaizalaClient(
            Credentials("app", "secret-value", "refresh-value"),
            transport=httpx.MockTransport(handler),
            limits=RateLimits.unlimited(),
            timeout=30.0,
        )
        async with client:
            await client.request("GET", "/fast")
            await client.request("GET", "/fast", timeout=5.0)
            with pytest.raises(RequestTimeoutError):
                await client.request("GET", "/slow")

    run_virtual(main)
    assert seen[0]["read"] == 30.0  # type: ignore[index]
    assert seen[1]["read"] == 5.0  # type: ignore[index]


def test_default_timeout_is_one_minute() -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(
            200,
            json={
                "accessToken": TOKEN,
                "endpointUrl": EP,
                "accessTokenExpiry": int((time.time() + 86400) * 1000),
            },
        )

    async def main() -> None:
        async with KaizalaClient(
            Credentials("app", "s", "r"),
            transport=httpx.MockTransport(handler),
            limits=RateLimits.unlimited(),
        ):
            pass

    run_virtual(main)
    assert seen[0]["read"] == 60.0


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"message": "name missing", "errorCode": "InvalidParameters"}, BadRequestError),
        (403, {"message": "no", "errorCode": "Forbidden"}, PermissionDeniedError),
        (404, {"message": "no group", "errorCode": "NotFound"}, NotFoundError),
        (415, None, BadRequestError),
        (500, None, ServerError),
    ],
)
def test_errors_are_typed(status: int, body: object, error: type[Exception]) -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.post(f"{EP}/v1/x").respond(status, json=body)

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(error) as info:
                await client.request("POST", "/x", json={})
            assert info.value.status == status  # type: ignore[attr-defined]

    run_virtual(main)


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (("FETCH", "/groups"), "method"),
        (("GET", "groups"), "path"),
        (("GET", "/v1/groups"), "path"),
    ],
)
def test_bad_request_arguments_fail_before_any_call(args: tuple[str, str], argument: str) -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)

    async def main() -> None:
        async with client_for(router) as client:
            calls = len(router.calls)
            with pytest.raises(ValidationError, match=argument):
                await client.request(*args)
            assert len(router.calls) == calls

    run_virtual(main)


def test_client_is_single_use_and_only_inside_async_with() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)

    async def main() -> None:
        client = client_for(router)
        with pytest.raises(RuntimeError, match="async with"):
            await client.request("GET", "/groups")
        async with client:
            pass
        with pytest.raises(RuntimeError):
            async with client:
                pass

    run_virtual(main)


def test_every_call_counts_against_the_budget_including_the_token_call() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(json={})
    limits = RateLimits(connector=Rate(10, 10.0), tenant=None, jitter=0.0, precharge=False)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with client_for(router, limits=limits) as client:
            for _ in range(4):
                await client.request("GET", "/groups")
        return loop.time() - start

    # 5 calls (token + 4) one second apart: the last at 4 s.
    assert 4.0 <= run_virtual(main) < 4.1
