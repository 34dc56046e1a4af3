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
    ``hang`` never answers (the client's timeout fires).
    """

    route: str = "*"
    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    reset_rate: float = 0.0
    reset_phase: Literal["before", "after"] = "before"
    hang_rate: float = 0.0

    def __attrs_post_init__(self) -> None:
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
        self._random = random.Random(seed)
        self.injected: dict[str, int] = {"error": 0, "reset": 0, "hang": 0}

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def reseed(self, seed: int) -> None:
        self._random = random.Random(seed)

    def draw(self, method: str, path: str) -> tuple[float, Outcome, Fault | None]:
        """Latency to add and what happens to a call of ``method`` ``path``."""
        target = f"{method} {path}"
        for fault in self.faults:
            if fnmatch.fnmatchcase(target.lower(), fault.route.lower()) or fault.route == "*":
                roll = self._random.random()
                outcome: Outcome = "ok"
                if roll < fault.error_rate:
                    outcome = "error"
                elif roll < fault.error_rate + fault.reset_rate:
                    outcome = "reset"
                elif roll < fault.error_rate + fault.reset_rate + fault.hang_rate:
                    outcome = "hang"
                if outcome != "ok":
                    self.injected[outcome] += 1
                return fault.latency, outcome, fault
        return 0.0, "ok", None
