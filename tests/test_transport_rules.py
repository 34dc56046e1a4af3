"""The finer rules of the transport: why each refused 308 is refused (the error says so and
names the call), a relative move, a long Location, and the spacing of connection retries."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import itertools
import json
import logging
import random
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from kaizala_async import (
    APIError,
    AuthenticationError,
    EndpointMovedError,
    KaizalaError,
    Rate,
    RateLimits,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
    UnexpectedResponseError,
    _request_parts,
)
from kaizala_async._call import Call
from kaizala_async._cookieless import CookielessClient
from kaizala_async._http import HostPolicy
from kaizala_async._request_parts import Urls
from kaizala_async._secrets import Secret
from kaizala_async._transport import Transport, _headers

from .conftest import make_client
from .examples import examples
from .fake_service import FakeKaizala
from .test_transport import EP, client_for, token_route
from .vtime import run_virtual


def refusal(location: str | None, *, token_call: bool = False) -> EndpointMovedError:
    """The error of a GET /groups answered 308 with ``location`` (None: no header)."""
    router = respx.Router(assert_all_called=False)
    headers = {} if location is None else {"Location": location}
    if token_call:
        router.get("https://api.kaiza.la/v1/accessToken").respond(308, headers=headers)
    else:
        token_route(router)
        router.get(f"{EP}/v1/groups").respond(308, headers=headers)
        router.get("https://kms2.kaiza.la/v1/groups").respond(308, headers={"Location": "/x"})

    async def main() -> EndpointMovedError:
        async with client_for(router) as client:
            with pytest.raises(EndpointMovedError) as caught:
                await client.request("GET", "/groups")
            if "again" not in caught.value.reason:
                assert client.endpoint_url == EP + "/"  # never moved
            return caught.value

    if token_call:

        async def enter() -> EndpointMovedError:
            with pytest.raises(EndpointMovedError) as caught:
                async with client_for(router):
                    pass  # pragma: no cover
            return caught.value

        return run_virtual(enter)
    return run_virtual(main)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        (None, "308 without a Location header"),
        ("   ", "308 without a Location header"),
        ("https://evil.example.com/", "refused to move to a host outside the allowed hosts"),
        ("http://kms2.kaiza.la/", "refused to move to a host outside the allowed hosts"),
        ("ftp://kms2.kaiza.la/", "the Location header is not a usable URL"),
        ("https:///v1/groups", "the Location header is not a usable URL"),
        ("kms2.kaiza.la/v1", "the Location header is not a usable URL"),
        ("https://kms2.kaiza.la:99999/", "the Location header is not a usable URL"),
        ("/moved/v1/a b", "the Location header is not a usable URL"),
        ("//kms2.kaiza.la/v1/groups", "the Location header is not a usable URL"),
        ("https://kms2.kaiza.la/", "the endpoint moved again on the resent request"),
    ],
)
def test_each_refused_move_says_why_and_names_the_call(location: str | None, reason: str) -> None:
    error = refusal(location)
    assert error.reason == reason
    if "again" in reason:  # the second 308's Location, on the resent request
        assert error.location == "/x" and error.url == "https://kms2.kaiza.la/v1/groups"
        return
    assert error.location == ("" if location is None else location.strip())
    assert (error.status, error.code) == (308, "EndpointMoved")
    assert error.method == "GET" and error.url == f"{EP}/v1/groups"
    assert f"308 EndpointMoved: {reason}: {error.location} (GET {EP}/v1/groups)" in str(error)


def test_a_308_from_the_token_service_is_not_followed() -> None:
    error = refusal("https://kms2.kaiza.la/", token_call=True)
    assert error.reason == "the token service answered 308"
    assert error.location == "https://kms2.kaiza.la/"
    assert error.url == "https://api.kaiza.la/v1/accessToken"


def test_a_long_location_is_cut_to_2048_characters() -> None:
    location = "https://evil.example.com/" + "a" * 3000
    assert refusal(location).location == location[:2048]


def test_a_relative_move_stays_on_the_host_under_the_new_prefix() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(308, headers={"Location": "/tenant7/v1/groups"})
    moved = router.get("https://kms.kaiza.la/tenant7/v1/groups").respond(json={"groups": []})

    async def main() -> str | None:
        async with client_for(router) as client:
            await client.request("GET", "/groups")
            return client.endpoint_url

    assert run_virtual(main) == "https://kms.kaiza.la/tenant7"
    assert moved.call_count == 1


def test_connection_retries_wait_a_random_time_up_to_a_doubling_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        drawn.append((a, b))
        return b

    monkeypatch.setattr(random, "uniform", uniform)
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").mock(side_effect=httpx.ConnectError("refused"))

    async def main() -> int:
        async with client_for(router, max_retries=3) as client:
            with pytest.raises(Exception, match="could not connect"):
                await client.request("GET", "/groups")
            return client.stats.connection_retries

    assert run_virtual(main) == 3  # connection retries counted
    assert drawn == [(0, 0.5), (0, 1.0), (0, 2.0)]


def test_a_call_on_an_expired_token_that_cannot_be_renewed_fails_at_once(fake: FakeKaizala) -> None:
    """The token is fetched before the call takes a slot; when it cannot be, the call fails with
    the token service's error instead of circling for slots until a renewal succeeds."""
    fake.token_ttl = 10.0

    async def main() -> float:
        loop = asyncio.get_running_loop()
        async with make_client(
            fake, limits=RateLimits(connector=Rate(100, 60.0), tenant=None)
        ) as client:
            await client.request("GET", "/groups")
            fake.valid_refresh.clear()  # the refresh token is revoked: no renewal succeeds
            await asyncio.sleep(30.0)
            start = loop.time()
            with pytest.raises(AuthenticationError):
                await client.request("GET", "/groups")
            return loop.time() - start

    assert run_virtual(main) < 1.0
    assert len(fake.resource_calls()) == 1


