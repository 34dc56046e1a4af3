"""Hostile input (issue 14): ids, numbers and URLs that used to escape their checks.

Each test goes through the public API over ``MockTransport`` and asserts what reached the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaizala_async import (
    AuthenticationError,
    BadRequestError,
    Credentials,
    EndpointMovedError,
    KaizalaClient,
    Rate,
    RateLimits,
    RequestTimeoutError,
    Secret,
    UnexpectedResponseError,
    ValidationError,
    WebhookReceiver,
    request_pin,
)

from .examples import examples
from .test_transport import EP, client_for, token_route
from .vtime import run_virtual

Call = Callable[[KaizalaClient, str], Awaitable[Any]]

#: Every kind of method that puts an id into the path.
ID_CALLS: dict[str, Call] = {
    "members.remove(member)": lambda c, i: c.members.remove("G1", i),
    "members.remove(group)": lambda c, i: c.members.remove(i, "M1"),
    "webhooks.delete": lambda c, i: c.webhooks.delete(i),
    "bots.delete": lambda c, i: c.bots.delete(i),
    "messages.send": lambda c, i: c.messages.send(i, "hello"),
    "groups.get": lambda c, i: c.groups.get(i),
    "fan_out": lambda c, i: c.fan_out([i], text="hello"),
}


def _record(run: Callable[[KaizalaClient], Awaitable[Any]]) -> list[httpx.Request]:
    """Run ``run`` against a router that answers every resource call 200 {}; the requests."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.route(host=urllib.parse.urlsplit(EP).hostname).respond(200, json={})

    async def main() -> None:
        async with client_for(router) as client:
            await run(client)

    run_virtual(main)
    return [c.request for c in router.calls if c.request.url.host != "api.kaiza.la"]


@pytest.mark.parametrize("bad", [".", ".."])
@pytest.mark.parametrize("name", ID_CALLS)
def test_dot_ids_are_refused_before_any_request(name: str, bad: str) -> None:
    """Cause 1: "." / ".." used to be removed by URL normalisation: another resource was hit."""
    sent: list[httpx.Request] = []

    async def run(client: KaizalaClient) -> None:
        if name == "fan_out":
            report = await ID_CALLS[name](client, bad)
            assert report.failed and not report.sent
            assert "not an id" in str(report.failures[0].error)
            return
        with pytest.raises(ValidationError):
            await ID_CALLS[name](client, bad)

    sent = _record(run)
    assert sent == []


_ID_TEXT = st.text(st.characters(codec="utf-8"), min_size=0, max_size=12) | st.sampled_from(
    [".", "..", "...", "./", "%2e%2e", "a/b", "?x=1", "#f", " ", "\r\n", "G1@1", "+91", "%"]
)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ID_TEXT)
def test_any_id_is_refused_or_lands_in_exactly_one_segment(value: str) -> None:
    """The acceptance property: an id either raises ValidationError before a request, or reaches
    exactly one path segment that decodes back to it."""
    refused = False

    async def run(client: KaizalaClient) -> None:
        nonlocal refused
        try:
            await client.members.remove("G1", value)
        except ValidationError:
            refused = True

    sent = _record(run)
    if refused:
        assert sent == []
        return
    assert len(sent) == 1
    raw = sent[0].url.raw_path.decode("ascii").split("?", 1)[0]
    parts = raw.split("/")
    assert parts[:5] == ["", "v1", "groups", "G1", "members"]
    assert len(parts) == 6, raw
    assert urllib.parse.unquote(parts[5]) == value


@pytest.mark.parametrize(
    "number", ["+911234567890\n", "+911234567890\r\n", "\n+911234567890", "+91 1234567890"]
)
def test_phone_numbers_with_a_trailing_newline_are_refused(number: str) -> None:
    """Cause 9: ``$`` matched before a final newline, so "+91...\\n" passed and was sent."""

    async def run(client: KaizalaClient) -> None:
        with pytest.raises(ValidationError, match=r"E\.164"):
            await client.members.add("G1", [number])

    assert _record(run) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/k\r\nX-Injected: 1",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\x00",
        "https://",
        "https:evil.com",
        "javascript:alert(1)",
    ],
)
def test_callback_urls_with_whitespace_or_control_characters_are_refused(url: str) -> None:
    async def run(client: KaizalaClient) -> None:
        with pytest.raises(ValidationError, match="URL"):
            await client.webhooks.register("G1", "Group", ["TextMessageCreated"], url)

    assert _record(run) == []


