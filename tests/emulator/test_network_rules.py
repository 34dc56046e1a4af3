"""The emulator's network model (``emulator._network``) on its own: the profiles it refuses,
the command line's forms, and how a delay is drawn."""

from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest

from kaizala_async.emulator._network import NetworkProfile


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"base": -0.1}, "base must be a finite number of seconds >= 0, not -0.1"),
     ({"jitter": math.inf}, "jitter must be a finite number of seconds >= 0, not inf"),
     ({"base": math.nan}, "base must be a finite number of seconds >= 0, not nan"),
     ({"base": "1"}, "base must be a finite number of seconds >= 0, not '1'"),
     ({"spike_rate": 1.5}, "spike_rate must be between 0 and 1, not 1.5"),
     ({"spike_rate": -0.5}, "spike_rate must be between 0 and 1, not -0.5"),
     ({"spike": (0.3, 0.1)}, "spike must be (low, high) seconds with 0 <= low <= high, not (0.3, 0.1)"),
     ({"spike": (-1.0, 0.1)}, "0 <= low <= high"),
     ({"spike": (0.1, math.inf)}, "0 <= low <= high"),
     ({"spike": (math.nan, 0.1)}, "0 <= low <= high")],
)  # fmt: skip
def test_a_profile_refuses_delays_that_are_not_seconds(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        NetworkProfile(**settings)


def test_the_edges_are_accepted() -> None:
    assert NetworkProfile(base=0, jitter=0.0, spike_rate=1, spike=(0.0, 0.0)).spike_rate == 1.0
    assert NetworkProfile(spike=(0.2, 0.2), spike_rate=0).spike == (0.2, 0.2)
    assert NetworkProfile() == NetworkProfile(
        base=0.0, jitter=0.0, spike_rate=0.0, spike=(0.1, 0.3)
    )


@pytest.mark.parametrize(
    ("text", "profile"),
    [("fixed:0.01", NetworkProfile(base=0.01)),
     ("  fixed:2 ", NetworkProfile(base=2.0)),
     ("uniform:0.01-0.03", NetworkProfile(base=0.01, jitter=0.03 - 0.01)),
     ("spikes:0.002,0.03,0.1-0.3", NetworkProfile(base=0.002, spike_rate=0.03, spike=(0.1, 0.3)))],
)  # fmt: skip
def test_the_command_lines_forms(text: str, profile: NetworkProfile) -> None:
    assert NetworkProfile.parse(text) == profile


@pytest.mark.parametrize("text", ["", "fixed", "fixed:-1", "uniform:1", "spikes:1,2",
                                  "fixed:0.1x", "xfixed:0.1", "gauss:0.1"])  # fmt: skip
def test_other_forms_are_refused_naming_the_three(text: str) -> None:
    message = (
        f"network profile {text!r}: use fixed:S, uniform:LOW-HIGH or spikes:BASE,RATE,LOW-HIGH"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        NetworkProfile.parse(text)


def test_a_fixed_profile_always_draws_its_base_and_uses_no_randomness() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    assert [NetworkProfile.fixed(0.25).draw(rng) for _ in range(5)] == [0.25] * 5
    assert rng.getstate() == state


def test_jitter_is_spread_over_its_whole_range_above_the_base() -> None:
    rng = random.Random(2)
    profile = NetworkProfile.uniform(0.5, 1.5)
    drawn = [profile.draw(rng) for _ in range(2000)]
    assert all(0.5 <= d <= 1.5 for d in drawn)
    assert min(drawn) < 0.55 and max(drawn) > 1.45
    assert abs(sum(drawn) / len(drawn) - 1.0) < 0.03


def test_spikes_come_at_their_rate_and_within_their_range() -> None:
    rng = random.Random(3)
    profile = NetworkProfile.spikes(0.001, 0.25, 2.0, 3.0)
    drawn = [profile.draw(rng) for _ in range(4000)]
    spikes = [d for d in drawn if d != 0.001]
    assert all(2.0 <= d <= 3.0 for d in spikes)
    assert min(spikes) < 2.05 and max(spikes) > 2.95
    assert abs(len(spikes) / len(drawn) - 0.25) < 0.03
    always = NetworkProfile.spikes(0.0, 1.0, 5.0, 5.0)
    assert always.draw(rng) == 5.0
