"""``_cookieless.CookielessClient`` on its own: no way in for a cookie (an answer, a request's
own ``cookies=``, the jar's ``set``, replacing the jar), and each client's jar its own."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from kaizala_async._cookieless import CookielessClient


def planting(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        headers=[
            ("set-cookie", "planted=v; Path=/"),
            ("x-cookie-seen", request.headers.get("cookie", "")),
        ],
    )


def exchange(client: httpx.AsyncClient, times: int = 3) -> list[str]:
    """The ``Cookie`` header each of ``times`` calls carried."""

    async def main() -> list[str]:
        async with client:
            return [
                (await client.get("https://kms.kaiza.la/x")).headers["x-cookie-seen"]
                for _ in range(times)
            ]

    return asyncio.run(main())


def test_httpx_itself_would_send_a_planted_cookie_back() -> None:
    # What the SDK's client guards against: the same exchange on httpx's own client.
    assert exchange(httpx.AsyncClient(transport=httpx.MockTransport(planting))) == [
        "",
        "planted=v",
        "planted=v",
    ]


def test_an_answers_cookie_is_neither_kept_nor_sent_back() -> None:
    client = CookielessClient(transport=httpx.MockTransport(planting))
    assert exchange(client) == ["", "", ""]
    assert len(client.cookies) == 0


def test_the_jar_refuses_a_cookie_set_by_hand() -> None:
    client = CookielessClient(transport=httpx.MockTransport(planting))
    client.cookies.set("mine", "1", domain="kms.kaiza.la")
    client.cookies.update({"other": "2"})
    assert len(client.cookies) == 0
    assert exchange(client, 1) == [""]


def test_the_jar_cannot_be_replaced() -> None:
    client = CookielessClient(transport=httpx.MockTransport(planting))
    with pytest.raises(AttributeError, match="keeps no cookies"):
        client.cookies = httpx.Cookies({"a": "1"})
    assert len(client.cookies) == 0


def test_cookies_given_at_construction_are_not_kept() -> None:
    client = CookielessClient(transport=httpx.MockTransport(planting), cookies={"a": "1"})
    assert exchange(client, 1) == [""]


def test_each_client_has_its_own_jar() -> None:
    first, second = CookielessClient(), CookielessClient()
    assert first.cookies is not second.cookies
    assert first.cookies is first.cookies  # one jar for the client's life
    assert isinstance(first.cookies, httpx.Cookies)
    asyncio.run(first.aclose())
    asyncio.run(second.aclose())


def test_everything_else_reaches_httpx() -> None:
    client = CookielessClient(
        transport=httpx.MockTransport(planting), timeout=7, headers={"a": "b"}
    )
    assert client.timeout == httpx.Timeout(7)
    assert client.headers["a"] == "b"
    asyncio.run(client.aclose())
