"""What a fan-out reports: one outcome per target, the progress so far, and the report."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ._errors import KaizalaError

__all__ = ["Failed", "FanOutProgress", "FanOutReport", "Outcome", "Sent", "Skipped", "Unknown"]


@attrs.frozen(kw_only=True)
class Sent:
    """The service took the send; ``reference_id`` identifies the message or action.
    ``settled``: the send's answer was lost and the action was found by reading the group's
    actions back (see `fan_out`)."""

    group_id: str
    reference_id: str
    settled: bool = False


@attrs.frozen(kw_only=True)
class Failed:
    """The send failed. ``retriable``: the service did not act, a rerun may try again (a rerun
    with the same journal does). ``error`` is the typed error."""

    group_id: str
    error: KaizalaError = attrs.field(eq=False)
    retriable: bool


@attrs.frozen(kw_only=True)
class Skipped:
    """Not sent in this run: the journal says an earlier run sent it (``from_journal``), or
    the target repeats."""

    group_id: str
    reason: str
    reference_id: str | None = None
    from_journal: bool = False


@attrs.frozen(kw_only=True)
class Unknown:
    """A send whose fate cannot be known (a timeout or a lost connection after the request
    left, a process stopped mid-send). ``from_journal``: left so by an earlier run, not this
    one. A rerun resends it only when asked (``resend=[group ids]`` or ``resend_unknown=True``)."""

    group_id: str
    reason: str
    from_journal: bool = False


Outcome = Sent | Failed | Skipped | Unknown


@attrs.frozen(kw_only=True)
class FanOutProgress:
    """Counts so far, passed to ``on_progress`` after each outcome."""

    done: int
    sent: int
    failed: int
    skipped: int
    unknown: int
    in_flight: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Sends per second so far."""
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0


@attrs.define(kw_only=True)
class FanOutReport:
    """The result of a fan-out: counts of each outcome, and every failure and unknown."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    elapsed: float = 0.0
    failures: list[Failed] = attrs.field(factory=list)
    unknowns: list[Unknown] = attrs.field(factory=list)
    #: Every outcome in the order it came, when the fan-out was asked to keep them
    #: (``keep_outcomes=True``; off by default so memory stays flat however many targets).
    outcomes: list[Outcome] | None = None

    def __iter__(self) -> Iterator[Outcome]:
        """Every outcome (needs ``keep_outcomes=True``)."""
        if self.outcomes is None:
            raise ValueError("outcomes were not kept: pass keep_outcomes=True to the fan-out")
        return iter(self.outcomes)

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.skipped + self.unknown

    @property
    def ok(self) -> bool:
        """Every target was sent (now or in an earlier run)."""
        return self.failed == 0 and self.unknown == 0

    def add(self, outcome: Outcome) -> None:
        if self.outcomes is not None:
            self.outcomes.append(outcome)
        if isinstance(outcome, Sent):
            self.sent += 1
        elif isinstance(outcome, Failed):
            self.failed += 1
            self.failures.append(outcome)
        elif isinstance(outcome, Skipped):
            self.skipped += 1
        else:
            self.unknown += 1
            self.unknowns.append(outcome)
