"""What every emulator route shares (``emulator._wire``): the error bodies the service sends,
its leniencies (booleans as text, case-insensitive keys, the Postman collection's relaxed JSON),
and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from kaizala_async.emulator._wire import (
    HTTPError,
    Request,
    bad,
    not_found,
    numbers,
    ok,
    too_many,
    truthy,
)


def _request(body: bytes) -> Request:
    return Request("POST", "/v1/groups", {}, {}, body)


def test_the_error_bodies_are_the_services_three_keys() -> None:
    error = bad("count must be a number")
    assert (error.status, error.headers) == (400, {})
    assert error.body == {
        "message": "count must be a number",
        "errorCode": "InvalidParameters",
        "errorCategoryKey": "Validation",
    }
    missing = not_found("group g1")
    assert missing.status == 404
    assert missing.body == {
        "message": "group g1 not found",
        "errorCode": "NotFound",
        "errorCategoryKey": "Resource",
    }
    assert too_many() == {
        "message": "Too many requests",
        "errorCode": "TooManyRequests",
        "errorCategoryKey": "Throttling",
    }
    assert ok({"a": 1}) == (200, {"a": 1}, {})


def test_an_error_keeps_its_headers_and_has_none_by_default() -> None:
    assert HTTPError(429, None, {"Retry-After": "3"}).headers == {"Retry-After": "3"}
    assert HTTPError(500, None).headers == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), (" TRUE ", True), ("True", True),
     ("false", False), ("yes", False), ("", False), (1, True), (0, False), (None, False)],
)  # fmt: skip
def test_booleans_arrive_as_json_or_as_text(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


def test_numbers_must_be_a_non_empty_list_of_text() -> None:
    assert numbers({"members": ["+911", "+912"]}, "members") == ["+911", "+912"]
    for wrong in ({}, {"members": []}, {"members": "+911"}, {"members": ["+911", 5]}):
        with pytest.raises(HTTPError) as caught:
            numbers(wrong, "members")
        assert caught.value.status == 400
        assert caught.value.body is not None
        assert caught.value.body["message"] == "members must be a non-empty list of phone numbers"


def test_a_body_is_read_with_its_keys_lower_cased_at_every_depth() -> None:
    body = b'{"GroupName": "A", "Members": [{"MobileNumber": "+91"}], "Nested": {"InnerKey": 1}}'
    assert _request(body).json() == {
        "groupname": "A",
        "members": [{"mobilenumber": "+91"}],
        "nested": {"innerkey": 1},
    }
    assert _request(b"").json() == {}


def test_the_postman_collections_relaxed_json_is_accepted() -> None:
    assert _request(b"{message: 'hello there', count: 2}").json() == {
        "message": "hello there",
        "count": 2,
    }
    assert _request(b"{'Key': 'it is'}").json() == {"key": "it is"}
    # Text that is not UTF-8 is read with replacement characters, never a crash.
    assert _request(b"{text: '\xff'}").json() == {"text": "\ufffd"}


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{not json at all", "the body is not JSON"),
     (b"[1, 2]", "the body must be a JSON object"),
     (b"\"text\"", "the body must be a JSON object")],
)  # fmt: skip
def test_a_body_that_is_not_a_json_object_is_a_400(body: bytes, message: str) -> None:
    with pytest.raises(HTTPError) as caught:
        _request(body).json()
    assert caught.value.status == 400
    assert caught.value.body is not None
    assert caught.value.body["message"] == message
