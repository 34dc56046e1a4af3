"""One scope's `Budget` on its own (``_budget``): the rate's checks, the burst and window
rules of its schedule, the tolerance that keeps a late grant's place, the pre-charge a seed
drops. Pure bookkeeping: every time is given by the test."""

from __future__ import annotations

import math

import pytest

from kaizala_async import Rate, ValidationError
from kaizala_async._budget import Budget


@pytest.mark.parametrize(
    ("limit", "period", "argument", "says"),
    [
        (0, 1.0, "limit", "positive whole number of calls, not 0"),
        (True, 1.0, "limit", "positive whole number of calls, not True"),
        (2.5, 1.0, "limit", "positive whole number of calls, not 2.5"),
        (5, 0, "period", "positive number of seconds, not 0.0"),
        (5, True, "period", "positive number of seconds, not True"),
        (5, "60", "period", "positive number of seconds, not '60'"),
        (5, math.inf, "period", "positive number of seconds, not inf"),
    ],
)
def test_a_rate_refuses_what_is_not_a_rate_by_name(
    limit: object, period: object, argument: str, says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Rate(limit, period)  # type: ignore[arg-type]
    assert caught.value.argument == argument
    assert says in str(caught.value)


def test_a_rate_takes_whole_seconds_as_floats() -> None:
    rate = Rate(5, 2)  # type: ignore[arg-type]
    assert rate.period == 2.0 and type(rate.period) is float and rate.per_second == 2.5


def test_a_budget_without_a_rate_never_holds_a_call_back() -> None:
    budget = Budget(None, jitter=0.0, burst=4, precharge=True, now=0.0)
    for at in (0.0, 0.0, 1.0):
        budget.charge(at)
        budget.finish(at)
    assert budget.ready_at(0.0) == -math.inf and budget.recent_ends() == []


def _greedy(budget: Budget, grants: int) -> list[float]:
    """Grant each call as soon as the budget allows (calls end at once)."""
    times: list[float] = []
    now = 0.0
    for _ in range(grants):
        now = max(now, budget.ready_at(now))
        budget.charge(now)
        times.append(now)
    return times


def test_a_burst_goes_at_once_then_the_window_holds_the_rest() -> None:
    """Rate(3, 1 s), burst 2, no jitter: two at once, then pairs spaced 2T/N, and never more
    than 3 in a window: the fourth waits for the first to leave the window (log[0] + T), later
    ones for the pair before them (log[-2] + 2T/N) or the window, whichever is later."""
    budget = Budget(Rate(3, 1.0), jitter=0.0, burst=2, precharge=False, now=0.0, exact=False)
    times = _greedy(budget, 7)
    third = 2 / 3
    assert times == pytest.approx([0.0, 0.0, third, 1.0, 4 / 3, 5 / 3, 2.0])
    assert all(sum(t <= x < t + 1.0 for x in times) <= 3 for t in times)


@pytest.mark.parametrize("burst", [2, 3])
def test_no_burst_ever_puts_more_than_the_limit_in_a_window(burst: int) -> None:
    budget = Budget(Rate(4, 1.0), jitter=0.0, burst=burst, precharge=False, now=0.0, exact=False)
    times = _greedy(budget, 40)
    assert max(sum(t <= x < t + 1.0 for x in times) for t in times) == 4
    assert times[-1] == pytest.approx(9.0 + (times[3] - 1.0), abs=1.0)  # at the limit's pace


def test_without_a_burst_calls_are_spaced_evenly() -> None:
    budget = Budget(Rate(4, 1.0), jitter=0.0, burst=1, precharge=False, now=0.0, exact=False)
    assert _greedy(budget, 6) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.25])


def test_a_precharged_burst_waits_as_if_it_had_just_been_used() -> None:
    budget = Budget(Rate(4, 1.0), jitter=0.0, burst=2, precharge=True, now=10.0, exact=False)
    assert budget.ready_at(10.0) == pytest.approx(10.5)