@pytest.mark.parametrize("path", ["/groups\r\nX: 1", "/groups/ x", "/groups/../tenant", "/./x"])
def test_raw_request_paths_are_checked(path: str) -> None:
    """A CRLF used to surface as httpx's raw InvalidURL; dot segments escaped as ids did."""

    async def run(client: KaizalaClient) -> None:
        with pytest.raises(ValidationError, match="path"):
            await client.request("GET", path)

    assert _record(run) == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 0, True, "5"])
def test_timeouts_and_waits_must_be_finite_positive_numbers(bad: object) -> None:
    """Cause 5: nan and inf passed (nan <= 0 is False), and a Retry-After of 1e9 was waited out."""
    credentials = Credentials("app", "secret", "refresh")
    with pytest.raises(ValidationError, match="timeout"):
        KaizalaClient(credentials, timeout=bad)  # type: ignore[arg-type]
    if bad != 0:  # a cap of 0 s is allowed: never wait for a 429
        with pytest.raises(ValidationError, match="max_retry_after"):
            KaizalaClient(credentials, max_retry_after=bad)  # type: ignore[arg-type]

    async def run(client: KaizalaClient) -> None:
        with pytest.raises(ValidationError, match="timeout"):
            await client.request("GET", "/groups", timeout=bad)  # type: ignore[arg-type]

    assert _record(run) == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
async def test_request_pin_checks_its_timeout_before_sending(bad: float) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    with pytest.raises(ValidationError, match="timeout"):
        await request_pin(
            "app", "+911234567890", transport=httpx.MockTransport(handler), timeout=bad
        )
    assert seen == []


@pytest.mark.parametrize("period", [None, "abc", math.nan, True, [60]])
def test_rates_with_a_bad_period_raise_the_typed_error(period: object) -> None:
    """``Rate(100, None)`` raised TypeError and ``Rate(100, "abc")`` ValueError from float()."""
    with pytest.raises(ValidationError, match="period"):
        Rate(100, period)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="limit"):
        Rate(True, 60.0)  # type: ignore[arg-type]
    assert RateLimits(connector=Rate(100, 60)).connector == Rate(100, 60.0)


# -- secrets the server echoes (cause 2) and the log filter (cause 4) --------------------------


def test_a_server_echoing_the_access_token_does_not_put_it_in_the_error() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(
        400, json={"message": "bad header accessToken: the-access-token-value", "errorCode": "X"}
    )

    async def main() -> str:
        async with client_for(router) as client:
            with pytest.raises(BadRequestError) as info:
                await client.request("GET", "/groups")
            return f"{info.value} {info.value.message!r} {info.value!r}"

    shown = run_virtual(main)
    assert "the-access-token-value" not in shown
    assert "***" in shown


def test_a_token_service_echoing_its_headers_does_not_leak_them() -> None:
    router = respx.Router(assert_all_called=False)
    router.get("https://api.kaiza.la/v1/accessToken").respond(
        401,
        json={
            "message": "refused applicationSecret=secret-value refreshToken: refresh-value",
            "errorCode": "Unauthenticated",
        },
    )

    async def main() -> str:
        with pytest.raises(AuthenticationError) as info:
            async with client_for(router):
                pass
        return f"{info.value} {info.value.message}"

    shown = run_virtual(main)
    assert "secret-value" not in shown and "refresh-value" not in shown


