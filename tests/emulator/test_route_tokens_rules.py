"""The emulator's token service and OAuth routes (A1-A5), call by call on the wire."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from .helpers import MOBILE, Wire, wire

BAD_CONNECTOR = {"message": "Dont have correct applicationId and secret in header!",
                 "errorCode": "Unauthenticated", "errorCategoryKey": "AuthException"}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(test: Callable[[Wire, Clock], Awaitable[None]], **config: Any) -> None:
    clock = Clock()

    async def main() -> None:
        async with wire(clock=clock, **config) as w:
            await test(w, clock)

    asyncio.run(main())


async def _answer(w: Wire, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    answer = await w.http.request(method, path, **kwargs)
    return answer.status_code, (answer.json() if answer.content else None)


def _headers(w: Wire, **changes: str) -> dict[str, str]:
    return {"applicationId": w.connector.application_id,
            "applicationSecret": w.connector.application_secret, "refreshToken": w.refresh} | changes  # fmt: skip


def test_a_pin_is_four_digits_sent_to_the_outbox_for_its_connector_and_number() -> None:
    async def test(w: Wire, clock: Clock) -> None:
        app_id = w.connector.application_id
        body = {"applicationId": app_id, "mobileNumber": "+919000000001"}
        assert await _answer(w, "POST", "/v1/generatePin", json=body) == (200, {})
        (pin,) = w.emu.app.world.outbox
        assert (pin.mobile_number, pin.application_id, pin.used) == ("+919000000001", app_id, False)
        assert len(pin.pin) == 4 and pin.pin[0] != "0" and pin.pin.isdigit()
        assert pin.expires_at == pytest.approx(pin.sent_at + 600.0)
        status, refused = await _answer(
            w, "POST", "/v1/generatePin", json=body | {"applicationId": "nope"}
        )
        assert (status, refused) == (401, BAD_CONNECTOR)
        status, refused = await _answer(
            w, "POST", "/v1/generatePin", json=body | {"mobileNumber": "12345"}
        )
        assert (status, refused["message"]) == (
            400,
            "mobileNumber must be a number with country code, e.g. +911234567890",
        )
        assert len(w.emu.app.world.outbox) == 1

    _run(test)


def test_a_pin_logs_in_once_before_it_expires_for_its_own_connector_and_number() -> None:
    async def test(w: Wire, clock: Clock) -> None:
        app_id = w.connector.application_id
        body = {"applicationId": app_id, "mobileNumber": "+919000000001"}
        await _answer(w, "POST", "/v1/generatePin", json=body)
        pin = w.emu.app.world.outbox[-1].pin
        wrong = "1111" if pin != "1111" else "2222"
        expired = {"message": "The PIN is wrong or has expired", "errorCode": "Unauthenticated",
                   "errorCategoryKey": "AuthException"}  # fmt: skip
        assert await _answer(w, "POST", "/v1/loginWithPinAndApplicationId", json=body | {"pin": wrong}) == (
            401, expired,
        )  # fmt: skip
        other = {"applicationId": app_id, "mobileNumber": "+919000000002", "pin": pin}
        assert (await _answer(w, "POST", "/v1/loginWithPinAndApplicationId", json=other))[0] == 401
        status, login = await _answer(
            w, "POST", "/v1/loginWithPinAndApplicationId", json=body | {"pin": int(pin)}
        )
        assert status == 200
        assert set(login) == {"refreshToken", "grantedScope", "refreshTokenExpiry"}
        assert login["grantedScope"] == w.connector.scopes
        grant = w.emu.app.world.refresh[login["refreshToken"]]
        assert grant.mobile_number == "+919000000001"
        assert login["refreshTokenExpiry"] == int(grant.expires_at * 1000)
        again = await _answer(
            w, "POST", "/v1/loginWithPinAndApplicationId", json=body | {"pin": pin}
        )
        assert again[0] == 401  # used
        await _answer(w, "POST", "/v1/generatePin", json=body)
        late = w.emu.app.world.outbox[-1]
        clock.now += 600.0  # its lifetime: expired
        assert (
            await _answer(
                w, "POST", "/v1/loginWithPinAndApplicationId", json=body | {"pin": late.pin}
            )
        )[0] == 401
        await _answer(w, "POST", "/v1/generatePin", json=body)
        clock.now += 599.0
        fresh = w.emu.app.world.outbox[-1].pin
        assert (
            await _answer(
                w, "POST", "/v1/loginWithPinAndApplicationId", json=body | {"pin": f" {fresh} "}
            )
        )[0] == 200

    _run(test)


def test_an_access_token_needs_the_connectors_secret_and_its_own_live_refresh_token() -> None:
    async def test(w: Wire, clock: Clock) -> None:
        status, answer = await _answer(w, "GET", "/v1/accessToken", headers=_headers(w))
        assert status == 200
        assert set(answer) == {
            "accessToken",
            "endpointUrl",
            "accessTokenExpiry",
            "refreshToken",
            "scope",
        }
        assert answer["refreshToken"] is None  # not rotated this early
        for headers in (_headers(w, applicationSecret="wrong"), _headers(w, applicationId="nope"),
                        _headers(w, refreshToken="nope")):  # fmt: skip
            assert await _answer(w, "GET", "/v1/accessToken", headers=headers) == (
                401,
                BAD_CONNECTOR,
            )
        other = w.emu.create_connector()
        theirs = w.emu.issue_refresh_token(other, MOBILE)
        assert (
            await _answer(w, "GET", "/v1/accessToken", headers=_headers(w, refreshToken=theirs))
        )[0] == 401

    _run(test)


def test_a_refresh_token_is_rotated_in_the_last_tenth_of_its_life_and_refused_once_expired() -> (
    None
):
    async def test(w: Wire, clock: Clock) -> None:
        clock.now += 89.0
        status, answer = await _answer(w, "GET", "/v1/accessToken", headers=_headers(w))
        assert (status, answer["refreshToken"]) == (200, None)
        clock.now += 1.0  # 90 % of 100 s
        status, answer = await _answer(w, "GET", "/v1/accessToken", headers=_headers(w))
        rotated = answer["refreshToken"]
        assert status == 200 and rotated and rotated != w.refresh
        assert w.refresh not in w.emu.app.world.refresh  # the old one is gone
        assert (await _answer(w, "GET", "/v1/accessToken", headers=_headers(w)))[0] == 401
        clock.now += 100.0
        assert (
            await _answer(w, "GET", "/v1/accessToken", headers=_headers(w, refreshToken=rotated))
        )[0] == 401

    _run(test, refresh_token_ttl=100.0)


def test_oauth_gives_a_code_for_the_redirect_and_the_code_once_for_tokens() -> None:
    async def test(w: Wire, clock: Clock) -> None:
        app_id = w.connector.application_id
        query = {
            "client_id": app_id,
            "redirect_uri": "https://app.test/back?state=1",
            "mobileNumber": "+919000000005",
        }
        answer = await w.http.get("/api/oauth/authorize", params=query)
        assert answer.status_code == 302
        location = httpx.URL(answer.headers["location"])
        assert str(location).startswith("https://app.test/back?state=1&code=")
        code = location.params["code"]
        assert w.emu.app.oauth_codes[code] == (app_id, "+919000000005")
        plain = await w.http.get(
            "/api/oauth/authorize", params={"client_id": app_id, "redirect_uri": "http://a.test/b"}
        )
        assert plain.headers["location"].startswith("http://a.test/b?code=")
        default_user = httpx.URL(plain.headers["location"]).params["code"]
        assert w.emu.app.oauth_codes[default_user][1] == "+911234567890"
        for bad_query in (
            {"client_id": "nope", "redirect_uri": "https://x"},
            {"client_id": app_id, "redirect_uri": "x"},
        ):
            status, refused = await _answer(w, "GET", "/api/oauth/authorize", params=bad_query)
            assert (status, refused["message"]) == (
                400,
                "client_id must name a connector and redirect_uri must be a URL",
            )
        form = {"client_id": app_id, "client_secret": w.connector.application_secret, "code": code}
        for wrong in ({"client_secret": "x"}, {"client_id": "nope"}):
            status, refused = await _answer(
                w, "POST", "/api/oauth/token", content=urllib.parse.urlencode(form | wrong)
            )
            assert (status, refused) == (401, BAD_CONNECTOR)
        status, tokens = await _answer(
            w, "POST", "/api/oauth/token", content=urllib.parse.urlencode(form)
        )
        assert status == 200
        assert w.emu.app.world.refresh[tokens["refreshToken"]].mobile_number == "+919000000005"
        assert w.emu.app.world.access[tokens["accessToken"]].mobile_number == "+919000000005"
        used = {"message": "The code is wrong or was used", "errorCode": "Unauthenticated",
                "errorCategoryKey": "AuthException"}  # fmt: skip
        assert await _answer(
            w, "POST", "/api/oauth/token", content=urllib.parse.urlencode(form)
        ) == (401, used)
        other = w.emu.create_connector()
        foreign = {"client_id": other.application_id, "client_secret": other.application_secret,
                   "code": httpx.URL(plain.headers["location"]).params["code"]}  # fmt: skip
        assert await _answer(
            w, "POST", "/api/oauth/token", content=urllib.parse.urlencode(foreign)
        ) == (401, used)

    _run(test)


def test_token_calls_count_against_the_connectors_limit() -> None:
    async def test(w: Wire, clock: Clock) -> None:
        body = {"applicationId": w.connector.application_id, "mobileNumber": "+919000000001"}
        assert (await _answer(w, "POST", "/v1/generatePin", json=body))[0] == 200
        assert (await _answer(w, "POST", "/v1/generatePin", json=body))[0] == 429
        assert (await _answer(w, "GET", "/v1/accessToken", headers=_headers(w)))[0] == 429
        calls = w.emu.calls()
        assert [c["applicationId"] for c in calls] == [w.connector.application_id] * 4

    _run(
        test,
        connector_limit=__import__("kaizala_async._ratelimit", fromlist=["Rate"]).Rate(2, 60.0),
    )
