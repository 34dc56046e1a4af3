"""The input checks, at their boundaries: what each accepts, what it refuses, and the argument
and reason the :class:`ValidationError` gives (what a caller reads before anything is sent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kaizala_async import ValidationError
from kaizala_async._validate import (
    aware_epoch_ms,
    check_api_path,
    check_bool,
    check_count,
    check_id,
    check_limit,
    check_seconds,
    check_text,
    check_url,
    has_space_or_control,
    optional_seconds,
    optional_text,
    phone_list,
    segment,
    validate_mobile_number,
)


def refusal(check: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        check()
    return caught.value.argument, caught.value.reason


E164 = "must be an E.164 number such as '+911234567890', not "


@pytest.mark.parametrize("number", ["+1234567", "+912345678901234", "+447700900123"])
def test_e164_numbers_of_7_to_15_digits_pass(number: str) -> None:
    assert validate_mobile_number(number) == number


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("+123456", "'+123456'"),  # 6 digits
        ("+9123456789012345", "'+9123456789012345'"),  # 16 digits
        ("+0123456789", "'+0123456789'"),
        ("911234567890", "'911234567890'"),
        ("+91 1234567890", "'+91 1234567890'"),
        ("+" + "1" * 31, repr("+" + "1" * 31)),  # 32 characters: still shown
        ("+" + "1" * 32, "str"),  # 33: only its type
        (911234567890, "int"),
        (None, "NoneType"),
    ],
)
def test_a_wrong_number_is_refused_and_shown_only_when_short(value: object, shown: str) -> None:
    assert refusal(lambda: validate_mobile_number(value)) == ("mobile_number", E164 + shown)
    assert refusal(lambda: validate_mobile_number(value, "owner"))[0] == "owner"


def test_phone_lists() -> None:
    assert phone_list(("+1234567", "+7654321"), "members") == ["+1234567", "+7654321"]
    assert phone_list([], "members") == []
    one_string = (
        "members",
        "must be a list of phone numbers, not one string",
    )
    assert refusal(lambda: phone_list("+1234567", "members")) == one_string
    assert refusal(lambda: phone_list(b"+1234567", "members")) == one_string
    assert refusal(lambda: phone_list(12, "members")) == one_string
    assert refusal(lambda: phone_list(["+1234567", "x"], "members"))[0] == "members[1]"
    assert refusal(lambda: phone_list([], "members", allow_empty=False)) == (
        "members",
        "must hold at least one phone number",
    )
    assert phone_list(["+1234567", "+1234568"], "members", most=2) == ["+1234567", "+1234568"]
    assert refusal(lambda: phone_list(["+1234567"] * 3, "members", most=2)) == (
        "members",
        "holds 3 numbers; at most 2 are allowed",
    )


def test_ids_and_path_segments() -> None:
    assert check_id("...", "group_id") == "..."  # only the two dot segments are refused
    assert check_id(" g ", "group_id") == " g "
    for bad, shown in [("", "''"), ("  ", "'  '"), (None, "NoneType"), (7, "int")]:
        assert refusal(lambda bad=bad: check_id(bad, "group_id")) == (  # type: ignore[misc]
            "group_id",
            f"must be a non-empty id string, not {shown}",
        )
    for dots in (".", ".."):
        assert refusal(lambda dots=dots: check_id(dots, "group_id")) == (  # type: ignore[misc]
            "group_id",
            f"{dots!r} is not an id (it is a relative path step)",
        )
    assert segment("a/b?c#d e%", "group_id") == "a%2Fb%3Fc%23d%20e%25"
    assert segment("x@y:z+!$'()*,;=", "group_id") == "x@y:z+!$'()*,;="
    assert refusal(lambda: segment("..", "message_id"))[0] == "message_id"


def test_text() -> None:
    assert check_text("abcd", "title", most=4) == "abcd"
    assert check_text(" a ", "title") == " a "
    assert refusal(lambda: check_text("abcde", "title", most=4)) == (
        "title",
        "is 5 characters long; the service takes at most 4",
    )
    for bad in ("", " \n", None, 3):
        assert refusal(lambda bad=bad: check_text(bad, "title")) == (  # type: ignore[misc]
            "title",
            "must be a non-empty string",
        )
    assert optional_text(None, "context") is None
    assert optional_text("", "context") == ""
    assert refusal(lambda: optional_text(3, "context")) == ("context", "must be a string, not int")


def test_booleans_and_counts() -> None:
    assert check_bool(False, "flag") is False
    assert refusal(lambda: check_bool(1, "flag")) == ("flag", "must be True or False, not int")
    assert refusal(lambda: check_bool("yes", "flag")) == (
        "flag",
        "must be True or False, not 'yes'",
    )
    assert check_count(1, "n") == 1
    assert check_count(0, "n", least=0) == 0
    assert check_count(5, "n", most=5) == 5
    for bad in (0, -1, True, 1.0, "2"):
        assert refusal(lambda bad=bad: check_count(bad, "n")) == (  # type: ignore[misc]
            "n",
            "must be a whole number of at least 1",
        )
    assert refusal(lambda: check_count(2, "n", least=3)) == (
        "n",
        "must be a whole number of at least 3",
    )
    assert refusal(lambda: check_count(6, "n", most=5)) == ("n", "must be at most 5, not 6")
    assert check_limit(None) is None
    assert check_limit(1) == 1
    assert refusal(lambda: check_limit(0))[0] == "limit"


def test_aware_datetimes_become_epoch_milliseconds() -> None:
    moment = datetime(2018, 3, 22, 18, 29, 59, 250_000, tzinfo=UTC)
    assert aware_epoch_ms(moment, "due") == 1_521_743_399_250
    india = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert aware_epoch_ms(india, "due") == 1_521_743_399_250
    naive = ("due", "must be a timezone-aware datetime")
    assert refusal(lambda: aware_epoch_ms(moment.replace(tzinfo=None), "due")) == naive
    assert refusal(lambda: aware_epoch_ms("2018-03-22", "due")) == naive


@pytest.mark.parametrize("url", ["http://h", "https://cdn.example/a.jpg?sv=1&x=%20"])
def test_urls_that_pass(url: str) -> None:
    assert check_url(url, "media_url") == url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ftp://h/x", "'ftp://h/x'"),
        ("https:///x", "'https:///x'"),
        ("https://@h", "'https://@h'"),
        ("//h/x", "'//h/x'"),
        ("https://h/a b", "'https://h/a b'"),
        ("https://h/a\x00", "'https://h/a\\x00'"),
        ("https://h/\x7f", "'https://h/\\x7f'"),
        (None, "NoneType"),
    ],
)
def test_urls_refused(url: object, shown: str) -> None:
    assert refusal(lambda: check_url(url, "media_url")) == (
        "media_url",
        f"must be an http(s) URL, not {shown}",
    )


def test_seconds() -> None:
    assert check_seconds(2, "timeout") == 2.0 and type(check_seconds(2, "timeout")) is float
    assert check_seconds(0.001, "timeout") == 0.001
    assert check_seconds(0, "max_wait", zero=True) == 0.0
    for bad, shown in [
        (True, "bool"),
        ("1", "'1'"),
        (float("nan"), "float"),
        (float("inf"), "float"),
    ]:
        assert refusal(lambda bad=bad: check_seconds(bad, "timeout")) == (  # type: ignore[misc]
            "timeout",
            f"must be a finite number of seconds, not {shown}",
        )
    assert refusal(lambda: check_seconds(0, "timeout")) == (
        "timeout",
        "must be more than 0 seconds, not 0",
    )
    assert refusal(lambda: check_seconds(-0.5, "max_wait", zero=True)) == (
        "max_wait",
        "must be 0 or more seconds, not -0.5",
    )
    assert optional_seconds(None, "timeout") is None
    assert optional_seconds(3, "timeout") == 3.0
    assert refusal(lambda: optional_seconds(0, "timeout"))[0] == "timeout"


def test_raw_call_paths() -> None:
    for good in ("/groups", "/v1", "/groups/g1/messages?x=..", "/v1x/y", "/groups?next=/../x?y=1"):
        assert check_api_path(good) == good
    prefix = "must start with '/' and leave out '/v1', not "
    assert refusal(lambda: check_api_path("groups")) == ("path", prefix + "'groups'")
    assert refusal(lambda: check_api_path("/v1/groups")) == ("path", prefix + "'/v1/groups'")
    assert refusal(lambda: check_api_path(None)) == ("path", prefix + "NoneType")
    smuggled = (
        "path",
        "must not hold whitespace, control characters or '.'/'..' segments "
        "(percent-encoded ones included)",
    )
    for bad in ("/groups/../tenant", "/groups/.", "/a b", "/a\r\nX: y", "/a\x7f",
                # what a standard server decodes and resolves outside /v1 (issue 25)
                "/%2e%2e/x", "/groups/%2E%2e/tenant", "/groups/.%2e", "/%252e%252e/x",
                "/groups%2f..%2ftenant", "/groups\\..\\tenant", "/a%00b", "/a%0d%0aX:%20y"):  # fmt: skip
        assert refusal(lambda bad=bad: check_api_path(bad)) == smuggled  # type: ignore[misc]


def test_space_or_control() -> None:
    assert [has_space_or_control(t) for t in ("abc", "a b", "\t", "\x1f", "\x7f", "é")] == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]
