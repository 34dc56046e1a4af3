"""Seeded fault injection per route: added latency, 5xx answers, connection resets, no answer."""

from __future__ import annotations

import fnmatch
import random
from typing import Literal

import attrs

__all__ = ["Fault", "FaultPlan"]

Outcome = Literal["ok", "error", "reset", "hang"]


@attrs.frozen(kw_only=True)
class Fault:
    """What may go wrong on the routes matching ``route``.

    ``route`` is a glob over ``"METHOD /v1/path"`` (e.g. ``"POST /v1/groups/*/messages"``, or
    ``"*"``). Rates are probabilities per call. A ``reset`` drops the connection ``reset_phase``
    the call was processed (``"after"``: the service acted but the client never hears so); a
    ``hang`` never answers (the client's timeout fires). ``times``: the fault applies to the
    first ``times`` matching calls only (None: to every one).
    """

    route: str = "*"
    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    reset_rate: float = 0.0
    reset_phase: Literal["before", "after"] = "before"
    hang_rate: float = 0.0
    times: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.times is not None and (isinstance(self.times, bool) or self.times < 1):
            raise ValueError(
                f"times must be a whole number of calls, at least 1, not {self.times!r}"
            )
        for name in ("error_rate", "reset_rate", "hang_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.error_rate + self.reset_rate + self.hang_rate > 1.0:
            raise ValueError("error_rate + reset_rate + hang_rate must not exceed 1")
        if self.latency < 0:
            raise ValueError("latency must not be negative")


class FaultPlan:
    """The faults in force, drawn from one seeded generator (reproducible runs)."""

    def __init__(self, seed: int = 0) -> None:
        self.faults: list[Fault] = []
        self._applied: list[int] = []  # matching calls seen, per fault (for ``times``)
        self._random = random.Random(seed)
        self.injected: dict[str, int] = {"error": 0, "reset": 0, "hang": 0}

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)
        self._applied.append(0)

    def clear(self) -> None:
        self.faults.clear()
        self._applied.clear()

    def reseed(self, seed: int) -> None:
        self._random = random.Random(seed)

    def draw(self, method: str, path: str) -> tuple[float, Outcome, Fault | None]:
        """Latency to add and what happens to a call of ``method`` ``path``.

        Every fault whose route matches applies: their latencies add up, and each draws its
        outcome in the order the faults were added; the first that is not ``ok`` decides (and
        its ``error_status``/``reset_phase`` are used).
        """
        target = f"{method} {path}".lower()
        latency = 0.0
        outcome: Outcome = "ok"
        chosen: Fault | None = None
        for n, fault in enumerate(self.faults):
            if fault.route != "*" and not fnmatch.fnmatchcase(target, fault.route.lower()):
                continue
            if fault.times is not None and self._applied[n] >= fault.times:
                continue
            self._applied[n] += 1
            latency += fault.latency
            roll = self._random.random()
            drawn: Outcome = "ok"
            if roll < fault.error_rate:
                drawn = "error"
            elif roll < fault.error_rate + fault.reset_rate:
                drawn = "reset"
            elif roll < fault.error_rate + fault.reset_rate + fault.hang_rate:
                drawn = "hang"
            if drawn != "ok" and outcome == "ok":
                outcome, chosen = drawn, fault
        if outcome != "ok":
            self.injected[outcome] += 1
        return latency, outcome, chosen
