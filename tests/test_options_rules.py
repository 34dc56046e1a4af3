"""The small pieces of per-call control on their own: ``max_wait``'s check (``_max_wait``) and
``client.raw``'s proxies (``_options``): what they accept, and the whole message of what they
refuse."""

from __future__ import annotations

import math

import pytest

from kaizala_async import KaizalaClient, ValidationError
from kaizala_async._max_wait import check_max_wait
from kaizala_async._options import RawClient

from .conftest import make_client
from .fake_service import FakeKaizala


def test_max_wait_takes_zero_and_none_and_says_what_it_refuses() -> None:
    assert check_max_wait("max_wait", 0) == 0.0 and check_max_wait("max_wait", None) is None
    assert check_max_wait("max_wait", 2) == 2.0 and type(check_max_wait("max_wait", 2)) is float
    for bad in (-1, True, "2"):
        with pytest.raises(ValidationError) as caught:
            check_max_wait("max_wait", bad)
        assert str(caught.value) == (
            f"max_wait: must be None or a number of seconds >= 0, not {bad!r}"
        )
    with pytest.raises(ValidationError) as caught:
        check_max_wait("max_wait", math.inf)
    assert str(caught.value) == "max_wait: must be finite (None means no maximum), not inf"


def test_raw_proxies_name_what_they_stand_for_and_refuse_the_rest(fake: FakeKaizala) -> None:
    client: KaizalaClient = make_client(fake)
    raw = client.raw
    assert isinstance(raw, RawClient) and repr(raw) == "<raw client>"
    assert repr(raw.groups) == "<raw groups>"
    for name in ("_transport", "raw", "with_options"):  # the client has them; none a family
        with pytest.raises(AttributeError) as caught:
            getattr(raw, name)
        assert str(caught.value) == f"{name!r} is not a resource family of the client"
    for name in ("_send", "_client"):
        with pytest.raises(AttributeError) as family_caught:
            getattr(raw.groups, name)
        assert str(family_caught.value) == name
    assert raw.groups.get.__name__ == "get"  # the typed method's own name and doc
