"""The fan-out engine: targets read lazily into a bounded queue, workers sending through their
client (paced by its limiter), each outcome journaled and reported; a lost action send settled
by reading the group back (``_settle``). The public functions are in ``_fanout``."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from ._constants import MAX_MESSAGE_LENGTH
from ._errors import (
    KaizalaError,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
    TransportError,
    ValidationError,
)
from ._journal import Journal, JournalBackend, LostClaim
from ._max_wait import MAX_WAIT
from ._models.actions import ActionBody
from ._outcomes import Failed, FanOutProgress, FanOutReport, Outcome, Sent, Skipped, Unknown
from ._settle import SETTLE_DELAY, find_sent, settleable
from ._settle import now as settle_clock
from ._transport import BEFORE_SEND
from ._validate import check_count, check_id, check_text

if TYPE_CHECKING:
    from ._client import KaizalaClient

__all__ = ["DEFAULT_CONCURRENCY_PER_CLIENT", "SERVER_BUSY_ATTEMPTS", "Emit", "Engine", "Payload",
           "Target"]  # fmt: skip

#: What a target sends: a text message or an action body.
Payload = str | ActionBody
#: A group id, or a (group id, payload) pair overriding the default payload for that group.
Target = str | tuple[str, Payload]

#: Attempts of a send answered 502/503/504 (the service says it did not act) within one run.
SERVER_BUSY_ATTEMPTS = 3
_BUSY = frozenset({502, 503, 504})
#: In-flight sends per client when ``concurrency`` is not given.
DEFAULT_CONCURRENCY_PER_CLIENT = 8


Emit = Callable[[Outcome], Awaitable[None]]


def _fingerprint(text: str | None, action: ActionBody | None) -> str:
    if action is not None:
        described = {"actionType": action.action_type, "body": action.to_json()}
        if hasattr(action, "package_id"):
            described["id"] = action.package_id
    else:
        described = {"text": text}
    raw = json.dumps(described, sort_keys=True).encode()  # bodies are JSON: they are sent so
    return hashlib.sha256(raw).hexdigest()


def _check_payload(payload: object, argument: str) -> Payload:
    if isinstance(payload, ActionBody):
        return payload
    return check_text(payload, argument, most=MAX_MESSAGE_LENGTH)


def _classify(group_id: str, error: KaizalaError) -> Failed | Unknown:
    if isinstance(error, RequestTimeoutError) or (
        isinstance(error, TransportError) and error.request_sent
    ):
        return Unknown(group_id=group_id, reason=str(error))
    if isinstance(error, TransportError | ThrottledError):
        return Failed(group_id=group_id, error=error, retriable=True)
    if isinstance(error, ServerError):
        if error.status in _BUSY:
            return Failed(group_id=group_id, error=error, retriable=True)
        # A 500 may come after the service acted: its fate is unknown.
        return Unknown(group_id=group_id, reason=str(error))
    return Failed(group_id=group_id, error=error, retriable=False)


class Engine:
    def __init__(
        self,
        clients: Sequence[KaizalaClient],
        targets: Iterable[Target] | AsyncIterable[Target],
        *,
        text: str | None,
        action: ActionBody | None,
        concurrency: int | None,
        journal: str | os.PathLike[str] | JournalBackend | None,
        on_progress: Callable[[FanOutProgress], object] | None,
        resend_unknown: bool,
        resend: Iterable[str] | None,
        keep_outcomes: bool,
    ) -> None:
        if not clients:
            raise ValidationError("clients", "give at least one client")
        if (text is None) == (action is None):
            raise ValidationError("text", "give exactly one of text and action")
        self.default: Payload = action if action is not None else _check_payload(text, "text")
        if concurrency is None:
            concurrency = DEFAULT_CONCURRENCY_PER_CLIENT * len(clients)
        self.concurrency = check_count(concurrency, "concurrency")
        if isinstance(targets, str | bytes):
            raise ValidationError("targets", "must be an iterable of group ids, not one string")
        if not isinstance(targets, Iterable | AsyncIterable):
            raise ValidationError("targets", "must be an iterable or async iterable of group ids")
        if isinstance(resend, str):
            raise ValidationError("resend", "must be a collection of group ids, not one string")
        self.resend = frozenset(check_id(g, "resend") for g in resend or ())
        self.clients = list(clients)
        self.targets = targets
        # last: a journal of its own is a temporary directory
        self.journal: JournalBackend = (
            Journal(journal) if journal is None or isinstance(journal, str | os.PathLike)
            else journal
        )  # fmt: skip
        self.fingerprint = _fingerprint(text, action)
        self.on_progress = on_progress
        self.resend_unknown = resend_unknown
        self.report = FanOutReport(outcomes=[] if keep_outcomes else None)
        self.active: set[str] = set()
        self.in_flight = 0
        self.started: float  # set when the run starts

    # -- the run -----------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Open the journal (before any task starts, so its errors arrive unwrapped)."""
        if self.journal.shared:
            # Claim what this worker's senders can start soon, no more: a worker holding a long
            # batch would leave the others idle (and hand more over when it dies).
            self.journal.claim_batch = min(self.journal.claim_batch, self.concurrency)
        try:
            await self.journal.start(self.fingerprint)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.journal.aclose()
            raise

    async def run(self, emit: Emit) -> None:
        self.started = time.monotonic()
        try:
            async with anyio.create_task_group() as outer:
                outer.start_soon(self.journal.run_writer)
                outer.start_soon(self.journal.run_heartbeat)
                try:
                    async with anyio.create_task_group() as group:
                        send, receive = anyio.create_memory_object_stream[
                            tuple[str, Payload, bool]
                        ](self.concurrency)
                        for n in range(self.concurrency):
                            client = self.clients[n % len(self.clients)]
                            group.start_soon(self._worker, client, receive.clone(), emit)
                        receive.close()
                        async with send:
                            await self._produce(send, emit)
                            await self._sweep(send, emit)
                finally:
                    self.journal.stop()
        finally:
            with anyio.CancelScope(shield=True):
                await self.journal.flush()  # completes even when cancelled
                await self.journal.aclose()
            self.report.elapsed = time.monotonic() - self.started

    async def _produce(
        self, queue: ObjectSendStream[tuple[str, Payload, bool]], emit: Emit
    ) -> None:
        batch: list[tuple[str, Payload]] = []
        async for target in iterate(self.targets):
            group_id, payload, problem = self._normalise(target)
            if problem is None and self.journal.shared and payload != self.default:
                problem = ValidationError(
                    "targets", "a shared campaign sends one text or action to every target"
                )
            if problem is not None:
                await self._done(emit, Failed(group_id=group_id, error=problem, retriable=False))
                continue
            if group_id in self.active or any(group_id == g for g, _ in batch):
                await self._done(emit, Skipped(group_id=group_id, reason="repeated target"))
                continue
            batch.append((group_id, payload))
            if len(batch) >= self.journal.claim_batch:
                await self._claim(batch, queue, emit)
                batch = []
        if batch:
            await self._claim(batch, queue, emit)

    async def _claim(
        self,
        batch: list[tuple[str, Payload]],
        queue: ObjectSendStream[tuple[str, Payload, bool]],
        emit: Emit,
    ) -> None:
        """Ask the journal for ``batch`` (claiming what this worker may send), then queue what
        it may send and report the rest."""
        retake = {g for g, p in batch if self.resend_unknown or g in self.resend or settleable(p)}
        claims = await self.journal.claim([g for g, _ in batch], retake)
        for (group_id, payload), claim in zip(batch, claims, strict=True):
            state = claim.state
            if claim.claimed:
                resend = self.resend_unknown or group_id in self.resend
                # unknown since an earlier run, not to be resent: read the group back first
                settle_first = state == "unknown" and not resend
                self.active.add(group_id)
                await queue.send((group_id, payload, settle_first))
                continue
            outcome: Outcome
            if state == "sent":
                outcome = Skipped(group_id=group_id, reason="already sent",
                                  reference_id=claim.reference, from_journal=True)  # fmt: skip
            elif state == "unknown":
                reason = f"its fate is unknown since an earlier run; {RESEND_HINT}"
                outcome = Unknown(group_id=group_id, reason=reason, from_journal=True)
            elif state == "held":
                outcome = Skipped(group_id=group_id,
                                  reason=f"another worker has it ({claim.holder})")  # fmt: skip
            elif state == "failed-now":
                outcome = Skipped(group_id=group_id, reason="another worker of this run failed "
                                  "it (the next run tries it again)")  # fmt: skip
            else:
                outcome = Skipped(group_id=group_id, reason="repeated target")
            await self._done(emit, outcome)

    async def _sweep(self, queue: ObjectSendStream[tuple[str, Payload, bool]], emit: Emit) -> None:
        """A shared journal: take over what workers that died had claimed and never sent, until
        no live worker holds any target (they each sweep as well)."""
        if not self.journal.shared:
            return
        while True:
            taken, lost, others_busy = await self.journal.sweep()
            for group_id in lost:
                reason = f"in flight when its worker stopped; {RESEND_HINT}"
                await self._done(emit, Unknown(group_id=group_id, reason=reason, from_journal=True))
            for group_id in taken:
                self.active.add(group_id)
                await queue.send((group_id, self.default, False))
            if not taken and not others_busy:
                return
            if not taken:
                await anyio.sleep(self.journal.sweep_interval)

    def _normalise(self, target: object) -> tuple[str, Payload, ValidationError | None]:
        payload: object = self.default
        group_id: object = target
        if isinstance(target, tuple):
            if len(target) != 2:
                return (
                    repr(target)[:80],
                    self.default,
                    ValidationError("targets", "a pair must be (group id, text or action)"),
                )
            group_id, payload = target
        try:
            checked_id = check_id(group_id, "targets")
            checked_payload = _check_payload(payload, "targets")
        except ValidationError as problem:
            shown = group_id if isinstance(group_id, str) else repr(group_id)[:80]
            return shown, self.default, problem
        return checked_id, checked_payload, None

    async def _worker(
        self,
        client: KaizalaClient,
        queue: ObjectReceiveStream[tuple[str, Payload, bool]],
        emit: Emit,
    ) -> None:
        async with queue:
            async for group_id, payload, settle_first in queue:
                outcome = await self._send(client, group_id, payload, settle_first)
                self.active.discard(group_id)
                await self._done(emit, outcome)

    async def _send(
        self, client: KaizalaClient, group_id: str, payload: Payload, settle_first: bool
    ) -> Outcome:
        marked = False
        began = settle_clock()

        async def mark_in_flight() -> None:
            # Called by the transport once the slot is granted, right before the request
            # leaves: a target still waiting for its slot is never recorded as in flight.
            nonlocal marked
            if not marked:
                marked = True
                self.in_flight += 1
                await self.journal.write(("inflight", group_id, None, None))

        token = BEFORE_SEND.set(mark_in_flight)
        unbounded = MAX_WAIT.set(math.inf)  # a fan-out waits for its slots, whatever max_wait says
        outcome: Sent | Failed | Unknown
        try:
            if settle_first:  # unknown since an earlier run: look before sending again
                left = Unknown(group_id=group_id, reason="unknown since an earlier run",
                               from_journal=True)  # fmt: skip
                outcome = await self._settle(client, group_id, payload, None, left)
            else:
                outcome = await self._attempts(client, group_id, payload, began)
        except LostClaim:
            # This worker's lease lapsed (a long stall) and another took the target over: it
            # was not sent from here.
            return Skipped(group_id=group_id, reason="taken over by another worker")
        except anyio.get_cancelled_exc_class():
            if marked:
                # The request may have left: the journal keeps "inflight" (read back as
                # unknown); the report hears of it before the cancellation goes on, and so
                # does the progress callback (a summary drawn from it counts it unknown).
                self.in_flight -= 1
                marked = False
                self.report.add(Unknown(group_id=group_id, reason="cancelled while in flight"))
                self._notify()
            raise
        finally:
            MAX_WAIT.reset(unbounded)
            BEFORE_SEND.reset(token)
            if marked:
                self.in_flight -= 1
        try:  # a failure is journaled too: the rerun sends it again, in its turn
            await self.journal.write(_row(outcome))
        except anyio.get_cancelled_exc_class():
            # Cancelled while the row commits (the final flush still commits it): the
            # report hears of the outcome too, or a stream left early would undercount.
            self.report.add(outcome)
            raise
        return outcome

    async def _attempts(
        self, client: KaizalaClient, group_id: str, payload: Payload, began: datetime
    ) -> Sent | Failed | Unknown:
        """Send, again after a 502/503/504 (the service did not act), up to three attempts; a
        lost answer to a listable action is settled by reading the group back."""
        attempt = 1
        while True:
            try:
                if isinstance(payload, ActionBody):
                    reference = (await client.actions.send(group_id, payload)).reference_id
                else:
                    reference = (await client.messages.send(group_id, payload)).reference_id
            except KaizalaError as error:
                outcome = _classify(group_id, error)
                busy = isinstance(error, ServerError) and error.status in _BUSY
                if busy and attempt < SERVER_BUSY_ATTEMPTS:
                    await anyio.sleep(0.5 * 2 ** (attempt - 1))
                    attempt += 1
                    continue
                if isinstance(outcome, Unknown) and settleable(payload):
                    return await self._settle(client, group_id, payload, began, outcome)
                return outcome
            return Sent(group_id=group_id, reference_id=reference)

    async def _settle(
        self,
        client: KaizalaClient,
        group_id: str,
        payload: Payload,
        began: datetime | None,
        unknown: Unknown,
    ) -> Sent | Failed | Unknown:
        """Read the group's actions back (``_settle``): found, the target is sent; absent, the
        request never took effect and is sent once more; unreadable, it stays unknown."""
        assert isinstance(payload, ActionBody)
        await anyio.sleep(SETTLE_DELAY)  # a request that did arrive finishes meanwhile
        try:
            reference = await find_sent(client, group_id, payload, began)
        except KaizalaError:
            return unknown
        if reference is not None:
            return Sent(group_id=group_id, reference_id=reference, settled=True)
        try:
            reference = (await client.actions.send(group_id, payload)).reference_id
        except KaizalaError as error:
            return _classify(group_id, error)
        return Sent(group_id=group_id, reference_id=reference)

    async def _done(self, emit: Emit, outcome: Outcome) -> None:
        self.report.add(outcome)
        self._notify()
        await emit(outcome)

    def _notify(self) -> None:
        if self.on_progress is not None:
            r = self.report
            self.on_progress(
                FanOutProgress(
                    done=r.total,
                    sent=r.sent,
                    failed=r.failed,
                    skipped=r.skipped,
                    unknown=r.unknown,
                    in_flight=self.in_flight,
                    elapsed=time.monotonic() - self.started,
                )
            )


#: How an Unknown's reason says to send it again (the command line words it its own way).
RESEND_HINT = "resend=[...] resends it"


def _row(outcome: Sent | Failed | Unknown) -> tuple[str, str, str | None, str | None]:
    if isinstance(outcome, Sent):
        return ("sent", outcome.group_id, outcome.reference_id, None)
    if isinstance(outcome, Failed):
        return ("failed", outcome.group_id, None, type(outcome.error).__name__)
    return ("unknown", outcome.group_id, None, outcome.reason[:200])


async def iterate(targets: Iterable[Target] | AsyncIterable[Target]) -> AsyncIterator[Any]:
    if isinstance(targets, AsyncIterable):
        async for target in targets:
            yield target
    else:
        for n, target in enumerate(targets):
            yield target
            if n % 256 == 255:
                await anyio.lowlevel.checkpoint()
