"""Which lost sends can be settled by reading the group back (``_settle``), on its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import kaizala_async as k
from kaizala_async._settle import find_sent, settleable


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (k.JobAction(title="Restock", assigned_to=["+919652000001"]), True),
        (k.AnnouncementAction(message="b", title="a title"), False),  # not a listed type
        (k.CustomAction(package_id="pkg", title="a title"), False),  # no action type
        ("plain text", False),
        (None, False),
    ],
)
def test_only_listed_action_types_with_their_key_can_be_settled(
    payload: Any, expected: bool
) -> None:
    assert settleable(payload) is expected


def test_reading_back_an_unsettleable_payload_is_refused_before_any_call() -> None:
    with pytest.raises(ValueError, match="cannot be settled") as caught:
        asyncio.run(find_sent(None, "g", k.AnnouncementAction(message="b"), None))  # type: ignore[arg-type]
    assert str(caught.value) == "this payload cannot be settled"
