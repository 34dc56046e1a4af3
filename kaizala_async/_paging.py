"""Lazy listings: an async iterator that fetches a page only when the caller needs one more item."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from kaizala_async._errors import UnexpectedResponseError

__all__ = ["Page", "Paginator"]

T = TypeVar("T")

#: A page of items and the state that fetches the next one (None: this was the last page).
Page = tuple[Sequence[T], Any]
#: ``fetch(state, remaining)``: ``state`` is None for the first page; ``remaining`` is how many
#: more items the caller wants (None: all), so a page size can be trimmed to it.
Fetch = Callable[[Any, int | None], Awaitable[tuple[Sequence[T], Any]]]


class Paginator(Generic[T]):
    """``async for item in client.<family>.list(...)``; or ``await ....collect()`` for a list.

    Pages are fetched lazily, one at a time, and never past ``limit`` items. A paginator is
    single-use, like any iterator. ``pages`` counts the requests it made.

    A listing whose next state is the service's own cursor names its request in ``call``: the
    paginator then refuses, with `UnexpectedResponseError`, a cursor it has already
    asked for (a server sending it round the same pages would otherwise be asked for ever).
    ``first`` is the state of the first request.
    """

    def __init__(
        self, fetch: Fetch[T], *, limit: int | None = None, first: Any = None, call: str = ""
    ) -> None:
        self._fetch = fetch
        self._limit = limit
        self._buffer: deque[T] = deque()
        self._state: Any = first
        self._call = call
        self._asked: set[Any] = set()  # the states asked for, when ``call`` names a cursor
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
            if self._call:
                self._asked.add(self._state)
            items, state = await self._fetch(self._state, remaining)
            self.pages += 1
            self._buffer.extend(items)
            if state is None:
                self._done = True
            elif state in self._asked:  # a cycle: the same pages again and again, for ever
                raise UnexpectedResponseError(
                    self._call, ["the cursor went back to a page already read"]
                )
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
