"""Pure protocol decisions: Retry-After, error bodies, 308 Location, host policy, URL joining."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kaizala_async import AuthenticationError, BadRequestError, NotFoundError, ServerError
from kaizala_async._http import (
    HostPolicy,
    base_from_location,
    error_from_response,
    is_invalid_token,
    join_url,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("7", None, 7.0),
        (" 2.5 ", None, 2.5),
        ("-3", None, 0.0),
        ("", None, None),
        (None, None, None),
        ("soon", None, None),
        ("nan", None, None),
        ("Wed, 21 Oct 2015 07:28:10 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, date: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=0.0, date=date) == expected


def test_retry_after_date_without_date_header_uses_now() -> None:
    # 1445412490 = Wed, 21 Oct 2015 07:28:10 GMT
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


@given(st.integers(0, 10**6))
def test_integer_seconds_round_trip(seconds: int) -> None:
    assert parse_retry_after(str(seconds), now=0.0) == float(seconds)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://kms2.kaiza.la/", "https://kms2.kaiza.la"),
        ("https://kms2.kaiza.la", "https://kms2.kaiza.la"),
        ("https://kms2.kaiza.la/v1/groups/abc@1/messages?x=1", "https://kms2.kaiza.la"),
        ("https://host.kaiza.la/prefix/v1/groups", "https://host.kaiza.la/prefix"),
        ("https://host.kaiza.la/prefix/", "https://host.kaiza.la/prefix"),
        ("/moved/v1/groups", "https://kms.kaiza.la/moved"),
    ],
)
def test_base_from_location(location: str, expected: str) -> None:
    assert base_from_location(location, "https://kms.kaiza.la/") == expected


def test_join_url_never_doubles_slashes() -> None:
    assert (
        join_url("https://kms-alpha.kaiza.la/", "/groups") == "https://kms-alpha.kaiza.la/v1/groups"
    )
    assert join_url("https://x.office.net", "/groups") == "https://x.office.net/v1/groups"


def test_host_policy() -> None:
    policy = HostPolicy.build(["*.kaiza.la", "*.office.net"], "http://127.0.0.1:8080")
    assert policy.allows("https://kms.kaiza.la/v1/x")
    assert policy.allows("https://inc-000.KaizalaMessaging.osi.office.net/v1/x")
    assert policy.allows("http://127.0.0.1:8080/v1/x")
    assert not policy.allows("http://127.0.0.1:8081/v1/x")
    assert not policy.allows("http://kms.kaiza.la/v1/x")
    assert not policy.allows("https://kaiza.la.evil.com/")
    assert not policy.allows("https://evilkaiza.la/")
    assert not policy.allows("https://localhost/")


def test_invalid_token_detection() -> None:
    assert is_invalid_token(401, {"errorCode": "InvalidToken"})
    assert is_invalid_token(400, {"ErrorCode": "invalidtoken"})  # any status, any key case
    assert is_invalid_token(401, None)
    assert not is_invalid_token(401, {"errorCode": "Unauthenticated"})
    assert not is_invalid_token(403, {"errorCode": "Forbidden"})


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"errorCode": "InvalidParameters", "message": "m"}, BadRequestError),
        (404, {}, NotFoundError),
        (500, "not json", ServerError),
        (403, {"errorCode": "InvalidToken"}, AuthenticationError),
    ],
)
def test_error_from_response(status: int, body: object, cls: type) -> None:
    error = error_from_response(status, body, method="GET", url="https://x/v1/y")
    assert type(error) is cls
    assert error.status == status
    assert "GET https://x/v1/y" in str(error)