def _held_run(first: str) -> tuple[float, int]:
    """Seconds from the first call's start to the second call's answer, one call per 10 s, when
    the first call hangs (timed out), is reset, or is cancelled while going out; and attempts."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    seen = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        seen += 1
        if seen == 1:
            if first == "reset":
                raise httpx.ReadError("connection reset", request=request)
            if first == "read-timeout":  # httpx's own read timeout: the request went out
                raise httpx.ReadTimeout("read timed out", request=request)
            if first == "connect-timeout":  # never connected: nothing went out
                raise httpx.ConnectTimeout("connect timed out", request=request)
            await asyncio.sleep(1000.0)
        return httpx.Response(200, json={"groups": []})

    router.get(f"{EP}/v1/groups").mock(side_effect=answer)
    limits = RateLimits(connector=Rate(1, 10.0), tenant=None, precharge=False, jitter=0.0)

    async def main() -> tuple[float, int]:
        loop = asyncio.get_running_loop()
        timeout = 60.0 if first == "cancel" else 1.0
        async with client_for(router, limits=limits, timeout=timeout, max_retries=0) as client:
            start = loop.time()
            call = asyncio.ensure_future(client.request("GET", "/groups"))
            if first == "cancel":
                await asyncio.sleep(25.0)  # its slot came (at 20 s) and it is on its way
                call.cancel()
            with contextlib.suppress(KaizalaError, asyncio.CancelledError):
                await call
            if first in ("reset", "connect-timeout"):
                what = (
                    "connection failed: ReadError"
                    if first == "reset"
                    else ("could not connect: ConnectTimeout")
                )
                assert str(call.exception()) == f"{what} (GET {EP}/v1/groups)"
            if first == "hang":
                error = call.exception()
                assert isinstance(error, RequestTimeoutError) and error.request_sent is True
                assert str(error) == f"no answer in time: ReadTimeout (GET {EP}/v1/groups)"
            await client.request("GET", "/groups")
            return loop.time() - start, client.stats.attempts

    return run_virtual(main)


def test_a_call_that_may_still_reach_the_service_holds_its_place_one_more_period() -> None:
    reset, reset_attempts = _held_run("reset")  # it failed: it may not count any longer
    hung, hung_attempts = _held_run("hang")  # timed out after going out: it may still arrive
    cancelled, _ = _held_run("cancel")  # cancelled while going out: it may still arrive
    assert hung == pytest.approx(reset + 1.0 + 10.0, abs=0.01)  # 1 s later end, held 10 s more
    assert cancelled == pytest.approx(reset + 5.0 + 10.0, abs=0.01)
    assert reset_attempts == hung_attempts == 3  # the token call and the two calls
    assert _held_run("read-timeout")[0] == pytest.approx(reset + 10.0, abs=0.01)
    assert _held_run("connect-timeout")[0] == pytest.approx(reset, abs=0.01)


def _served_order(first_answer: Exception | httpx.Response, **options: object) -> list[str]:
    """One call a second: A is sent, then B and C queue. A's first attempt gets
    ``first_answer`` (raised or returned); the order in which the calls were answered 200."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    order: list[str] = []
    answered = False

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal answered
        name = request.url.params["n"]
        if name == "A" and not answered:
            answered = True
            if isinstance(first_answer, Exception):
                raise first_answer
            return first_answer
        order.append(name)
        return httpx.Response(200, json={"groups": []})

    router.get(f"{EP}/v1/groups").mock(side_effect=answer)
    limits = RateLimits(connector=Rate(1, 1.0), tenant=None, precharge=False, jitter=0.0)

    async def main() -> None:
        async with client_for(router, limits=limits, **options) as client:
            first = asyncio.ensure_future(client.request("GET", "/groups", params={"n": "A"}))
            await asyncio.sleep(0)
            others = [asyncio.ensure_future(client.request("GET", "/groups", params={"n": n}))
                      for n in ("B", "C")]  # fmt: skip
            await asyncio.gather(first, *others)

    run_virtual(main)
    return order


