"""The errors (``_errors``) on their own: each one's fields and message, exactly as a user
reads them, and the redaction of what the service sent."""

from __future__ import annotations

import pytest

from kaizala_async import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    EndpointMovedError,
    KaizalaError,
    RequestTimeoutError,
    Secret,
    SlotWaitTimeoutError,
    ThrottledError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)


def test_a_validation_error_names_the_argument_and_the_reason() -> None:
    error = ValidationError("group_id", "must be a non-empty id string")
    assert (error.argument, error.reason) == ("group_id", "must be a non-empty id string")
    assert str(error) == "group_id: must be a non-empty id string"
    assert isinstance(error, ValueError) and isinstance(error, KaizalaError)


@pytest.mark.parametrize(("seconds", "shown"), [(2.5, "2.5"), (30.0, "30"), (0.001, "0.001")])
def test_a_slot_wait_timeout_says_how_long_and_that_nothing_was_sent(
    seconds: float, shown: str
) -> None:
    error = SlotWaitTimeoutError(seconds)
    assert error.max_wait == seconds
    assert str(error) == f"no rate-limit slot within max_wait={shown} s; nothing was sent"
    assert isinstance(error, TimeoutError)


def test_a_closed_client_error_says_what_to_do() -> None:
    error = ClientClosedError("the client was closed before this call could go")
    assert str(error) == (
        "the client was closed before this call could go; "
        "use the client inside `async with KaizalaClient(...)`"
    )
    assert isinstance(error, RuntimeError)
    assert str(ClientClosedError()) == (
        "the client is closed; use the client inside `async with KaizalaClient(...)`"
    )


def test_an_unexpected_answer_lists_five_problems_at_most() -> None:
    problems = [f"problem {n}" for n in range(7)]
    error = UnexpectedResponseError("GET /groups", problems)
    assert (error.what, error.problems) == ("GET /groups", problems)
    assert str(error) == (
        "unexpected answer to GET /groups: problem 0; problem 1; problem 2; problem 3; problem 4"
    )


@pytest.mark.parametrize("kind", [TransportError, RequestTimeoutError])
def test_a_transport_error_keeps_the_call_and_whether_it_left(kind: type[TransportError]) -> None:
    error = kind("connection reset", method="POST", url="https://kms/v1/x", request_sent=True)
    assert (error.method, error.url, error.request_sent) == ("POST", "https://kms/v1/x", True)
    assert str(error) == "connection reset (POST https://kms/v1/x)"


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({}, "HTTP 404"),
        ({"code": "NotFound"}, "HTTP 404 NotFound"),
        ({"message": "no such group"}, "HTTP 404: no such group"),
        (
            {"method": "GET", "url": "https://kms/v1/groups/g"},
            "HTTP 404 (GET https://kms/v1/groups/g)",
        ),
        (
            {"code": "NotFound", "message": "no such group", "method": "GET", "url": "https://u"},
            "HTTP 404 NotFound: no such group (GET https://u)",
        ),
    ],
)
def test_an_api_errors_message_shows_what_is_known(kwargs: dict[str, str], shown: str) -> None:
    error = APIError(404, **kwargs)
    assert str(error) == shown
    assert (error.status, error.code, error.message, error.category, error.method, error.url) == (
        404, kwargs.get("code", ""), kwargs.get("message", ""), "", kwargs.get("method", ""),
        kwargs.get("url", ""),
    )  # fmt: skip


def test_what_the_service_sent_is_redacted_before_it_is_kept() -> None:
    live = Secret("a-live-token-value-123")
    error = AuthenticationError(
        401, f"Bad{live.reveal()}", f"echo {live.reveal()}", category=f"cat {live.reveal()}"
    )
    assert live.reveal() not in f"{error} {error.code} {error.message} {error.category}"
    assert error.message.startswith("echo ")
    del live


@pytest.mark.parametrize(
    ("retry_after", "attempts", "message"),
    [
        (None, 1, "throttled 1 time(s); Retry-After unknown"),
        (7.0, 3, "throttled 3 time(s); Retry-After 7 s"),
        (0.25, 2, "throttled 2 time(s); Retry-After 0.25 s"),
    ],
)
def test_a_throttled_error_says_how_often_and_how_long(
    retry_after: float | None, attempts: int, message: str
) -> None:
    error = ThrottledError(retry_after, attempts=attempts)
    assert (error.retry_after, error.attempts) == (retry_after, attempts)
    assert (error.status, error.code, error.message) == (429, "TooManyRequests", message)
    assert str(error) == f"HTTP 429 TooManyRequests: {message}"


def test_a_throttled_error_counts_one_attempt_unless_told() -> None:
    assert ThrottledError(1.0).attempts == 1


def test_a_throttled_error_keeps_the_services_own_words_and_the_call() -> None:
    error = ThrottledError(
        9.0, attempts=2, code="Throttled", message="slow down", category="Limits",
        method="POST", url="https://u",
    )  # fmt: skip
    assert (error.code, error.message, error.category) == ("Throttled", "slow down", "Limits")
    assert str(error) == "HTTP 429 Throttled: slow down (POST https://u)"


def test_empty_service_words_fall_back_to_ours() -> None:
    error = ThrottledError(None, code="", message="")
    assert (error.code, error.message) == (
        "TooManyRequests", "throttled 1 time(s); Retry-After unknown",
    )  # fmt: skip


def test_an_endpoint_move_keeps_where_and_why_redacted() -> None:
    live = Secret("moved-token-value-456")
    error = EndpointMovedError(
        f"https://evil.example/?t={live.reveal()}",
        "not on the allowed hosts",
        method="GET",
        url="https://u",
    )
    assert error.reason == "not on the allowed hosts"
    assert live.reveal() not in error.location
    assert (error.status, error.code) == (308, "EndpointMoved")
    assert str(error).startswith(
        "HTTP 308 EndpointMoved: not on the allowed hosts: https://evil.example/?t="
    )
    assert str(error).endswith(" (GET https://u)")
    del live
