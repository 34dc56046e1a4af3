"""Fault injection (``emulator._faults``) on its own: what a fault refuses, how a plan draws
(which faults apply, in which order, how many times) and what it counts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kaizala_async.emulator._faults import Fault, FaultPlan


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"times": 0}, "times must be a whole number of calls, at least 1, not 0"),
     ({"times": True}, "times must be a whole number of calls, at least 1, not True"),
     ({"times": -2}, "at least 1, not -2"),
     ({"error_rate": 1.5}, "error_rate must be between 0 and 1, not 1.5"),
     ({"reset_rate": -0.1}, "reset_rate must be between 0 and 1, not -0.1"),
     ({"hang_rate": 2.0}, "hang_rate must be between 0 and 1, not 2.0"),
     ({"error_rate": 0.5, "reset_rate": 0.3, "hang_rate": 0.3},
      "^error_rate + reset_rate + hang_rate must not exceed 1$"),
     ({"error_rate": 0.6, "reset_rate": 0.6}, "must not exceed 1"),
     ({"reset_rate": 0.6, "hang_rate": 0.6}, "must not exceed 1"),
     ({"latency": -0.5}, "^latency must not be negative$")],
)  # fmt: skip
def test_a_fault_refuses_settings_that_mean_nothing(settings: dict[str, Any], message: str) -> None:
    pattern = re.escape(message.strip("^$"))
    with pytest.raises(ValueError, match=f"^{pattern}$" if message.startswith("^") else pattern):
        Fault(**settings)


def test_the_edges_of_each_setting_are_accepted() -> None:
    Fault(times=1)
    Fault(error_rate=1.0)
    Fault(reset_rate=0.0, hang_rate=1.0)
    Fault(error_rate=0.5, reset_rate=0.25, hang_rate=0.25)
    Fault(latency=0.0)


def test_a_certain_fault_decides_every_matching_call_and_is_counted() -> None:
    for kind, fault in (("error", Fault(error_rate=1.0)), ("reset", Fault(reset_rate=1.0)),
                        ("hang", Fault(hang_rate=1.0))):  # fmt: skip
        plan = FaultPlan()
        plan.add(fault)
        assert [plan.draw("GET", "/v1/groups")[1] for _ in range(3)] == [kind] * 3
        assert plan.injected == {"error": 0, "reset": 0, "hang": 0, kind: 3}


def test_the_rates_split_one_roll_into_error_then_reset_then_hang() -> None:
    plan = FaultPlan(seed=7)
    plan.add(Fault(error_rate=0.2, reset_rate=0.3, hang_rate=0.4))
    drawn = [plan.draw("GET", "/x")[1] for _ in range(4000)]
    shares = {kind: drawn.count(kind) / 4000 for kind in ("error", "reset", "hang", "ok")}
    for kind, share in (("error", 0.2), ("reset", 0.3), ("hang", 0.4), ("ok", 0.1)):
        assert abs(shares[kind] - share) < 0.03, shares
    assert plan.injected == {kind: drawn.count(kind) for kind in ("error", "reset", "hang")}


def test_a_roll_on_a_boundary_goes_to_the_next_outcome() -> None:
    class Roll:
        def __init__(self, value: float) -> None:
            self.value = value

        def random(self) -> float:
            return self.value

    fault = Fault(error_rate=0.25, reset_rate=0.25, hang_rate=0.25)
    for roll, kind in ((0.0, "error"), (0.25, "reset"), (0.5, "hang"), (0.75, "ok")):
        plan = FaultPlan()
        plan.add(fault)
        plan._random = Roll(roll)  # type: ignore[assignment]
        assert plan.draw("GET", "/x")[1] == kind


def test_the_same_seed_draws_the_same_faults_and_a_reseed_starts_again() -> None:
    def draws(plan: FaultPlan) -> list[str]:
        return [plan.draw("GET", "/x")[1] for _ in range(50)]

    plans = [FaultPlan(seed=3), FaultPlan(seed=3), FaultPlan(seed=4), FaultPlan()]
    for plan in plans:
        plan.add(Fault(error_rate=0.5))
    first, second, other, default = (draws(plan) for plan in plans)
    assert first == second
    assert first != other
    assert default == draws(_seeded(0))
    plans[0].reseed(4)
    assert draws(plans[0]) == other


def _seeded(seed: int) -> FaultPlan:
    plan = FaultPlan(seed)
    plan.add(Fault(error_rate=0.5))
    return plan


def test_only_matching_routes_are_touched_and_their_latencies_add_up() -> None:
    plan = FaultPlan()
    plan.add(Fault(route="POST /v1/groups/*/messages", latency=0.5))
    plan.add(Fault(route="*", latency=0.25))
    plan.add(Fault(route="GET /v1/groups", latency=2.0, error_rate=1.0))
    assert plan.draw("post", "/v1/Groups/g1/MESSAGES") == (0.75, "ok", None)  # case-insensitive
    assert plan.draw("GET", "/v1/groups/g1") == (0.25, "ok", None)
    latency, outcome, chosen = plan.draw("GET", "/v1/groups")
    assert (latency, outcome, chosen) == (2.25, "error", plan.faults[2])


def test_the_first_fault_that_draws_something_decides_but_every_one_is_drawn() -> None:
    plan = FaultPlan()
    plan.add(Fault(latency=0.1))
    plan.add(Fault(reset_rate=1.0, reset_phase="after"))
    plan.add(Fault(error_rate=1.0, error_status=500, latency=0.2))
    latency, outcome, chosen = plan.draw("GET", "/x")
    assert (outcome, chosen) == ("reset", plan.faults[1])
    assert latency == pytest.approx(0.3)
    assert plan.injected == {"error": 0, "reset": 1, "hang": 0}


def test_a_fault_with_times_applies_to_that_many_matching_calls_only() -> None:
    plan = FaultPlan()
    plan.add(Fault(route="GET /a", error_rate=1.0, times=2))
    plan.add(Fault(route="*", latency=1.0, times=3))
    seen = [plan.draw("GET", "/a") for _ in range(4)]
    assert [s[1] for s in seen] == ["error", "error", "ok", "ok"]
    assert [s[0] for s in seen] == [1.0, 1.0, 1.0, 0.0]
    assert plan.injected["error"] == 2
    plan.clear()
    assert plan.faults == []
    plan.add(Fault(route="GET /b", hang_rate=1.0, times=1))  # a new fault counts from zero
    assert plan.draw("GET", "/a")[1] == "ok"  # not its route: not one of its times
    assert plan.draw("GET", "/b")[1] == "hang"
    assert plan.draw("GET", "/b")[1] == "ok"