def test_a_retried_call_queues_behind_the_calls_already_waiting() -> None:
    """A fails to connect and is retried after its backoff (under 0.5 s); by then B and C wait
    for their slots, and A's retry goes after them, not before."""
    assert _served_order(httpx.ConnectError("refused"), max_retries=1) == ["B", "C", "A"]


def test_a_location_httpx_cannot_even_parse_is_refused_naming_the_call() -> None:
    error = refusal("https://xn--a.kaiza.la/")  # an invalid IDNA label: httpx refuses it first
    assert error.reason == "the service answered with an unusable Location"
    assert error.location == "" and error.method == "GET" and error.url == f"{EP}/v1/groups"


def test_a_429_without_retry_after_waits_one_then_two_seconds_and_is_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    at: list[float] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        at.append(asyncio.get_running_loop().time())
        if len(at) <= 2:
            return httpx.Response(429, json={})
        return httpx.Response(200, json={"groups": []})

    router.get(f"{EP}/v1/groups").mock(side_effect=answer)

    async def main() -> int:
        async with client_for(router) as client:
            await client.request("GET", "/groups")
            return client.stats.throttled

    with caplog.at_level(logging.INFO, logger="kaizala_async.transport"):
        assert run_virtual(main) == 2
    assert [round(b - a, 3) for a, b in itertools.pairwise(at)] == [1.0, 2.0]
    paused = [r for r in caplog.records if getattr(r, "kaizala_event", None) == "kaizala.throttled"]
    assert [r.getMessage() for r in paused] == [
        "throttled (429); pausing the tenant for 1.00 s",
        "throttled (429); pausing the tenant for 2.00 s",
    ]


