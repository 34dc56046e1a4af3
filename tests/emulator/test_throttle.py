"""The emulator's counting methods: N pass, N+1 gets 429 + Retry-After, after which it passes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kaizala_async import Rate
from kaizala_async.emulator._throttle import THROTTLE_METHODS, WindowStats, make_counter


@pytest.mark.parametrize("method", THROTTLE_METHODS)
@pytest.mark.parametrize("start", [0.0, 3.7, 59.99])
def test_n_pass_then_429_then_retry_after_succeeds(method: str, start: float) -> None:
    rate = Rate(5, 10.0)
    counter = make_counter(method, rate)  # type: ignore[arg-type]
    t = start
    for _ in range(rate.limit):
        assert counter.check(t) == (True, 0)
    allowed, retry_after = counter.check(t)
    assert not allowed
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= 2 * rate.period
    assert counter.check(t + retry_after)[0], (method, retry_after)


@pytest.mark.parametrize("method", THROTTLE_METHODS)
def test_retry_after_is_not_longer_than_needed(method: str) -> None:
    """One second before the Retry-After deadline the call is still refused (for whole seconds)."""
    rate = Rate(3, 6.0)
    counter = make_counter(method, rate)  # type: ignore[arg-type]
    for _ in range(3):
        counter.check(0.0)
    _, retry_after = counter.check(0.0)
    if retry_after > 1:
        probe = make_counter(method, rate)  # type: ignore[arg-type]
        for _ in range(3):
            probe.check(0.0)
        assert not probe.check(retry_after - 1.0)[0]


@pytest.mark.parametrize("method", THROTTLE_METHODS)
def test_even_pacing_at_the_limit_is_never_throttled_by_log_window_or_bucket(method: str) -> None:
    rate = Rate(10, 1.0)
    counter = make_counter(method, rate)  # type: ignore[arg-type]
    spacing = (rate.period * 1.005) / rate.limit  # what the SDK does
    results = [counter.check(i * spacing)[0] for i in range(1000)]
    if method == "sliding-window-counter":
        # Its unfloored estimate caps an evenly paced client at (N-1)/N of the rate.
        assert results.count(False) > 0
    else:
        assert all(results)


def test_sliding_log_is_exact() -> None:
    counter = make_counter("sliding-log", Rate(2, 1.0))
    assert counter.check(0.0)[0]
    assert counter.check(0.5)[0]
    assert not counter.check(0.99)[0]
    assert counter.check(1.0)[0]  # the call at 0.0 left the window (1.0 - 1, 1.0]


@given(st.lists(st.floats(0, 100, allow_nan=False), max_size=200))
def test_window_stats_max_matches_brute_force(times: list[float]) -> None:
    times = sorted(times)
    stats = WindowStats(5.0)
    for t in times:
        stats.accept(t)
    brute = max((sum(1 for u in times if t - 5.0 + 1e-9 < u <= t) for t in times), default=0)
    assert stats.max_in_window == brute


@given(st.sampled_from(THROTTLE_METHODS), st.lists(st.floats(0, 30, allow_nan=False), max_size=300))
def test_log_window_and_bucket_never_accept_more_than_their_bound(
    method: str, arrivals: list[float]
) -> None:
    rate = Rate(4, 2.0)
    counter = make_counter(method, rate)  # type: ignore[arg-type]
    stats = WindowStats(rate.period)
    for t in sorted(arrivals):
        if counter.check(t)[0]:
            stats.accept(t)
    bound = {
        "sliding-log": 4,
        "sliding-window-counter": 8,
        "fixed-window": 8,
        "token-bucket": 8,
        "gcra": 8,
    }[method]
    assert stats.max_in_window <= bound


@given(st.lists(st.integers(0, 30_000).map(lambda ms: ms / 1000), max_size=300))
def test_gcra_admits_exactly_what_a_full_token_bucket_admits(arrivals: list[float]) -> None:
    """GCRA with a burst of N is the virtual-scheduling form of a token bucket of capacity N.

    Arrivals are whole milliseconds: each method forgives float error of 1e-9 in its own unit
    (seconds, tokens), so arrivals a nanosecond apart could fall between the two tolerances."""
    rate = Rate(4, 2.0)
    gcra, bucket = make_counter("gcra", rate), make_counter("token-bucket", rate)
    for t in sorted(arrivals):
        assert gcra.check(t)[0] == bucket.check(t)[0]


def test_unknown_method_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown throttle method"):
        make_counter("leaky", Rate(1, 1.0))  # type: ignore[arg-type]


def test_a_call_refused_by_the_tenant_does_not_use_up_the_connector() -> None:
    """Refused calls are counted by neither scope: a call the tenant refuses leaves the
    connector's own budget as it was (it used to be counted there first)."""
    from kaizala_async.emulator import Emulator, EmulatorConfig
    from kaizala_async.emulator._app import HTTPError

    clock = [0.0]
    emu = Emulator(
        EmulatorConfig(connector_limit=Rate(3, 100.0), tenant_limit=Rate(2, 10.0)),
        clock=lambda: clock[0],
    )
    connector = emu.create_connector()
    emu.app.throttle(connector)
    emu.app.throttle(connector)
    clock[0] = 1.0
    with pytest.raises(HTTPError) as refused:
        emu.app.throttle(connector)  # the tenant is full: 429 ...
    assert refused.value.status == 429
    clock[0] = 11.0
    emu.app.throttle(connector)  # ... and the connector still has its third call
    stats = emu.stats()["connectors"][connector.application_id]
    assert stats["calls"] == 3 and stats["throttled"] == 1
