"""Hostile input (issue 14): ids, numbers and URLs that used to escape their checks.

Each test goes through the public API over ``MockTransport`` and asserts what reached the wire.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaizala_async import (
    Credentials,
    KaizalaClient,
    Rate,
    RateLimits,
    ValidationError,
    request_pin,
)

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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