def _throttled(code: str, retry_after: str) -> ThrottledError:
    """The error of a GET /groups answered 429 (``code``, ``Retry-After``) every time."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    body = {"errorCode": code, "message": "slow down", "errorCategoryKey": "Throttle"}
    router.get(f"{EP}/v1/groups").respond(429, json=body, headers={"Retry-After": retry_after})

    async def main() -> ThrottledError:
        async with client_for(router) as client:
            with pytest.raises(ThrottledError) as caught:
                await client.request("GET", "/groups")
            return caught.value

    return run_virtual(main)


def test_a_429_asking_too_long_a_wait_is_a_throttled_error_with_the_service_fields() -> None:
    error = _throttled("TooManyRequests", "121")
    assert (error.retry_after, error.attempts) == (121.0, 1)
    assert (error.code, error.message, error.category) == (
        "TooManyRequests",
        "slow down",
        "Throttle",
    )
    assert (error.method, error.url) == ("GET", f"{EP}/v1/groups")


def test_a_3xx_answer_other_than_308_is_an_error_not_a_success() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(300, json={"groups": []})

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(APIError) as caught:
                await client.request("GET", "/groups")
            assert caught.value.status == 300

    run_virtual(main)


def test_followed_moves_are_counted() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(308, headers={"Location": "https://kms2.kaiza.la/"})
    router.get("https://kms2.kaiza.la/v1/groups").respond(json={"groups": []})

    async def main() -> int:
        async with client_for(router) as client:
            await client.request("GET", "/groups")
            await client.request("GET", "/groups")
            return client.stats.moved

    assert run_virtual(main) == 1


def test_every_answer_is_logged_at_debug_with_the_call_and_its_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(json={"groups": []})

    async def main() -> None:
        async with client_for(router) as client:
            await client.request("GET", "/groups")

    with caplog.at_level(logging.DEBUG, logger="kaizala_async.transport"):
        run_virtual(main)
    lines = [r.getMessage() for r in caplog.records if r.name == "kaizala_async.transport"]
    assert f"GET {EP}/v1/groups -> 200" in lines


def _answer_of(response: httpx.Response, limit: int) -> object:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").mock(return_value=response)

    async def main() -> object:
        async with client_for(router, max_response_bytes=limit) as client:
            try:
                return (await client.request("GET", "/groups")).json()
            except UnexpectedResponseError as error:
                return error

    return run_virtual(main)


def test_an_answer_of_exactly_the_size_cap_is_read_and_one_byte_more_is_refused() -> None:
    body = json.dumps({"groups": [], "pad": "x" * 500}).encode()  # larger than the token answer
    assert _answer_of(httpx.Response(200, content=body), len(body)) == json.loads(body)
    refused = _answer_of(httpx.Response(200, content=body), len(body) - 1)
    assert isinstance(refused, UnexpectedResponseError)
    assert (refused.what, refused.problems) == ("/groups", [f"larger than {len(body) - 1} bytes"])


def test_a_compressed_answer_is_measured_by_what_it_inflates_to() -> None:
    body = json.dumps({"groups": [], "pad": "x" * 5000}).encode()
    packed = gzip.compress(body)  # about 60 bytes on the wire
    answer = httpx.Response(200, content=packed, headers={"content-encoding": "gzip"})
    refused = _answer_of(answer, 1000)
    assert len(packed) < 1000 and isinstance(refused, UnexpectedResponseError)
    assert (refused.what, refused.problems) == ("/groups", ["larger than 1000 bytes"])


def test_an_answer_in_several_chunks_without_a_length_is_joined_as_sent() -> None:
    parts = (b'{"groups": [], ', b'"pad": "', b"y" * 500, b'"}')

    async def chunks() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    size = sum(map(len, parts))  # streamed and counted: exactly the cap is still read
    answer = httpx.Response(200, stream=_Chunks(chunks()))
    assert _answer_of(answer, size) == {"groups": [], "pad": "y" * 500}


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, parts: AsyncIterator[bytes]) -> None:
        self._parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._parts:
            yield part


def _scripted(
    answers: list[httpx.Response], **options: object
) -> tuple[object, list[httpx.Request], int]:
    """Run one GET /groups against ``answers`` (then 200s); the result or error, the requests
    made, and the server-error retries counted."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    seen: list[httpx.Request] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0) if answers else httpx.Response(200, json={"groups": []})

    router.get(f"{EP}/v1/groups").mock(side_effect=answer)

    async def main() -> tuple[object, int]:
        async with client_for(router, **options) as client:
            try:
                result: object = (await client.request("GET", "/groups")).json()
            except KaizalaError as error:
                result = error
            return result, client.stats.server_error_retries

    result, retries = run_virtual(main)
    return result, seen, retries


def test_server_errors_on_a_get_are_retried_as_many_times_as_allowed() -> None:
    ok, seen, retries = _scripted([httpx.Response(500, json={})], max_retries=2)
    assert ok == {"groups": []} and len(seen) == 2 and retries == 1  # a 500 too
    busy = [httpx.Response(503, json={}) for _ in range(10)]
    error, seen, retries = _scripted(busy, max_retries=2)
    assert isinstance(error, ServerError) and len(seen) == 3 and retries == 2
    assert (error.method, error.url) == ("GET", f"{EP}/v1/groups")
    assert all(r.headers["Accept"] == "application/json" for r in seen)


def test_a_bare_401_is_an_expired_token_refreshed_once() -> None:
    ok, seen, _ = _scripted([httpx.Response(401)])
    assert ok == {"groups": []} and len(seen) == 2


