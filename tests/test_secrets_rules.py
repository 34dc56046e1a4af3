"""The finer rules of secrets and of the log filter (each one a promise a user relies on)."""

from __future__ import annotations

import logging
import sys
import uuid
import weakref

import pytest

from kaizala_async import Secret, SecretsFilter, _secrets
from kaizala_async._secrets import REDACTED, install_log_redaction, redact


def test_a_secret_is_a_string_and_its_truth_equality_and_hash_follow_its_value() -> None:
    with pytest.raises(TypeError):
        Secret(12345)  # type: ignore[arg-type]
    assert not Secret("") and Secret("x")
    assert Secret("same-value") == Secret("same-value") and hash(Secret("a")) == hash(Secret("a"))
    assert Secret("same-value") != "same-value"  # never equal to the bare string
    assert len({Secret("k1"), Secret("k1"), Secret("k2")}) == 2
    assert format(Secret("hunter22"), ">20") == repr(Secret("x")) == f"Secret({REDACTED!r})"


def test_redact_replaces_live_secrets_of_four_characters_or_more_only() -> None:
    long, short = Secret("wxyz"), Secret("pqr")
    assert redact("a wxyz b") == "a *** b"
    assert redact("a pqr b") == "a pqr b"  # too short to tell from ordinary text
    assert (long.reveal(), short.reveal()) == ("wxyz", "pqr")


@pytest.fixture(autouse=True)
def only_this_tests_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redaction sees the secrets this test made, not those of an earlier test still waiting for
    the garbage collector (a stray ``Secret("refresh")`` rewrote ``refreshToken``)."""
    monkeypatch.setattr(_secrets, "_KNOWN", weakref.WeakValueDictionary())


def test_a_live_secret_spelling_part_of_a_header_name_leaves_no_value_shown() -> None:
    held = Secret("refresh")
    shown = redact('{"refreshToken": "r-123"}')
    assert "r-123" not in shown and held.reveal() not in shown


def test_a_secret_inside_or_across_another_is_hidden_whole() -> None:
    """Two live secrets where one contains, overlaps or touches the other, and a secret that
    overlaps itself: redacting one value at a time left pieces of the other around the
    ``***`` (``tb-***-9``), whichever order the live secrets came in."""
    held = [Secret(v) for v in ("tb-secret-value-9", "secret-value", "abcdef-1", "ef-1ghij",
                                "wxyz", "qrst", "abab", "zzzz")]  # fmt: skip
    assert redact("a tb-secret-value-9 b") == "a *** b"
    assert redact("a secret-value b secret-value") == "a *** b ***"
    assert redact("<abcdef-1ghij>") == "<***>"  # overlapping: neither piece is left
    assert redact("<wxyzqrst>") == "<***>"  # touching: one mark, not two
    assert redact("<ababab>") == "<***>"  # a secret overlapping itself
    assert redact("<zzzzz>") == "<***>"  # ... by all but one character
    assert redact("wxyz, wxyz, wxyz") == "***, ***, ***"  # from the first character, each one
    assert len(held) == 8


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("accessToken=eyJ.abc.def rest", "accessToken=*** rest"),
        ('{"refreshToken": "r-123"}', '{"refreshToken": "***"}'),
        ("APPLICATIONSECRET: s3cr3t next", "APPLICATIONSECRET: *** next"),
        ("Authorization: Bearer tok-1 next", "Authorization: *** next"),
        ("b'accesstoken': b'raw'", "b'accesstoken': b'***'"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_secret_header_values_are_redacted_whatever_their_spelling(text: str, kept: str) -> None:
    assert redact(text) == kept


def _record(msg: str, *args: object, exc_text: str | None = None) -> logging.LogRecord:
    record = logging.LogRecord("kaizala_async.test", logging.WARNING, __file__, 1, msg, args, None)
    record.exc_text = exc_text
    return record


def test_the_filter_rewrites_what_needs_it_and_keeps_every_record() -> None:
    secrets_filter = SecretsFilter()
    with_args = _record("token %s", "accessToken: abc")
    assert secrets_filter.filter(with_args) is True
    assert (with_args.msg, with_args.args) == ("token accessToken: ***", None)
    plain = _record("nothing to hide")
    assert secrets_filter.filter(plain) is True and plain.msg == "nothing to hide"
    broken = _record("%d items", "not a number")  # the logging module reports it, not us
    assert secrets_filter.filter(broken) is True and broken.args == ("not a number",)
    formatted = _record("boom", exc_text="Traceback ... refreshToken=r-secret-1")
    secrets_filter.filter(formatted)
    assert formatted.exc_text == "Traceback ... refreshToken=***"


def test_installing_the_filter_twice_adds_it_once_to_every_logger_it_covers() -> None:
    install_log_redaction()
    install_log_redaction()
    for name in ("kaizala_async", "kaizala_async.transport", "httpx", "httpcore"):
        filters = [f for f in logging.getLogger(name).filters if isinstance(f, SecretsFilter)]
        assert len(filters) == 1, name


def test_what_a_secret_refuses_is_said_plainly() -> None:
    with pytest.raises(TypeError, match=r"^a secret must be a string$"):
        Secret(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^secrets are not picklable$"):
        Secret("abcd").__reduce__()


def test_a_logger_of_the_package_made_after_import_gets_the_filter_once() -> None:
    # A name of its own each run: a logger lives as long as the process (mutmut runs the suite
    # twice in one).
    fresh = logging.getLogger(f"kaizala_async.made_after_import_{uuid.uuid4().hex}")
    assert fresh.filters == []  # the package's import saw no such logger
    install_log_redaction()
    install_log_redaction()
    assert fresh.filters == [f for f in logging.getLogger("kaizala_async").filters
                             if isinstance(f, SecretsFilter)]  # fmt: skip
    assert len(fresh.filters) == 1 and isinstance(fresh.filters[0], SecretsFilter)
    assert SecretsFilter not in map(type, logging.getLogger().filters)  # not the root's


def test_a_traceback_is_formatted_once_by_the_filter_and_redacted() -> None:
    secret = Secret("tb-secret-value-9")
    try:
        raise RuntimeError(f"failed with {secret.reveal()}")
    except RuntimeError:
        record = _record("boom")
        record.exc_info = sys.exc_info()
    SecretsFilter().filter(record)
    assert record.exc_text is not None and "RuntimeError: failed with ***" in record.exc_text
    shown = logging.Formatter().format(record)
    assert "Traceback" in shown and secret.reveal() not in shown
