"""Pure protocol decisions: Retry-After, error bodies, 308 Location, host policy, URL joining."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kaizala_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)
from kaizala_async._http import (
    HostPolicy,
    base_from_location,
    error_fields,
    error_from_response,
    is_invalid_token,
    join_url,
    json_body,
    json_or_none,
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


def test_an_unreadable_date_header_falls_back_to_now() -> None:
    # 1445412490 = Wed, 21 Oct 2015 07:28:10 GMT
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0, date="junk") == 10.0


def test_error_fields_read_the_three_fields_in_any_key_case_and_default_to_empty() -> None:
    body = {"ErrorCode": "E", "MESSAGE": "m", "errorCategoryKey": "cat"}
    assert error_fields(body) == ("E", "m", "cat")
    assert error_fields({}) == error_fields("not a mapping") == ("", "", "")
    assert error_fields({"errorCode": 7, "message": None}) == ("", "", "")


def test_an_unmapped_status_is_a_plain_api_error_carrying_every_field() -> None:
    body = {"errorCode": "Conflict", "message": "m", "errorCategoryKey": "cat"}
    error = error_from_response(409, body, method="POST", url="https://x/v1/y")
    assert type(error) is APIError
    assert (error.status, error.code, error.message, error.category) == (
        409,
        "Conflict",
        "m",
        "cat",
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"<html>", "not JSON"), (b"[" * 100_000 + b"]" * 100_000, "nested too deep")],
)
def test_a_2xx_answer_that_is_not_readable_json_says_what_and_why(
    content: bytes, problem: str
) -> None:
    with pytest.raises(UnexpectedResponseError) as caught:
        json_body(httpx.Response(200, content=content), "G2")
    assert (caught.value.what, caught.value.problems) == ("G2", [problem])
    assert json_or_none(httpx.Response(200, content=content)) is None


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("//kms3.kaiza.la/v1/groups", "https://kms3.kaiza.la"),  # scheme-relative
        ("https://kms3.kaiza.la/TenantX/v1/groups", "https://kms3.kaiza.la/TenantX"),
        ("https://kms3.kaiza.la/TenantX/", "https://kms3.kaiza.la/TenantX"),
        ("https://kms3.kaiza.la/a/V1/groups", "https://kms3.kaiza.la/a"),  # /v1 in any case
    ],
)
def test_base_from_location_more(location: str, expected: str) -> None:
    assert base_from_location(location, "https://kms.kaiza.la/") == expected


def test_join_url_strips_only_slashes() -> None:
    assert join_url("https://kms.kaiza.la/TenantX/", "/groups") == (
        "https://kms.kaiza.la/TenantX/v1/groups"
    )


@pytest.mark.parametrize("entry", [None, "", "   ", 42])
def test_host_policy_refuses_entries_that_are_not_non_empty_strings(entry: object) -> None:
    with pytest.raises(ValidationError) as caught:
        HostPolicy.build(["*.kaiza.la", entry])  # type: ignore[list-item]
    assert caught.value.argument == "allowed_hosts"
    assert repr(entry) in str(caught.value) and "non-empty strings" in str(caught.value)


def test_host_policy_ports_schemes_and_missing_hosts() -> None:
    policy = HostPolicy.build(
        [
            "API.example.com/",
            "https://tls.example:443",
            "https://bare.example",
            "ftp://files.example",
        ],
        "http://plain.example:80/",
        "http://bare-http.example",
    )
    assert policy.allows("https://api.example.com/v1/x")  # case and trailing slash ignored
    assert policy.allows("https://tls.example/v1/x")  # https's default port is 443
    assert policy.allows("https://bare.example:443/v1/x")
    assert not policy.allows("https://bare.example:8443/v1/x")
    assert policy.allows("http://plain.example/v1/x")  # http's default port is 80
    assert not policy.allows("http://plain.example:8080/v1/x")
    assert policy.allows("http://bare-http.example:80/v1/x")  # an origin without port: 80
    assert not policy.allows("http://bare-http.example:443/v1/x")
    assert not policy.allows("ftp://files.example/x")  # only http and https, whatever the list
    assert not policy.allows("https:///v1/x")  # no host
    assert not policy.allows("mailto:someone@api.example.com")
