"""The converter's rules (``_converter``) on their own: names, times, booleans, secrets, keys
matched whatever their case, and what is left out on the way out. Each rule is checked on the
package's converter and on a fresh one (``_make_converter``, which the package runs at import)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import cattrs
import pytest

from kaizala_async import Secret
from kaizala_async._converter import (
    _make_converter,
    converter,
    epoch_ms,
    structure,
    to_camel,
    unstructure,
)


@attrs.frozen
class Sample:
    group_id: str
    send_to_all: bool = False
    created_at: datetime | None = None
    token: Secret | None = attrs.field(default=None, repr=False)
    note: str | None = None
    count: int = 0
    kind: str = attrs.field(default="x", alias="type_of")


@pytest.fixture(params=["package", "fresh"])
def conv(request: pytest.FixtureRequest) -> cattrs.Converter:
    return converter if request.param == "package" else _make_converter()


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("access_token_expiry", "accessTokenExpiry"),
        ("group_id", "groupId"),
        ("id", "id"),
        ("send_to_all_subscribers", "sendToAllSubscribers"),
        ("a__b", "aB"),  # an empty part adds nothing
        ("x_y_z", "xYZ"),
        ("url_https", "urlHttps"),
    ],
)
def test_snake_case_names_become_lower_camel_case(name: str, camel: str) -> None:
    assert to_camel(name) == camel


# -- times -------------------------------------------------------------------------------------

T = datetime(2026, 12, 7, 10, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "wire",
    [
        int(T.timestamp() * 1000),  # epoch milliseconds, the service's format
        int(T.timestamp()),  # epoch seconds
        float(T.timestamp()),
        str(int(T.timestamp() * 1000)),  # digits in a string
        f" {int(T.timestamp() * 1000)} ",
        "2026-12-07T10:30:15Z",
        "2026-12-07T10:30:15+00:00",
        "2026-12-07T10:30:15",  # no zone: UTC
        "2026-12-07T11:30:15+01:00",
        T,
        T.replace(tzinfo=None),  # naive: UTC
    ],
)
def test_times_are_read_from_every_format_the_service_uses(
    wire: object, conv: cattrs.Converter
) -> None:
    found = conv.structure(wire, datetime)
    assert found == T
    assert found.tzinfo is not None


def test_the_seconds_cutoff_is_the_year_5138_in_seconds(conv: cattrs.Converter) -> None:
    assert conv.structure(99_999_999_999, datetime).year == 5138  # seconds
    assert conv.structure(100_000_000_000, datetime) == datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC)
    assert conv.structure(-100_000_000_000, datetime).year == 1966  # milliseconds before 1970


def test_an_aware_time_keeps_its_zone(conv: cattrs.Converter) -> None:
    zone = timezone(timedelta(hours=5, minutes=30))
    found = conv.structure(T.astimezone(zone), datetime)
    assert found.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize("wire", [True, False, None, [1], "yesterday", {"t": 1}])
def test_what_is_not_a_time_is_refused(wire: object, conv: cattrs.Converter) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        conv.structure(wire, datetime)
    if isinstance(wire, bool):
        assert str(info.value) == "a boolean is not a time"
    elif wire is None or isinstance(wire, list | dict):
        assert str(info.value) == f"cannot read a time from {wire!r}"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (T, 1796639415000),
        (T + timedelta(microseconds=600), 1796639415001),
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
    ],
)
def test_times_go_out_as_epoch_milliseconds_rounded(
    value: datetime, wire: int, conv: cattrs.Converter
) -> None:
    assert epoch_ms(value) == wire
    assert conv.unstructure(value) == wire


# -- booleans and secrets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        (True, True),
        (False, False),
        ("true", True),
        (" TRUE ", True),
        ("False", False),
        (1, True),
        (0, False),
    ],
)
def test_booleans_read_from_strings_and_zero_or_one(
    wire: object, value: bool, conv: cattrs.Converter
) -> None:
    assert conv.structure(wire, bool) is value


@pytest.mark.parametrize("wire", ["yes", "", 2, -1, None, 1.0, [True]])
def test_anything_else_is_not_a_boolean(wire: object, conv: cattrs.Converter) -> None:
    with pytest.raises(TypeError, match="not a boolean"):
        conv.structure(wire, bool)


def test_secrets_wrap_strings_go_out_revealed_and_refuse_the_rest(conv: cattrs.Converter) -> None:
    found = conv.structure("tok-1", Secret)
    assert isinstance(found, Secret) and found.reveal() == "tok-1"
    same = Secret("tok-2")
    assert conv.structure(same, Secret) is same
    assert conv.unstructure(Secret("tok-3")) == "tok-3"
    with pytest.raises(TypeError) as info:
        conv.structure(123, Secret)
    assert str(info.value) == "a secret must be a string"


# -- objects -----------------------------------------------------------------------------------


def test_keys_are_matched_whatever_their_case_and_unknown_ones_ignored(
    conv: cattrs.Converter,
) -> None:
    found = conv.structure(
        {"GroupId": "g1", "SENDTOALL": "true", "createdAt": 0, "Token": "t", "extra": 1,
         "typeOf": "poll", "COUNT": 3},
        Sample,
    )  # fmt: skip
    assert (found.group_id, found.send_to_all, found.count, found.kind) == ("g1", True, 3, "poll")
    assert found.created_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert found.token is not None and found.token.reveal() == "t"


@pytest.mark.parametrize(
    "wire",
    [
        {"groupid": "other", "groupId": "exact"},
        {"groupId": "exact", "groupid": "other"},
        {"GROUPID": "other", "groupId": "exact", "GroupId": "third"},
    ],
)
def test_the_exact_spelling_wins_over_other_casings(
    wire: dict[str, Any], conv: cattrs.Converter
) -> None:
    assert conv.structure(wire, Sample).group_id == "exact"


def test_among_other_casings_the_first_wins(conv: cattrs.Converter) -> None:
    assert conv.structure({"GROUPID": "first", "groupID": "second"}, Sample).group_id == "first"


@pytest.mark.parametrize("wire", [["groupId"], "g1", None, 3])
def test_an_object_is_needed(wire: object, conv: cattrs.Converter) -> None:
    with pytest.raises(TypeError) as info:
        conv.structure(wire, Sample)
    assert str(info.value) == f"expected a JSON object for Sample, got {type(wire).__name__}"


def test_a_missing_required_key_is_refused(conv: cattrs.Converter) -> None:
    with pytest.raises(cattrs.BaseValidationError):
        conv.structure({"sendToAll": True}, Sample)


@pytest.mark.parametrize("wire", [None, {"a": 1}, ["g"], True, 1.5])
def test_text_is_text_or_a_whole_number_nothing_else(wire: object, conv: cattrs.Converter) -> None:
    # cattrs' own hook called str() on anything: a null id became "None", an object its repr.
    with pytest.raises(cattrs.BaseValidationError):
        conv.structure({"groupId": wire}, Sample)
    assert conv.structure({"groupId": 42}, Sample).group_id == "42"
    assert conv.structure({"groupId": "g"}, Sample).group_id == "g"


def test_a_null_for_a_field_with_a_default_is_the_default(conv: cattrs.Converter) -> None:
    found = conv.structure(
        {"groupId": "g", "sendToAll": None, "count": None, "typeOf": None}, Sample
    )
    assert (found.send_to_all, found.count, found.kind, found.note) == (False, 0, "x", None)
    assert conv.structure({"groupId": "g", "note": None, "NOTE": "n"}, Sample).note == "n"


def test_going_out_keys_are_camel_case_and_unset_optionals_dropped(conv: cattrs.Converter) -> None:
    out = conv.unstructure(Sample("g1", token=Secret("s"), created_at=T, type_of="poll"))
    assert out == {
        "groupId": "g1",
        "sendToAll": False,  # a default that is not None is sent
        "createdAt": 1796639415000,
        "token": "s",
        "count": 0,
        "typeOf": "poll",  # the alias names the key
    }
    assert conv.unstructure(Sample("g2")) == {
        "groupId": "g2", "sendToAll": False, "count": 0, "typeOf": "x",
    }  # fmt: skip


def test_the_module_functions_use_the_package_converter() -> None:
    assert structure({"groupId": "g"}, Sample) == Sample("g")
    assert unstructure(Sample("g")) == {
        "groupId": "g",
        "sendToAll": False,
        "count": 0,
        "typeOf": "x",
    }