def test_a_retry_after_of_exactly_the_longest_wait_is_waited() -> None:
    ok, seen, _ = _scripted([httpx.Response(429, headers={"Retry-After": "120"})])
    assert ok == {"groups": []} and len(seen) == 2


def test_a_retry_after_given_as_a_date_is_counted_from_now() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    ok, seen, _ = _scripted([httpx.Response(429, headers={"Retry-After": when})])
    assert ok == {"groups": []} and len(seen) == 2


def test_the_call_a_429_refused_goes_first_when_the_pause_ends() -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "5"})
    assert _served_order(throttled) == ["A", "B", "C"]


def test_an_endpoint_off_the_allowed_hosts_is_refused_saying_the_token_stayed() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router, endpoint="https://evil.example.com/")

    async def main() -> EndpointMovedError:
        async with client_for(router) as client:
            with pytest.raises(EndpointMovedError) as caught:
                await client.request("GET", "/groups")
            return caught.value

    error = run_virtual(main)
    assert error.reason == "the endpoint is not on the allowed hosts; the token was not sent"


def test_calls_whose_token_went_stale_in_the_queue_wait_for_the_renewal_and_keep_their_place() -> (
    None
):
    """A 20 s token (stale from 18 s), three calls a second, and a background renewal (at
    16.3 s) that the token service holds for 10 s: the calls whose slot comes while the token
    is stale send nothing, share that one renewal, and then go in their turn, ahead of the
    calls queued behind them (they went in reverse order: each jumped the queue to its head)."""
    router = respx.Router(assert_all_called=False)
    issued: list[float] = []

    async def token_answer(request: httpx.Request) -> httpx.Response:
        issued.append(asyncio.get_running_loop().time())
        if len(issued) == 2:
            await asyncio.sleep(10.0)
        return httpx.Response(200, json={
            "accessToken": f"token-{len(issued)}", "endpointUrl": EP + "/",
            "scope": "token.write", "accessTokenExpiry": int((time.time() + 20) * 1000)})  # fmt: skip

    router.get("https://api.kaiza.la/v1/accessToken").mock(side_effect=token_answer)
    sent: list[tuple[float, int, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.path.rsplit("/g", 1)[1])
        sent.append((asyncio.get_running_loop().time(), number, request.headers["accessToken"]))
        return httpx.Response(200, json={})

    router.get(url__regex=rf"{EP}/v1/groups/g\d+").mock(side_effect=answer)
    limits = RateLimits(connector=Rate(3, 1.0), tenant=None, jitter=0.0, precharge=False)

    async def main() -> float:
        async with client_for(router, limits=limits) as client:
            start = asyncio.get_running_loop().time()
            await asyncio.gather(*(client.request("GET", f"/groups/g{n}") for n in range(60)))
            return start

    start = run_virtual(main)
    renewed = issued[1] - start + 10.0
    assert len(issued) == 2 and issued[1] - start == pytest.approx(16.33, abs=0.01)
    # The old token until it went stale, then nothing until the new one came, then the new one.
    assert all(t - start < 18.0 if token == "token-1" else t - start >= renewed
               for t, _, token in sent)  # fmt: skip
    assert {token for _, _, token in sent} == {"token-1", "token-2"}
    # Each in its turn: the calls granted a slot while the token was stale (eight here) went
    # back for the new token, then ahead of the calls queued behind them, in their own order.
    assert [n for _, n, _ in sorted(sent)] == list(range(60))


def test_every_move_followed_is_counted() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(308, headers={"Location": "/tenant7/v1/groups"})
    router.get(f"{EP}/tenant7/v1/groups").respond(json={"groups": []})
    router.get(f"{EP}/tenant7/v1/groups/g1").respond(
        308, headers={"Location": "/tenant8/v1/groups/g1"}
    )
    router.get(f"{EP}/tenant8/v1/groups/g1").respond(json={})

    async def main() -> tuple[int, str | None]:
        async with client_for(router) as client:
            await client.request("GET", "/groups")
            await client.request("GET", "/groups/g1")
            return client.stats.moved, client.endpoint_url

    assert run_virtual(main) == (2, f"{EP}/tenant8")


@pytest.mark.parametrize(
    ("status", "code", "renewed"),
    [
        (403, "InvalidToken", True),  # the code decides, at any status
        (400, "invalidtoken", True),
        (401, "Unauthenticated", False),  # the connector's credentials, not the token
        (401, "", True),  # a bare 401 on a resource call
    ],
)
def test_which_answers_renew_the_token_and_resend(status: int, code: str, renewed: bool) -> None:
    router = respx.Router(assert_all_called=False)
    tokens = token_route(router)
    body = {"errorCode": code, "message": "no"} if code else {}
    route = router.get(f"{EP}/v1/groups").mock(
        side_effect=[httpx.Response(status, json=body), httpx.Response(200, json={"groups": []})]
    )

    async def main() -> tuple[bool, int]:
        async with client_for(router) as client:
            try:
                await client.request("GET", "/groups")
            except AuthenticationError:
                return False, client.stats.refreshed_on_401
            return True, client.stats.refreshed_on_401

    assert run_virtual(main) == (renewed, int(renewed))
    assert tokens.call_count == 1 + renewed
    assert route.call_count == 1 + renewed


def test_the_last_429_of_a_call_that_runs_out_of_retries_gives_its_fields() -> None:
    # A code of the service's own, not the default "TooManyRequests" of an answer without one.
    error = _throttled("TenantThrottled", "1")
    assert error.attempts == 9
    assert (error.code, error.message, error.category) == ("TenantThrottled", "slow down",
                                                           "Throttle")  # fmt: skip


def test_an_answer_declaring_more_than_the_cap_is_refused_without_reading_it() -> None:
    """A Content-Length over the cap is refused at once: the body (here one that never comes)
    is not waited for."""

    async def never() -> AsyncIterator[bytes]:
        await asyncio.sleep(3600)
        yield b"{}"

    answer = httpx.Response(200, headers={"Content-Length": "5000"}, stream=_Chunks(never()))
    refused = _answer_of(answer, 1000)  # read, it would time out: RequestTimeoutError
    assert isinstance(refused, UnexpectedResponseError)
    assert (refused.what, refused.problems) == ("/groups", ["larger than 1000 bytes"])


def _requests_alike(ours: httpx.Request, theirs: httpx.Request) -> None:
    assert (ours.method, str(ours.url)) == (theirs.method, str(theirs.url))
    assert ours.headers.raw == theirs.headers.raw  # the same names, values and order
    assert ours.read() == theirs.read()
    assert ours.extensions == theirs.extensions


@pytest.mark.parametrize(
    "call",
    [
        Call(method="POST", path="/v1/groups/g/messages", json={"message": "é ok"}),
        Call(method="GET", path="/v1/groups", params={"count": 5, "cursor": "a b"}, timeout=7.5),
        Call(method="GET", path="/v1/groups/g", headers={"applicationId": "app"}),
        # a request header takes a default's place, whatever its case
        Call(method="DELETE", path="/v1/x", headers={"user-agent": "mine", "ACCEPT": "text/csv"}),
        Call(method="PUT", path="/v1/x", json=[1, 2], secret_headers={"pin": Secret("4242")}),
    ],
)
def test_the_sdk_client_builds_each_request_as_httpx_would(call: Call) -> None:
    """Over the SDK's own client, requests are built without ``build_request``: each is the
    request ``build_request`` gives (URL, headers in their order, body, timeout)."""

    async def main() -> None:
        headers = {"User-Agent": "kaizala-async/test"}
        async with CookielessClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)),
                                    timeout=30, headers=headers) as http:  # fmt: skip
            transport = Transport(http, api_root=EP, policy=HostPolicy(("kms.kaiza.la",)))
            timeout = call.timeout if call.timeout is not None else transport.timeout
            url = EP + call.path
            token = Secret("tok-1")
            ours = transport._request(call, url, token, timeout)
            theirs = http.build_request(
                call.method, url, params=call.params, json=call.json,
                headers=_headers(call, token), timeout=httpx.Timeout(timeout, pool=timeout * 0.9),
            )  # fmt: skip
            _requests_alike(ours, theirs)
            assert transport._defaults is not None  # it was the direct path

    asyncio.run(main())


