"""Lazy listings (``_paging``) on their own: what each page request is told, and the limit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

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
