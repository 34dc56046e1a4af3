"""Fan one message out to many groups (DESIGN §7): `fan_out`, `fan_out_stream`.

Targets stream in lazily; a bounded number are in flight; each client's limiter paces them;
every target ends in exactly one outcome. The journal (sqlite3) is written before and after each
send so a rerun sends only what is left, and a send whose fate cannot be known is never repeated
unless the caller says so. The engine is in ``_fanout_engine``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import anyio
from anyio.abc import ObjectReceiveStream

from ._fanout_engine import Engine, Payload, Target
from ._journal import JournalBackend
from ._models.actions import ActionBody
from ._outcomes import Failed, FanOutProgress, FanOutReport, Outcome, Sent, Skipped, Unknown

if TYPE_CHECKING:
    import os

    from ._client import KaizalaClient

__all__ = [
    "Failed",
    "FanOutProgress",
    "FanOutReport",
    "FanOutStream",
    "Outcome",
    "Payload",
    "Sent",
    "Skipped",
    "Target",
    "Unknown",
    "fan_out",
    "fan_out_stream",
]


@contextlib.asynccontextmanager
async def fan_out_stream(
    clients: Sequence[KaizalaClient],
    targets: Iterable[Target] | AsyncIterable[Target],
    *,
    text: str | None = None,
    action: ActionBody | None = None,
    concurrency: int | None = None,
    journal: str | os.PathLike[str] | JournalBackend | None = None,
    on_progress: Callable[[FanOutProgress], object] | None = None,
    resend_unknown: bool = False,
    resend: Iterable[str] | None = None,
    keep_outcomes: bool = False,
) -> AsyncIterator[FanOutStream]:
    """Like `fan_out`, yielding each target's outcome as it completes:

        async with fan_out_stream([client], group_ids, text="Store closes at 6") as outcomes:
            async for outcome in outcomes:
                ...

    Leaving the block early cancels the sends still under way (each is reported ``Unknown`` in
    ``outcomes.report`` and stays "in flight" in the journal).
    """
    engine = Engine(
        clients,
        targets,
        text=text,
        action=action,
        concurrency=concurrency,
        journal=journal,
        on_progress=on_progress,
        resend_unknown=resend_unknown,
        resend=resend,
        keep_outcomes=keep_outcomes,
    )
    await engine.prepare()
    send, receive = anyio.create_memory_object_stream[Outcome](engine.concurrency)

    async def produce() -> None:
        async with send:
            await engine.run(send.send)

    try:
        async with anyio.create_task_group() as group, receive:
            group.start_soon(produce)
            try:
                yield FanOutStream(receive, engine.report)
            finally:
                group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):  # already closed by the run, unless it never started
            await engine.journal.aclose()


class FanOutStream:
    """The outcomes of a running fan-out, in the order they complete (``async for``), and
    `report`: every outcome so far. Left early, the report also holds each send that was
    cancelled in flight, as `Unknown` (read it after the ``async with`` block)."""

    def __init__(self, receive: ObjectReceiveStream[Outcome], report: FanOutReport) -> None:
        self._receive = receive
        self.report = report

    def __aiter__(self) -> FanOutStream:
        return self

    async def __anext__(self) -> Outcome:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None


async def fan_out(
    clients: Sequence[KaizalaClient],
    targets: Iterable[Target] | AsyncIterable[Target],
    *,
    text: str | None = None,
    action: ActionBody | None = None,
    concurrency: int | None = None,
    journal: str | os.PathLike[str] | JournalBackend | None = None,
    on_progress: Callable[[FanOutProgress], object] | None = None,
    resend_unknown: bool = False,
    resend: Iterable[str] | None = None,
    keep_outcomes: bool = False,
) -> FanOutReport:
    """Send ``text`` (or ``action``) to every target with several clients of one tenant.

    Targets are group ids or ``(group id, text or action)`` pairs, from any iterable or async
    iterable, read lazily. The clients share the work (and, with one ``tenant_key``, the
    tenant's budget). Every target ends in exactly one outcome: `Sent`,
    `Failed`, `Skipped` or `Unknown`. With ``journal`` (a file path) a
    rerun sends only what is left; targets whose fate an earlier run left unknown are resent
    only when listed in ``resend`` (or all of them with ``resend_unknown=True``).

    An action of a listable type (Job, Survey, Poll, Let's Meet) whose send may have reached the
    service is settled by reading the group's actions back: found, it is `Sent`
    (``settled=True``); absent, it is sent once more. ``keep_outcomes=True`` keeps every outcome
    in ``report.outcomes`` (memory grows with the targets). ``KaizalaClient.fan_out`` is the
    one-client form.
    """
    engine = Engine(
        clients,
        targets,
        text=text,
        action=action,
        concurrency=concurrency,
        journal=journal,
        on_progress=on_progress,
        resend_unknown=resend_unknown,
        resend=resend,
        keep_outcomes=keep_outcomes,
    )
    await engine.prepare()

    async def keep_nothing(_: Outcome) -> None:
        return None  # the report already counts it

    await engine.run(keep_nothing)
    return engine.report