_ORIGINS = st.sampled_from([
    "https://kms.kaiza.la", "https://KMS.Kaiza.LA", "https://kms.kaiza.la:443", "http://h:80",
    "http://127.0.0.1:8080", "https://[::1]:8443", "https://user:pw@kms.kaiza.la",
    "https://bücher.example", "https://kms.kaiza.la?x=/", "https://kms.kaiza.la#f/",
    # no authority, no scheme, neither: httpx reads these as it reads them
    "https://", "https:", "//kms.kaiza.la", "kms.kaiza.la", "a",
])  # fmt: skip
#: Path characters: the plain ones, and every kind httpx would quote, normalise or split on.
_PATHS = st.text(st.sampled_from("abcXYZ019-._~!$&'()*+,;=:@/%20?#[] é\\\"<>{}|^`"), max_size=30)


@settings(max_examples=examples(2000), deadline=None)
@given(_ORIGINS, _PATHS)
def test_a_url_made_from_its_parsed_origin_is_the_url_httpx_parses(origin: str, path: str) -> None:
    """Over the SDK's own client the endpoint's origin is parsed once and a plain path set beside
    it; the request's URL is exactly the one httpx makes of the whole string (every part and the
    bytes sent), and a string httpx refuses is refused the same way."""
    url = origin + "/" + path
    try:
        expected = httpx.Request("POST", url).url
    except httpx.InvalidURL:
        with pytest.raises(httpx.InvalidURL):
            httpx.Request("POST", Urls().url(url))
        return
    urls = Urls()
    for _ in range(2):  # the origin parsed, then taken from the cache
        made = httpx.Request("POST", urls.url(url)).url
        assert str(made) == str(expected)
        assert made.raw_path == expected.raw_path
        assert (made.scheme, made.raw_host, made.port, made.userinfo) == (
            expected.scheme, expected.raw_host, expected.port, expected.userinfo,
        )  # fmt: skip
        assert (made.query, made.fragment) == (expected.query, expected.fragment)


