"""The emulator's throttle: five counting methods, each pure (times come from the caller).

The real service never documented how it counted, so the emulator lets you pick:

* ``sliding-log`` (default, the strictest): at most N accepted calls in any window (t - T, t].
* ``fixed-window``: at most N per window [kT, (k+1)T) aligned to the emulator's clock origin.
* ``sliding-window-counter``: the previous window's count weighted by how much of it still
  overlaps, plus the current window's count, must stay at most N (unfloored: its ceiling is
  (N - 1) / N of the rate for an evenly paced client).
* ``token-bucket``: capacity N, refilled at N / T per second, starting full.
* ``gcra``: the generic cell rate algorithm (virtual scheduling) with emission interval T / N and
  a burst of N: a call at ``t`` is accepted when its theoretical arrival time, pushed on by
  T / N, stays within T of ``t``. Same admissions as the token bucket, computed the way Redis
  rate limiters and API gateways do.

Every method answers ``(allowed, retry_after)`` where ``retry_after`` is the whole number of
seconds (rounded up, at least 1) after which the same call would be accepted. Rejected calls are
not counted. `WindowStats` measures, independently of the method, the most accepted calls
any window of length T held.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal, Protocol

from kaizala_async._ratelimit import Rate

__all__ = ["THROTTLE_METHODS", "Counter", "ThrottleMethod", "WindowStats", "make_counter"]

ThrottleMethod = Literal[
    "sliding-log", "fixed-window", "sliding-window-counter", "token-bucket", "gcra"
]
THROTTLE_METHODS: tuple[ThrottleMethod, ...] = (
    "sliding-log",
    "fixed-window",
    "sliding-window-counter",
    "token-bucket",
    "gcra",
)


#: Float tolerance: a call exactly T after another is in the next window.
_EPS = 1e-9


def _whole_seconds(wait: float) -> int:
    return max(1, math.ceil(wait - 1e-9))


class Counter(Protocol):
    rate: Rate

    def check(self, now: float) -> tuple[bool, int]:
        """Accept (and count) a call at ``now``, or say how many seconds to wait."""
        ...


class SlidingLog:
    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._log: deque[float] = deque()

    def check(self, now: float) -> tuple[bool, int]:
        log, period = self._log, self.rate.period
        while log and log[0] <= now - period + _EPS:
            log.popleft()
        if len(log) < self.rate.limit:
            log.append(now)
            return True, 0
        return False, _whole_seconds(log[0] + period - now)


class FixedWindow:
    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._window = -1
        self._count = 0

    def check(self, now: float) -> tuple[bool, int]:
        window = math.floor(now / self.rate.period)
        if window != self._window:
            self._window, self._count = window, 0
        if self._count < self.rate.limit:
            self._count += 1
            return True, 0
        return False, _whole_seconds((window + 1) * self.rate.period - now)


class SlidingWindowCounter:
    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._window = -1
        self._current = 0
        self._previous = 0

    def _roll(self, now: float) -> float:
        period = self.rate.period
        window = math.floor(now / period)
        if window != self._window:
            self._previous = self._current if window == self._window + 1 else 0
            self._current = 0
            self._window = window
        return now - window * period  # elapsed in the current window

    def check(self, now: float) -> tuple[bool, int]:
        period, limit = self.rate.period, self.rate.limit
        elapsed = self._roll(now)
        estimate = self._previous * (1 - elapsed / period) + self._current
        if estimate + 1 <= limit + 1e-9:
            self._current += 1
            return True, 0
        # Wait until the previous window's weight has decayed enough, or the next window.
        room = limit - 1 - self._current
        until_next = period - elapsed
        if self._previous > 0 and room >= 0:
            wait = period * (1 - room / self._previous) - elapsed
            return False, _whole_seconds(min(max(wait, 0.0), until_next))
        # The current window alone is full: the next window starts with this one as "previous".
        next_previous = self._current
        room_next = limit - 1
        wait_in_next = (
            period * (1 - room_next / next_previous) if next_previous > room_next else 0.0
        )
        return False, _whole_seconds(until_next + max(wait_in_next, 0.0))


class TokenBucket:
    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._tokens = float(rate.limit)
        self._last: float | None = None

    def check(self, now: float) -> tuple[bool, int]:
        per_second = self.rate.per_second
        if self._last is not None:
            self._tokens = min(self.rate.limit, self._tokens + (now - self._last) * per_second)
        self._last = now
        if self._tokens >= 1 - 1e-9:
            self._tokens -= 1
            return True, 0
        return False, _whole_seconds((1 - self._tokens) / per_second)


class GCRA:
    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._tat = -math.inf  # theoretical arrival time of the next call

    def check(self, now: float) -> tuple[bool, int]:
        interval = self.rate.period / self.rate.limit
        tat = max(self._tat, now) + interval
        if tat - now <= self.rate.period + 1e-9:
            self._tat = tat
            return True, 0
        return False, _whole_seconds(tat - self.rate.period - now)


_COUNTERS: dict[str, type[SlidingLog | FixedWindow | SlidingWindowCounter | TokenBucket | GCRA]] = {
    "sliding-log": SlidingLog,
    "fixed-window": FixedWindow,
    "sliding-window-counter": SlidingWindowCounter,
    "token-bucket": TokenBucket,
    "gcra": GCRA,
}


def make_counter(method: ThrottleMethod, rate: Rate) -> Counter:
    """A fresh counter of ``method`` for ``rate``."""
    counters = _COUNTERS
    try:
        return counters[method](rate)
    except KeyError:
        raise ValueError(f"unknown throttle method {method!r}; one of {THROTTLE_METHODS}") from None


class WindowStats:
    """Accepted and rejected calls of one scope, and the most accepted in any window (t - T, t]."""

    __slots__ = ("_recent", "accepted", "max_in_window", "period", "throttled")

    def __init__(self, period: float) -> None:
        self.period = period
        self._recent: deque[float] = deque()
        self.accepted = 0
        self.throttled = 0
        self.max_in_window = 0

    def accept(self, now: float) -> None:
        recent = self._recent
        recent.append(now)
        while recent and recent[0] <= now - self.period + _EPS:
            recent.popleft()
        self.accepted += 1
        self.max_in_window = max(self.max_in_window, len(recent))

    def reject(self) -> None:
        self.throttled += 1

    def as_dict(self) -> dict[str, float | int]:
        return {
            "calls": self.accepted,
            "throttled": self.throttled,
            "maxInWindow": self.max_in_window,
            "window": self.period,
        }