def test_a_grant_late_within_half_a_spacing_keeps_its_place() -> None:
    """Exact budgets (the ledger carries the guarantee): tolerance is half a spacing. Rate(8,
    1 s): spacing 1/8, tolerance 1/16 (both exact in binary, so the edge is tested exactly)."""

    def next_after(late: float) -> float:
        budget = Budget(Rate(8, 1.0), jitter=0.0, burst=1, precharge=False, now=0.0)
        budget.charge(0.0)
        budget.charge(0.125 + late)
        budget.finish(0.0)
        budget.finish(0.125 + late)
        return budget._scheduled()

    assert next_after(0.0) == 0.25
    assert next_after(0.04) == 0.25  # booked at its scheduled time
    assert next_after(0.0625) == 0.25  # the edge is inside
    assert next_after(0.07) == pytest.approx(0.125 + 0.07 + 0.125)  # booked when it happened


def test_a_schedule_only_budget_forgives_a_tenth_of_the_jitter() -> None:
    """A shared tenant's fallback (``exact=False``): the schedule carries the guarantee, and
    only a tenth of the jitter allowance goes to loop latency."""

    def next_after(late: float) -> float:
        budget = Budget(Rate(10, 1.0), jitter=0.5, burst=1, precharge=False, now=0.0, exact=False)
        budget.charge(0.0)
        budget.charge(0.15 + late)
        return budget.ready_at(0.0)

    assert next_after(0.04) == pytest.approx(0.30)
    assert next_after(0.06) == pytest.approx(0.15 + 0.06 + 0.15)


def test_a_seed_drops_the_precharge_only_of_a_budget_that_granted_nothing() -> None:
    def fresh() -> Budget:
        return Budget(Rate(10, 1.0), jitter=0.0, burst=1, precharge=True, now=0.0)

    untouched = fresh()
    assert untouched.ready_at(0.0) == pytest.approx(0.1)  # the pre-charge
    untouched.seed([-0.5])
    assert untouched.ready_at(0.0) == -math.inf  # the truth replaces the guess
    assert untouched.recent_ends() == [-0.5]

    in_flight = fresh()
    in_flight.charge(0.1)
    in_flight.seed([-0.5])
    assert in_flight.ready_at(0.1) == pytest.approx(0.2)

    finished = fresh()
    finished.charge(0.1)
    finished.finish(0.15)
    finished.seed([-0.5])
    assert finished.ready_at(0.15) == pytest.approx(0.2)
    assert finished.recent_ends() == [-0.5, 0.15]


def test_a_call_finished_plainly_is_not_held_an_extra_period() -> None:
    budget = Budget(Rate(2, 1.0), jitter=0.0, burst=1, precharge=False, now=0.0)
    budget.charge(0.0)
    budget.finish(0.2)
    assert budget.recent_ends() == [0.2]
    budget.charge(0.5)
    budget.finish(0.6, abandoned=True)
    assert budget.recent_ends() == [0.2, 1.6]


def test_an_end_matters_only_while_the_ledger_binds_the_ready_time() -> None:
    """The dispatcher looks again at a call's end only when that end can bring a grant
    forward: when the ledger, not the schedule, set the budget's last ready time."""
    assert Budget(None, jitter=0.0, burst=1, precharge=False, now=0.0).ends_matter is False
    budget = Budget(Rate(2, 1.0), jitter=0.0, burst=1, precharge=False, now=0.0)
    assert budget.ends_matter is True  # nothing asked yet: assume it does
    budget.charge(0.0)
    budget.finish(0.0)
    assert budget.ready_at(0.0) == 0.5  # the schedule binds: an end could not move it
    assert budget.ends_matter is False
    budget.charge(0.5)
    assert budget.ends_matter is True  # a grant: assume it does until asked again
    budget.charge(1.0)  # two in flight: no room before one of them ends
    assert budget.ready_at(1.0) == math.inf
    assert budget.ends_matter is True
    budget.finish(1.2)
    assert budget.ready_at(1.2) < math.inf  # that end did bring the next grant forward
    budget.seed([0.1])
    assert budget.ends_matter is True
