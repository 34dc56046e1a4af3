"""Secrets never appear in a repr, a log record or an exception message."""

from __future__ import annotations

import asyncio
import logging
import pickle

import httpx
import pytest

from kaizala_async import (
    AuthenticationError,
    Credentials,
    KaizalaClient,
    RateLimits,
    Secret,
    ValidationError,
)
from kaizala_async._secrets import redact

from .conftest import make_client
from .fake_service import APP_SECRET, REFRESH, FakeKaizala
from .vtime import run_virtual


def test_credentials_repr_hides_secrets() -> None:
    creds = Credentials("app-id", "very-secret-value", "refresh-token-value")
    text = repr(creds) + str(creds) + f"{creds}"
    assert "app-id" in text
    assert "very-secret-value" not in text
    assert "refresh-token-value" not in text
    assert creds.application_secret.reveal() == "very-secret-value"


def test_secret_never_shows_itself() -> None:
    secret = Secret("hunter2-hunter2")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s" % secret):
        assert "hunter2" not in shown
    assert secret == Secret("hunter2-hunter2")
    assert secret != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_bad_secret_errors_do_not_echo_the_value() -> None:
    with pytest.raises(ValidationError) as info:
        Credentials("app", "   ")
    assert "credentials" in str(info.value)


def test_redact_scrubs_known_secrets_and_token_headers() -> None:
    kept = Secret("known-secret-123")  # live secrets are scrubbed wherever they appear
    text = redact(
        "a known-secret-123 b {'accessToken': 'abc.def'} refreshtoken: xyz Authorization: Bearer qq"
    )
    assert "known-secret-123" not in text
    assert "abc.def" not in text
    assert "xyz" not in text
    assert "qq" not in text
    assert kept.reveal() == "known-secret-123"


def test_no_secret_in_any_log_record_of_a_session(
    fake: FakeKaizala, caplog: pytest.LogCaptureFixture
) -> None:
    fake.token_ttl = 50.0
    caplog.set_level(logging.DEBUG)
    # A user who logs the request headers themselves through the SDK's logger is covered too.
    logging.getLogger("kaizala_async").debug("headers: %s", {"accessToken": "access-1"})

    async def main() -> None:
        async with make_client(fake) as client:
            await client.request("GET", "/groups")
            await asyncio.sleep(120)
            await client.request("GET", "/groups")

    run_virtual(main)
    tokens = set(fake.tokens) | {APP_SECRET, REFRESH}
    assert fake.token_calls >= 3
    for record in caplog.records:
        message = record.getMessage()
        for token in tokens:
            assert token not in message, (record.name, message)


def test_client_repr_and_errors_hide_secrets() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "message": "Dont have correct applicationId and secret in header!",
                "errorCode": "Unauthenticated",
            },
        )

    creds = Credentials("app", "the-app-secret", "the-refresh-token")
    client = KaizalaClient(
        creds, transport=httpx.MockTransport(handler), limits=RateLimits.unlimited()
    )
    assert "the-app-secret" not in repr(client)

    async def main() -> None:
        async with client:
            pass

    with pytest.raises(AuthenticationError) as info:
        run_virtual(main)
    rendered = str(info.value) + repr(info.value)
    assert "the-app-secret" not in rendered and "the-refresh-token" not in rendered
