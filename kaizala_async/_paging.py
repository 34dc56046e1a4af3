"""Lazy listings: an async iterator that fetches a page only when the caller needs one more item."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["Page", "Paginator"]

T = TypeVar("T")

#: A page of items and the state that fetches the next one (None: this was the last page).
Page = tuple[Sequence[T], Any]
#: ``fetch(state, remaining)``: ``state`` is None for the first page; ``remaining`` is how many
#: more items the caller wants (None: all), so a page size can be trimmed to it.
Fetch = Callable[[Any, int | None], Awaitable[tuple[Sequence[T], Any]]]

_START = object()


class Paginator(Generic[T]):
    """``async for item in client.<family>.list(...)``; or ``await ....collect()`` for a list.

    Pages are fetched lazily, one at a time, and never past ``limit`` items. A paginator is
    single-use, like any iterator. ``pages`` counts the requests it made.
    """

    def __init__(self, fetch: Fetch[T], *, limit: int | None = None) -> None:
        self._fetch = fetch
        self._limit = limit
        self._buffer: deque[T] = deque()
        self._state: Any = _START
        self._done = False
        self._yielded = 0
        self.pages = 0

    def __repr__(self) -> str:
        return f"<Paginator pages={self.pages} yielded={self._yielded} limit={self._limit}>"

    def __aiter__(self) -> Paginator[T]:
        return self

    def _full(self) -> bool:
        return self._limit is not None and self._yielded >= self._limit

    async def __anext__(self) -> T:
        while not self._buffer:
            if self._done or self._full():
                raise StopAsyncIteration
            remaining = None if self._limit is None else self._limit - self._yielded
            items, state = await self._fetch(
                None if self._state is _START else self._state, remaining
            )
            self.pages += 1
            self._buffer.extend(items)
            if state is None:
                self._done = True
            else:
                self._state = state
        if self._full():
            raise StopAsyncIteration
        self._yielded += 1
        return self._buffer.popleft()

    async def collect(self) -> list[T]:
        """Every remaining item (up to ``limit``) as a list."""
        return [item async for item in self]


def single_page(
    fetch: Callable[[], Awaitable[Sequence[T]]], limit: int | None = None
) -> Paginator[T]:
    """A listing the service does not page: one request, iterated like the paged ones."""

    async def once(_: Any, __: int | None) -> tuple[Sequence[T], Any]:
        return await fetch(), None

    return Paginator(once, limit=limit)