def test_the_log_filter_scrubs_the_sdk_child_loggers_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A logger's filter only sees records made on that very logger: the filter used to sit on
    ``kaizala_async`` alone, so ``kaizala_async.transport`` records went out unscrubbed."""
    token = Secret("a-live-token-0123456789")
    KaizalaClient(Credentials("app", "secret-value", "refresh-value"))  # installs the filter
    logger = logging.getLogger("kaizala_async.transport")
    with caplog.at_level(logging.DEBUG, logger="kaizala_async"):
        logger.warning("sent %s", token.reveal())
        try:
            raise RuntimeError(f"boom {token.reveal()}")
        except RuntimeError:
            logger.exception("failed")
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert "a-live-token-0123456789" not in caplog.text
    assert "boom ***" in caplog.text


# -- a misbehaving server (causes 3, 6, 7) ------------------------------------------------------


@contextlib.asynccontextmanager
async def _raw_server(
    answer: Callable[[asyncio.StreamWriter, asyncio.Event], Awaitable[None]],
) -> AsyncIterator[int]:
    """A loopback HTTP server that reads a request's head, then lets ``answer`` write (until the
    event is set); yields its port, and leaves no connection or task behind."""
    done = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await reader.readuntil(b"\r\n\r\n")
            await answer(writer, done)
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        done.set()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        await server.wait_closed()


async def test_timeout_bounds_the_whole_answer_not_each_read() -> None:
    """A server that trickles one byte every 0.2 s used to keep a call with timeout=0.5 alive
    for seconds: the timeout is now a deadline for the whole exchange (a real socket)."""

    async def trickle(writer: asyncio.StreamWriter, done: asyncio.Event) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: 40\r\n\r\n")
        for _ in range(40):
            if done.is_set():
                break
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.2)

    loop = asyncio.get_running_loop()
    start = loop.time()
    async with _raw_server(trickle) as port:
        with pytest.raises(RequestTimeoutError):
            await request_pin(
                "app", "+911234567890", api_root=f"http://127.0.0.1:{port}", timeout=0.5
            )
    assert loop.time() - start < 1.5


def _answer_with(router: respx.Router, response: httpx.Response) -> None:
    router.get(f"{EP}/v1/groups").mock(return_value=response)


def test_a_token_service_answering_html_raises_a_typed_error() -> None:
    router = respx.Router(assert_all_called=False)
    router.get("https://api.kaiza.la/v1/accessToken").respond(200, text="<html>maintenance</html>")

    async def main() -> None:
        with pytest.raises(UnexpectedResponseError, match="not JSON"):
            async with client_for(router):
                pass

    run_virtual(main)


def test_deeply_nested_json_raises_a_typed_error() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    deep = b"[" * 100_000 + b"]" * 100_000
    _answer_with(
        router, httpx.Response(200, content=deep, headers={"content-type": "application/json"})
    )

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(UnexpectedResponseError, match="nested too deep"):
                await client.groups.list().collect()

    run_virtual(main)


@pytest.mark.parametrize(
    "location",
    [
        "https:evil.com",
        "javascript:alert(1)",
        "https://xn--a.kaiza.la/",
        "https://kms.kaiza.la:99999/",
        "https://kms.kaiza.la/ x",
        "//evil.com/v1",
    ],
)
def test_a_malformed_location_is_a_typed_refusal(location: str) -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    _answer_with(router, httpx.Response(308, headers={"Location": location}))

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(EndpointMovedError):
                await client.request("GET", "/groups")

    run_virtual(main)


async def test_the_receiver_answers_400_to_a_deeply_nested_body() -> None:
    receiver = WebhookReceiver(callback_token="cb-token-value")
    body = b"[" * 100_000 + b"]" * 100_000
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        answer = await http.post("/", content=body, headers={"kz-callback-token": "cb-token-value"})
    assert answer.status_code == 400


@pytest.mark.parametrize("declared", [True, False])
async def test_answers_over_the_size_cap_are_not_read(declared: bool) -> None:
    """A 64 MiB answer (declared, or chunked without a length) to a client capped at 1 MiB:
    a typed error once the cap is passed, not 64 MiB read into memory (a real socket)."""
    sent = 0

    async def huge(writer: asyncio.StreamWriter, done: asyncio.Event) -> None:
        nonlocal sent
        chunk = b"x" * 65536
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if declared:
            writer.write(head + b"Content-Length: %d\r\n\r\n" % (1024 * len(chunk)))
        else:
            writer.write(head + b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(1024):
            if done.is_set():
                break
            writer.write(chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)

    async with _raw_server(huge) as port:
        client = KaizalaClient(
            Credentials("app", "secret-value", "refresh-value"),
            api_root=f"http://127.0.0.1:{port}",
            limits=RateLimits.unlimited(),
            max_response_bytes=1024 * 1024,
        )
        with pytest.raises(UnexpectedResponseError, match="larger than 1048576 bytes"):
            async with client:
                pass
    assert sent < 16 * 1024 * 1024  # stopped early: the client hung up


# -- cookies: the service sets none; a server that does must not plant them -------------------


def test_cookies_a_server_sets_are_neither_kept_nor_sent_back() -> None:
    """A jar would grow by one cookie per answer for the client's whole life and send each one
    back with every call: the client keeps none."""
    numbers = iter(range(1_000_000))

    def planting(request: httpx.Request) -> httpx.Response:
        n = next(numbers)
        return httpx.Response(
            200,
            json={"referenceId": f"r{n}"},
            headers=[("set-cookie", f"planted-{n}=v{n}; Domain=kaiza.la; Path=/")],
        )

    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.route(host=urllib.parse.urlsplit(EP).hostname).mock(side_effect=planting)

    async def main() -> int:
        async with client_for(router) as client:
            for _ in range(50):
                await client.messages.send("G1", "hello")
            return len(client._require().http.cookies)

    assert run_virtual(main) == 0
    sent = [c.request for c in router.calls if c.request.url.host != "api.kaiza.la"]
    assert len(sent) == 50
    assert [r.headers["cookie"] for r in sent if "cookie" in r.headers] == []
