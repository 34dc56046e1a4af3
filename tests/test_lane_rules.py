"""The lane and the dispatcher's serving order (``_lane``) on their own: budgets whose ready
times the test sets, waiters that are plain futures. What `LaneOrder.next` answers is the lane
the dispatcher serves and the earliest time that lane's own budget allows."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from kaizala_async._lane import EPS, Lane, LaneOrder

NOW = 100.0


class Budget:
    """A budget whose ready time is set by the test; counts how often it is asked."""

    def __init__(self, ready: float = -math.inf) -> None:
        self.ready = ready
        self.asked = 0

    def ready_at(self, now: float) -> float:
        self.asked += 1
        return self.ready


class Waiter:
    """A waiter as the lane sees one: ``done()`` once cancelled."""

    def __init__(self) -> None:
        self.cancelled = False

    def done(self) -> bool:
        return self.cancelled


def lane(name: str, ready: float = -math.inf, *, waiters: int = 1, served: int = 0) -> Lane:
    made = Lane(Budget(ready), None, 0.0, name)  # type: ignore[arg-type]
    for _ in range(waiters):
        made.enqueue(Waiter(), first=False)  # type: ignore[arg-type]
    made.served = served
    return made


def order_of(*lanes: Lane) -> LaneOrder:
    order = LaneOrder()
    for each in lanes:
        order.waiting(each, NOW)
    return order


def named(found: tuple[float, Lane | None]) -> tuple[float, str | None]:
    at, which = found
    return at, None if which is None else which.connector_id


# -- which lane, and when ----------------------------------------------------------------------


def test_no_lane_with_a_waiter_means_nothing_to_serve() -> None:
    assert named(LaneOrder().next(NOW)) == (math.inf, None)
    assert named(order_of(lane("a", waiters=0)).next(NOW)) == (math.inf, None)


def test_when_none_is_ready_the_one_ready_first_is_next_at_its_time() -> None:
    order = order_of(lane("a", NOW + 5), lane("b", NOW + 2), lane("c", NOW + 9))
    assert named(order.next(NOW)) == (NOW + 2, "b")


def test_among_lanes_ready_now_the_least_recently_served_goes_first() -> None:
    order = order_of(
        lane("a", NOW - 9, served=7), lane("b", NOW - 1, served=3), lane("c", NOW - 5, served=5)
    )
    assert named(order.next(NOW)) == (NOW - 1, "b")


def test_a_lane_ready_now_goes_before_one_ready_later_whatever_their_last_grants() -> None:
    order = order_of(lane("later", NOW + 1, served=0), lane("now", NOW, served=9))
    assert named(order.next(NOW)) == (NOW, "now")


@pytest.mark.parametrize(
    ("ready", "counts_as_ready"),
    [(NOW + EPS, True), (NOW + 0.5 * EPS, True), (NOW + 2 * EPS, False)],
)
def test_a_lane_ready_within_the_clock_resolution_counts_as_ready(
    ready: float, counts_as_ready: bool
) -> None:
    # Counted as ready, the edge lane (served least recently) goes before a lane ready earlier.
    order = order_of(lane("edge", ready, served=0), lane("other", NOW - 1, served=9))
    assert named(order.next(NOW)) == ((ready, "edge") if counts_as_ready else (NOW - 1, "other"))


def test_an_infinite_ready_time_waits_for_a_call_to_end() -> None:
    order = order_of(lane("full", math.inf))
    assert named(order.next(NOW)) == (math.inf, "full")


# -- keeping the order as things change --------------------------------------------------------


def test_a_grant_places_the_lane_again_by_its_new_ready_time() -> None:
    a, b = lane("a", NOW, waiters=2), lane("b", NOW + 1)
    order = order_of(a, b)
    assert named(order.next(NOW)) == (NOW, "a")
    a.pop()
    a.budget.ready = NOW + 4  # type: ignore[attr-defined]  # its grant moved its next slot
    a.served = 1
    order.place(a, NOW)
    assert named(order.next(NOW)) == (NOW + 1, "b")


def test_a_lane_whose_last_waiter_was_granted_leaves_the_order() -> None:
    a = lane("a", NOW)
    order = order_of(a)
    a.pop()
    order.place(a, NOW)
    assert named(order.next(NOW)) == (math.inf, None)


def test_a_call_ending_brings_a_waiting_lane_forward() -> None:
    a, b = lane("a", NOW + 10), lane("b", NOW + 5)
    order = order_of(a, b)
    assert named(order.next(NOW)) == (NOW + 5, "b")
    a.budget.ready = NOW + 1  # type: ignore[attr-defined]  # one of its calls ended
    order.ended(a, NOW)
    assert named(order.next(NOW)) == (NOW + 1, "a")


def test_an_end_changes_nothing_for_a_lane_already_ready_or_out_of_the_order() -> None:
    a, idle = lane("a", NOW), lane("idle", NOW, waiters=0)
    order = order_of(a, idle)
    order.next(NOW)  # a is among the ready ones now
    asked = a.budget.asked  # type: ignore[attr-defined]
    order.ended(a, NOW)
    order.ended(idle, NOW)
    assert a.budget.asked == asked  # type: ignore[attr-defined]  # not placed again
    assert named(order.next(NOW)) == (NOW, "a")


def test_a_lane_that_gains_a_waiter_again_is_placed_once() -> None:
    a = lane("a", NOW + 1)
    order = order_of(a)
    asked = a.budget.asked  # type: ignore[attr-defined]
    a.enqueue(Waiter(), first=False)  # type: ignore[arg-type]
    assert order.waiting(a, NOW) is False  # already placed: nothing to do, and it says so
    assert a.budget.asked == asked  # type: ignore[attr-defined]


def test_waiting_says_whether_the_lane_was_placed_now() -> None:
    a = lane("a", NOW + 1)
    order = LaneOrder()
    assert order.waiting(a, NOW) is True
    order.remove(a)
    assert order.waiting(a, NOW) is True  # out of the order again: placed again


def test_a_ready_lane_whose_budget_is_no_longer_ready_goes_back_by_its_time() -> None:
    a, b = lane("a", NOW, served=0), lane("b", NOW + 2, served=5)
    order = order_of(a, b)
    assert named(order.next(NOW)) == (NOW, "a")
    a.budget.ready = NOW + 7  # type: ignore[attr-defined]  # changed behind the order's back
    assert named(order.next(NOW)) == (NOW + 2, "b")
    assert named(order.next(NOW + 7)) == (NOW + 7, "a")  # both ready then: a served less


def test_a_removed_lane_is_never_served() -> None:
    a, b = lane("a", NOW), lane("b", NOW + 1)
    order = order_of(a, b)
    order.remove(a)
    assert named(order.next(NOW)) == (NOW + 1, "b")


def test_lanes_whose_waiters_all_gave_up_are_dropped_from_the_order() -> None:
    a, b = lane("a", NOW, waiters=2), lane("b", NOW + 3)
    order = order_of(a, b)
    for waiter in a.queue:
        waiter.cancelled = True  # type: ignore[attr-defined]
    assert named(order.next(NOW)) == (NOW + 3, "b")
    assert not a.queue
    c = lane("c", NOW + 5)
    order.waiting(c, NOW)
    for waiter in b.queue:
        waiter.cancelled = True  # type: ignore[attr-defined]
    assert named(order.next(NOW)) == (NOW + 5, "c")


# -- the lane's queue --------------------------------------------------------------------------


def test_waiters_that_jump_the_queue_keep_their_own_order_and_a_drop_keeps_the_count() -> None:
    a = lane("a", waiters=0)
    plain, first, second = Waiter(), Waiter(), Waiter()
    a.enqueue(plain, first=False)  # type: ignore[arg-type]
    a.enqueue(first, first=True)  # type: ignore[arg-type]
    a.enqueue(second, first=True)  # type: ignore[arg-type]
    assert list(a.queue) == [first, second, plain]
    assert a.ahead == 2
    a.drop(first)  # type: ignore[arg-type]
    assert (list(a.queue), a.ahead) == ([second, plain], 1)
    late = Waiter()
    a.enqueue(late, first=True)  # type: ignore[arg-type]
    assert list(a.queue) == [second, late, plain]
    a.drop(plain)  # type: ignore[arg-type]  # behind the jumpers: their count is unchanged
    assert (list(a.queue), a.ahead) == ([second, late], 2)
    a.drop(Waiter())  # type: ignore[arg-type]  # not there: nothing happens
    assert a.pop() is second and a.ahead == 1


def test_with_real_futures_the_order_skips_those_cancelled() -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        a = Lane(Budget(NOW), None, 0.0, "a")  # type: ignore[arg-type]
        gone, kept = loop.create_future(), loop.create_future()
        a.enqueue(gone, first=False)
        a.enqueue(kept, first=False)
        order = LaneOrder()
        order.waiting(a, NOW)
        gone.cancel()
        at, which = order.next(NOW)
        return at, which is a, list(a.queue) == [kept]

    assert asyncio.run(main()) == (NOW, True, True)


def test_obsolete_entries_do_not_pile_up_over_a_long_life() -> None:
    """A lane with no room before a call ends is placed at ``inf``; each end places it again.
    Its old entries never reach the top of the heap while another lane is ready, so without a
    sweep they would pile up for as long as the client lives."""
    full, busy, patient = lane("full", math.inf), lane("busy", NOW, waiters=2), lane("p", NOW + 5)
    order = order_of(full, busy, patient)
    for n in range(10_000):
        full.budget.ready = math.inf if n % 2 else NOW + 1e6  # type: ignore[attr-defined]
        order.ended(full, NOW)
        assert named(order.next(NOW)) == (NOW, "busy")
    assert len(order._later) <= 130
    order.remove(busy)  # the sweeps kept what is still valid: the lane placed once is next
    assert named(order.next(NOW + 5)) == (NOW + 5, "p")
