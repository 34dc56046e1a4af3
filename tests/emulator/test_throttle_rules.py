"""The emulator's Retry-After on its own (``emulator._throttle``): for every counting method and
any arrivals, a refused call's Retry-After is right and no longer than needed: the same call
``retry_after`` seconds later is accepted, one second earlier it is refused."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaizala_async import Rate
from kaizala_async.emulator._throttle import THROTTLE_METHODS, WindowStats, make_counter
from tests.examples import examples

#: Gaps between arrivals: bursts (0), fractions of a spacing, whole windows.
_GAPS = st.lists(
    st.one_of(st.just(0.0), st.floats(0.0, 3.0), st.sampled_from([0.5, 1.0, 2.0, 6.0])),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("method", THROTTLE_METHODS)
@settings(max_examples=examples(300), deadline=None)
@given(gaps=_GAPS, limit=st.integers(1, 5), period=st.sampled_from([2.0, 6.0, 10.0]))
def test_a_refusals_retry_after_is_when_the_call_is_accepted_to_the_second(
    method: str, gaps: list[float], limit: int, period: float
) -> None:
    counter = make_counter(method, Rate(limit, period))  # type: ignore[arg-type]
    now = 0.0
    for gap in gaps:
        now += gap
        before = copy.deepcopy(counter)  # a refused call is not counted: state as it was
        allowed, retry_after = counter.check(now)
        if allowed:
            assert retry_after == 0
            continue
        assert isinstance(retry_after, int) and retry_after >= 1
        later = copy.deepcopy(before)
        assert later.check(now + retry_after)[0], (now, retry_after)
        if retry_after > 1:
            sooner = copy.deepcopy(before)
            assert not sooner.check(now + retry_after - 1)[0], (now, retry_after)


@pytest.mark.parametrize("method", THROTTLE_METHODS)
def test_a_refused_call_is_not_counted(method: str) -> None:
    counter = make_counter(method, Rate(2, 10.0))  # type: ignore[arg-type]
    assert counter.check(0.0)[0] and counter.check(0.0)[0]
    for _ in range(50):
        assert not counter.check(1.0)[0]
    # Refusals used nothing: the next call is accepted as soon as it would have been anyway.
    fresh = make_counter(method, Rate(2, 10.0))  # type: ignore[arg-type]
    fresh.check(0.0)
    fresh.check(0.0)
    _, wait = fresh.check(1.0)
    assert counter.check(1.0 + wait)[0]


@pytest.mark.parametrize("method", THROTTLE_METHODS)
@pytest.mark.parametrize("period", [1.0, 6.0, 60.0])
def test_a_call_exactly_one_period_after_a_full_window_is_accepted(
    method: str, period: float
) -> None:
    """A window is (t - T, t]: the call of T ago has left it. The sliding-window counter is the
    exception: at the start of a window it still weighs the previous one in full."""
    counter = make_counter(method, Rate(1, period))  # type: ignore[arg-type]
    assert counter.check(0.0)[0]
    assert not counter.check(period * 0.999)[0]
    if method == "sliding-window-counter":
        assert counter.check(period) == (False, 1 if period == 1.0 else period)
        assert counter.check(2 * period)[0]
    else:
        assert counter.check(period)[0]


def test_the_window_statistics_count_each_call_and_the_fullest_window() -> None:
    stats = WindowStats(10.0)
    for at in (0.0, 1.0, 9.0, 10.0, 10.5):  # at 10.0 the call of 0.0 has left the window
        stats.accept(at)
    stats.reject()
    stats.reject()
    assert stats.as_dict() == {"calls": 5, "throttled": 2, "maxInWindow": 4, "window": 10.0}
