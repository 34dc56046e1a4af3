"""Lazy listings (``_paging``) on their own: what each page request is told, and the limit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from kaizala_async._errors import UnexpectedResponseError
from kaizala_async._paging import Paginator, single_page


def test_each_page_is_asked_for_with_the_last_state_and_how_many_are_still_wanted() -> None:
    asked: list[tuple[Any, int | None]] = []

    async def fetch(state: Any, remaining: int | None) -> tuple[Sequence[int], Any]:
        asked.append((state, remaining))
        start = 0 if state is None else state
        return [start, start + 1], start + 2

    items = asyncio.run(Paginator(fetch, limit=5).collect())
    assert items == [0, 1, 2, 3, 4]
    assert asked == [(None, 5), (2, 3), (4, 1)]  # never a page past the limit

    asked.clear()

    async def two_pages(state: Any, remaining: int | None) -> tuple[Sequence[int], Any]:
        asked.append((state, remaining))
        return ([1, 2], "next") if state is None else ([3], None)

    assert asyncio.run(Paginator(two_pages).collect()) == [1, 2, 3]
    assert asked == [(None, None), ("next", None)]


def test_a_single_page_listing_keeps_its_limit() -> None:
    async def everything() -> Sequence[str]:
        return ["a", "b", "c", "d"]

    paginator = single_page(everything, limit=2)
    assert asyncio.run(paginator.collect()) == ["a", "b"]
    assert paginator.pages == 1
    assert asyncio.run(single_page(everything).collect()) == ["a", "b", "c", "d"]


def _cycle(states: list[Any], asked: list[Any]) -> Any:
    """A fetch whose next states come from ``states``, one per page, recording what it is asked."""

    async def fetch(state: Any, _: int | None) -> tuple[Sequence[int], Any]:
        asked.append(state)
        return [len(asked)], states[len(asked) - 1]

    return fetch


def test_a_named_cursor_listing_refuses_a_cursor_it_has_already_asked_for() -> None:
    asked: list[Any] = []
    paginator = Paginator(_cycle(["b", "c", "b", None], asked), call="POST /x")
    with pytest.raises(UnexpectedResponseError) as caught:
        asyncio.run(paginator.collect())
    assert caught.value.what == "POST /x"
    assert caught.value.problems == ["the cursor went back to a page already read"]
    assert asked == [None, "b", "c"]  # the cycle is found before a fourth request

    asked.clear()  # the first state counts as asked: a cursor back to the start is a cycle too
    with pytest.raises(UnexpectedResponseError):
        asyncio.run(Paginator(_cycle([5, 0, 9], asked), first=0, call="GET /y").collect())
    assert asked == [0, 5]


def test_a_listing_that_names_no_call_may_come_back_to_a_state() -> None:
    # Offsets or time-based states are the listing's own; only named cursors are checked.
    asked: list[Any] = []
    items = asyncio.run(Paginator(_cycle(["b", "b", None], asked), first="a").collect())
    assert items == [1, 2, 3]
    assert asked == ["a", "b", "b"]