def test_a_plain_path_is_not_parsed_again_and_an_odd_one_is() -> None:
    """The saving is real: a plain path comes back as a URL made from the cached origin, while
    one httpx would change (an escape, a dot segment, a query) is left to httpx as the string."""
    urls = Urls()
    plain = urls.url("https://kms.kaiza.la/v1/groups/g-1/messages")
    assert isinstance(plain, httpx.URL)
    for odd in ("https://kms.kaiza.la/v1/a%20b", "https://kms.kaiza.la/v1/../x",
                "https://kms.kaiza.la/v1/x?q=1", "https://kms.kaiza.la/v1/é"):  # fmt: skip
        assert urls.url(odd) == odd


def test_each_origin_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hundred calls to one endpoint parse its origin once; a second endpoint once more."""
    parsed: list[str] = []

    class CountingURL(httpx.URL):
        def __init__(self, url: str | httpx.URL = "", **kwargs: object) -> None:
            parsed.append(str(url))
            super().__init__(url, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx, "URL", CountingURL)
    urls = Urls()
    made = [urls.url(f"https://kms.kaiza.la/v1/groups/g-{n}/messages") for n in range(100)]
    made.append(urls.url("https://moved.kaiza.la/v1/groups/g/messages"))
    assert parsed == ["https://kms.kaiza.la/", "https://moved.kaiza.la/"]
    assert str(made[42]) == "https://kms.kaiza.la/v1/groups/g-42/messages"


def test_the_installed_httpx_keeps_the_cut_on_and_a_changed_one_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cut reads one private attribute of httpx's URL. Its self-check passes on the httpx
    this package is tested with (so the cut is on), and fails safe, to plain strings, when
    httpx's internals no longer look as expected."""
    assert _request_parts._works()

    def changed(origin: httpx.URL, path: str) -> httpx.URL:
        raise AttributeError("_uri_reference")

    monkeypatch.setattr(_request_parts, "_with_path", changed)
    assert not _request_parts._works()


def test_a_client_of_the_users_own_goes_through_build_request_with_its_cookies_and_base() -> None:
    """A client the SDK did not make (the login's, or one with cookies of its own) keeps httpx's
    whole merge: its cookies and query are sent."""

    async def main() -> None:
        async with httpx.AsyncClient(cookies={"c": "1"}, params={"q": "2"}) as http:
            transport = Transport(http, api_root=EP, policy=HostPolicy(("kms.kaiza.la",)))
            request = transport._request(Call(method="GET", path="/v1/g"), EP + "/v1/g", None, 5)
            assert request.headers["cookie"] == "c=1"
            assert request.url.params["q"] == "2"
            assert transport._defaults is None

    asyncio.run(main())
