"""The PIN flow (A1, A2) and its input checks."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import respx

from kaizala_async import AuthenticationError, ValidationError, exchange_pin, login_with_pin

from .fake_service import APP_ID, FakeKaizala
from .vtime import run_virtual


def test_login_with_pin_sync_and_async_pin_sources(fake: FakeKaizala) -> None:
    transport = httpx.ASGITransport(app=fake)

    async def main() -> None:
        result = await login_with_pin(
            APP_ID, "+911234567890", pin=lambda: fake.pins[-1][1], transport=transport
        )
        assert result.refresh_token.reveal().startswith("refresh-from-pin-")
        assert result.scopes == ("groupinfo.read", "textmessage.read")
        assert result.refresh_token_expiry is not None

        async def ask() -> str:
            return fake.pins[-1][1]

        again = await login_with_pin(APP_ID, "+911234567890", pin=ask, transport=transport)
        assert again.refresh_token != result.refresh_token
        assert "refresh-from-pin" not in repr(again)

    run_virtual(main)
    generate = [c for c in fake.calls if c.path == "/v1/generatePin"]
    login = [c for c in fake.calls if c.path == "/v1/loginWithPinAndApplicationId"]
    assert json.loads(generate[0].body) == {
        "mobileNumber": "+911234567890",
        "applicationId": APP_ID,
    }
    assert json.loads(login[0].body) == {
        "mobileNumber": "+911234567890",
        "applicationId": APP_ID,
        "pin": 4321,
    }


def test_wrong_pin_is_an_authentication_error(fake: FakeKaizala) -> None:
    async def main() -> None:
        with pytest.raises(AuthenticationError):
            await exchange_pin(
                APP_ID, "+911234567890", "1111", transport=httpx.ASGITransport(app=fake)
            )

    run_virtual(main)


@pytest.mark.parametrize(
    ("mobile", "pin", "argument"),
    [
        ("911234567890", "1234", "mobile_number"),
        ("+91 12345 67890", "1234", "mobile_number"),
        ("+0123456789", "1234", "mobile_number"),
        ("+911234567890", "12a4", "pin"),
        ("+911234567890", True, "pin"),
    ],
)
def test_bad_input_is_rejected_before_any_request(
    fake: FakeKaizala, mobile: str, pin: object, argument: str
) -> None:
    async def main() -> None:
        with pytest.raises(ValidationError) as info:
            await exchange_pin(APP_ID, mobile, pin, transport=httpx.ASGITransport(app=fake))  # type: ignore[arg-type]
        assert info.value.argument == argument
        assert "12a4" not in str(info.value)  # a PIN is never echoed

    run_virtual(main)
    assert fake.calls == []


def test_a_429_to_the_pin_login_is_waited_out_then_sent_again() -> None:
    """The PIN login paces nothing by default (``limits=None``): a 429's Retry-After is still
    honoured before the one resend."""
    router = respx.Router(assert_all_called=False)
    refresh = {"refreshToken": "refresh-from-pin-1", "grantedScope": "groupinfo.read",
               "refreshTokenExpiry": int((time.time() + 86400) * 1000)}  # fmt: skip
    answers = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=refresh)]
    route = router.post("https://api.kaiza.la/v1/loginWithPinAndApplicationId").mock(
        side_effect=answers
    )

    async def main() -> tuple[float, str]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await exchange_pin(APP_ID, "+911234567890", "4321",
                                    transport=httpx.MockTransport(router.async_handler))  # fmt: skip
        return loop.time() - start, result.refresh_token.reveal()

    waited, token = run_virtual(main)
    assert 7.0 <= waited < 7.1 and token == "refresh-from-pin-1"
    assert route.call_count == 2
