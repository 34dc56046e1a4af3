"""The PIN flow's finer rules (``_login``), against a scripted token service in virtual time:
each refusal's argument and reason, the PINs taken, the requests as sent, the deadline, the
pacing ``limits`` asks for, and the answers that are not a login."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from kaizala_async import (
    AuthenticationError,
    Rate,
    RateLimits,
    RequestTimeoutError,
    Secret,
    UnexpectedResponseError,
    ValidationError,
    exchange_pin,
    login_with_pin,
    request_pin,
)
from kaizala_async._constants import USER_AGENT

from .vtime import run_virtual

APP = "app-login-rules"
PHONE = "+911234567890"
LOGIN = {
    "refreshToken": "refresh-from-rules",
    "grantedScope": "groupinfo.read",
    "refreshTokenExpiry": int((time.time() + 86_400) * 1000),
}


class TokenService:
    """Answers A1 with 200 and nothing, A2 with ``login``; records each request and its time."""

    def __init__(self, login: httpx.Response | None = None, *, hang: bool = False) -> None:
        self.login = login if login is not None else httpx.Response(200, json=LOGIN)
        self.hang = hang
        self.requests: list[tuple[float, httpx.Request]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((asyncio.get_running_loop().time(), request))
        if self.hang:
            await asyncio.sleep(3600.0)
        if request.url.path == "/v1/generatePin":
            return httpx.Response(200)
        return self.login

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def bodies(self) -> list[tuple[str, Any]]:
        return [(r.url.path, json.loads(r.content)) for _, r in self.requests]


def refused(run: Callable[[TokenService], Awaitable[Any]]) -> tuple[str | None, str, int]:
    """The argument and message of the `ValidationError` ``run`` raises; requests made."""
    service = TokenService()

    async def main() -> ValidationError:
        with pytest.raises(ValidationError) as info:
            await run(service)
        return info.value

    error = run_virtual(main)
    return error.argument, str(error), len(service.requests)


# -- refusals: before any request, naming the argument and the reason --------------------------


@pytest.mark.parametrize("bad", ["", "   ", 5, None])
def test_an_application_id_must_be_a_non_empty_string(bad: object) -> None:
    argument, message, sent = refused(
        lambda s: request_pin(bad, PHONE, transport=s.transport)  # type: ignore[arg-type]
    )
    assert (argument, sent) == ("application_id", 0)
    assert message == "application_id: must be a non-empty string"


@pytest.mark.parametrize("bad", ["12a4", "", "1234567890", True, 12.0, -5, Secret("1 2")])
def test_a_pin_must_be_up_to_nine_digits_and_is_never_echoed(bad: object) -> None:
    argument, message, sent = refused(
        lambda s: exchange_pin(APP, PHONE, bad, transport=s.transport)  # type: ignore[arg-type]
    )
    assert (argument, sent) == ("pin", 0)
    assert message == "pin: must be the digits received by SMS"  # never the PIN itself


@pytest.mark.parametrize(
    ("pin", "sent_as"),
    [("123456789", 123456789), (" 0042 ", 42), (4321, 4321), (Secret("7788"), 7788)],
)
def test_the_pins_taken_and_the_number_each_is_sent_as(pin: object, sent_as: int) -> None:
    service = TokenService()
    run_virtual(lambda: exchange_pin(APP, PHONE, pin, transport=service.transport))  # type: ignore[arg-type]
    assert service.bodies() == [
        (
            "/v1/loginWithPinAndApplicationId",
            {"mobileNumber": PHONE, "applicationId": APP, "pin": sent_as},
        )
    ]


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "5"])
def test_a_login_checks_its_timeout_before_the_first_request(bad: object) -> None:
    argument, message, sent = refused(
        lambda s: login_with_pin(APP, PHONE, pin=lambda: "1", transport=s.transport, timeout=bad)  # type: ignore[arg-type]
    )
    assert (argument, sent) == ("timeout", 0)
    assert message.startswith("timeout:")


@pytest.mark.parametrize("step", ["request", "exchange"])
def test_each_step_checks_its_timeout_before_sending(step: str) -> None:
    argument, _, sent = refused(
        lambda s: (
            request_pin(APP, PHONE, transport=s.transport, timeout=-1.0)
            if step == "request"
            else exchange_pin(APP, PHONE, "1", transport=s.transport, timeout=-1.0)
        )
    )
    assert (argument, sent) == ("timeout", 0)


def test_a_pin_source_must_be_callable() -> None:
    argument, message, sent = refused(
        lambda s: login_with_pin(APP, PHONE, pin="1234", transport=s.transport)  # type: ignore[arg-type]
    )
    assert (argument, sent) == ("pin", 0)
    assert message == "pin: must be a callable that returns the PIN once it has been sent"


# -- the requests as sent ----------------------------------------------------------------------


def test_both_requests_go_to_the_token_service_as_the_sdk_with_their_bodies() -> None:
    service = TokenService()
    result = run_virtual(
        lambda: login_with_pin(APP, PHONE, pin=lambda: Secret("2468"), transport=service.transport)
    )
    assert result.refresh_token.reveal() == "refresh-from-rules"
    assert service.bodies() == [
        ("/v1/generatePin", {"mobileNumber": PHONE, "applicationId": APP}),
        (
            "/v1/loginWithPinAndApplicationId",
            {"mobileNumber": PHONE, "applicationId": APP, "pin": 2468},
        ),
    ]
    for _, request in service.requests:
        assert request.method == "POST"
        assert request.url.host == "api.kaiza.la"
        assert request.headers["user-agent"] == USER_AGENT
        assert "accesstoken" not in request.headers  # no token goes to the token service


def test_a_cookie_the_pin_request_answer_sets_is_not_sent_with_the_pin() -> None:
    class Planting(TokenService):
        async def __call__(self, request: httpx.Request) -> httpx.Response:
            answer = await super().__call__(request)
            answer.headers["set-cookie"] = "planted=1; Domain=kaiza.la; Path=/"
            return answer

    service = Planting()
    run_virtual(lambda: login_with_pin(APP, PHONE, pin=lambda: "1", transport=service.transport))
    assert [r.headers.get("cookie") for _, r in service.requests] == [None, None]


def test_an_api_root_given_is_where_both_requests_go() -> None:
    service = TokenService()
    run_virtual(
        lambda: login_with_pin(
            APP,
            PHONE,
            pin=lambda: "1",
            api_root="https://tokens.example.test/",
            transport=service.transport,
        )
    )
    assert [str(r.url) for _, r in service.requests] == [
        "https://tokens.example.test/v1/generatePin",
        "https://tokens.example.test/v1/loginWithPinAndApplicationId",
    ]


def test_a_redirect_from_the_token_service_is_not_followed() -> None:
    moved = httpx.Response(302, headers={"Location": "https://elsewhere.example.test/steal"})
    service = TokenService(login=moved)

    async def main() -> None:
        with pytest.raises(Exception):  # noqa: B017,PT011 - any typed error; what matters is below
            await exchange_pin(APP, PHONE, "1234", transport=service.transport)

    run_virtual(main)
    assert [r.url.host for _, r in service.requests] == ["api.kaiza.la"]


# -- the deadline and the pacing ---------------------------------------------------------------


@pytest.mark.parametrize("step", ["request", "exchange", "login"])
def test_a_token_service_that_never_answers_is_given_up_at_the_timeout(step: str) -> None:
    service = TokenService(hang=True)
    calls = {
        "request": lambda: request_pin(APP, PHONE, transport=service.transport, timeout=5.0),
        "exchange": lambda: exchange_pin(APP, PHONE, "1", transport=service.transport, timeout=5.0),
        "login": lambda: login_with_pin(APP, PHONE, pin=lambda: "1", transport=service.transport, timeout=5.0),
    }  # fmt: skip

    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(RequestTimeoutError):
            await calls[step]()
        return loop.time() - start

    assert run_virtual(main) == pytest.approx(5.0, abs=0.01)


def test_a_login_whose_exchange_never_answers_is_given_up_at_the_timeout() -> None:
    """The timeout reaches the second step too (the PIN request is answered at once)."""

    class Hanging(TokenService):
        async def __call__(self, request: httpx.Request) -> httpx.Response:
            self.hang = request.url.path != "/v1/generatePin"
            return await super().__call__(request)

    service = Hanging()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(RequestTimeoutError):
            await login_with_pin(
                APP, PHONE, pin=lambda: "1", transport=service.transport, timeout=5.0
            )
        return loop.time() - start

    assert run_virtual(main) == pytest.approx(5.0, abs=0.01)
    assert len(service.requests) == 2


@pytest.mark.parametrize("step", ["request", "exchange", "login"])
def test_limits_given_pace_the_token_service_calls(step: str) -> None:
    # A fresh budget of 1 call / 10 s is pre-charged: each call waits one spacing first.
    limits = RateLimits(connector=Rate(1, 10.0), tenant=None, jitter=0.0)
    service = TokenService()
    calls = {
        "request": lambda: request_pin(APP, PHONE, transport=service.transport, limits=limits),
        "exchange": lambda: exchange_pin(APP, PHONE, "1", transport=service.transport, limits=limits),
        "login": lambda: login_with_pin(APP, PHONE, pin=lambda: "1", transport=service.transport, limits=limits),
    }  # fmt: skip

    async def main() -> list[float]:
        start = asyncio.get_running_loop().time()
        await calls[step]()
        return [round(at - start, 2) for at, _ in service.requests]

    assert run_virtual(main) == ([10.0, 20.0] if step == "login" else [10.0])


def test_without_limits_nothing_is_paced() -> None:
    service = TokenService()

    async def main() -> list[float]:
        start = asyncio.get_running_loop().time()
        await login_with_pin(APP, PHONE, pin=lambda: "1", transport=service.transport)
        return [round(at - start, 2) for at, _ in service.requests]

    assert run_virtual(main) == [0.0, 0.0]


# -- answers that are not a login --------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"grantedScope": "groupinfo.read"}),  # no refresh token
        httpx.Response(200, json=["refresh-from-rules"]),
        httpx.Response(200),  # nothing at all
    ],
)
def test_a_login_answer_without_a_refresh_token_is_an_authentication_error(
    answer: httpx.Response,
) -> None:
    service = TokenService(login=answer)

    async def main() -> AuthenticationError:
        with pytest.raises(AuthenticationError) as info:
            await exchange_pin(APP, PHONE, "1234", transport=service.transport)
        return info.value

    error = run_virtual(main)
    assert (error.status, error.code) == (200, "BadLoginResponse")
    assert error.message == "the PIN login answered without a refresh token"


def test_an_answer_that_is_not_json_names_the_token_service() -> None:
    service = TokenService(login=httpx.Response(200, text="<html>maintenance</html>"))

    async def main() -> UnexpectedResponseError:
        with pytest.raises(UnexpectedResponseError) as info:
            await exchange_pin(APP, PHONE, "1234", transport=service.transport)
        return info.value

    error = run_virtual(main)
    assert (error.what, error.problems) == ("the token service's answer", ["not JSON"])
