"""A model of the network between a client and the emulated service: per-call delays.

Each call waits one drawn delay on its way in (the throttle sees it only then) and another on its
way back (the client hears the answer only then). A delay is ``base`` plus a uniform share of
``jitter``, or, with probability ``spike_rate``, a spike drawn uniformly from ``spike``.
"""

from __future__ import annotations

import math
import random
import re

import attrs

__all__ = ["NetworkProfile"]


def _check_seconds(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    del instance
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{attribute.name} must be a finite number of seconds >= 0, not {value!r}")


def _check_spike(
    instance: object, attribute: attrs.Attribute[tuple[float, float]], value: tuple[float, float]
) -> None:
    del instance, attribute
    low, high = value
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high):
        raise ValueError(f"spike must be (low, high) seconds with 0 <= low <= high, not {value!r}")


def _check_rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    del instance, attribute
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"spike_rate must be between 0 and 1, not {value!r}")


_SPEC = re.compile(
    r"^(?:fixed:(?P<fixed>[\d.]+)"
    r"|uniform:(?P<low>[\d.]+)-(?P<high>[\d.]+)"
    r"|spikes:(?P<base>[\d.]+),(?P<rate>[\d.]+),(?P<slow>[\d.]+)-(?P<shigh>[\d.]+))$"
)


@attrs.frozen(kw_only=True)
class NetworkProfile:
    """One-way delays drawn per call and direction (seconds).

    ``NetworkProfile.parse`` reads the command line's forms: ``fixed:0.01``,
    ``uniform:0-0.03`` and ``spikes:0.002,0.03,0.1-0.3`` (base, probability, spike range).
    """

    base: float = attrs.field(default=0.0, validator=_check_seconds)
    jitter: float = attrs.field(default=0.0, validator=_check_seconds)
    spike_rate: float = attrs.field(default=0.0, converter=float, validator=_check_rate)
    spike: tuple[float, float] = attrs.field(default=(0.1, 0.3), validator=_check_spike)

    @classmethod
    def fixed(cls, seconds: float) -> NetworkProfile:
        """Every call waits ``seconds`` each way."""
        return cls(base=seconds)

    @classmethod
    def uniform(cls, low: float, high: float) -> NetworkProfile:
        """Delays uniform in ``[low, high]`` each way."""
        return cls(base=low, jitter=high - low)

    @classmethod
    def spikes(cls, base: float, rate: float, low: float, high: float) -> NetworkProfile:
        """``base`` each way, but a share ``rate`` of the delays is uniform in ``[low, high]``."""
        return cls(base=base, spike_rate=rate, spike=(low, high))

    @classmethod
    def parse(cls, text: str) -> NetworkProfile:
        """A profile from ``fixed:S``, ``uniform:LOW-HIGH`` or ``spikes:BASE,RATE,LOW-HIGH``."""
        match = _SPEC.match(text.strip())
        if match is None:
            raise ValueError(
                f"network profile {text!r}: use fixed:S, uniform:LOW-HIGH or spikes:BASE,RATE,LOW-HIGH"
            )
        parts = match.groupdict()
        if parts["fixed"] is not None:
            return cls.fixed(float(parts["fixed"]))
        if parts["low"] is not None:
            return cls.uniform(float(parts["low"]), float(parts["high"]))
        return cls.spikes(
            float(parts["base"]), float(parts["rate"]), float(parts["slow"]), float(parts["shigh"])
        )

    def draw(self, rng: random.Random) -> float:
        """One delay."""
        if self.spike_rate and rng.random() < self.spike_rate:
            return rng.uniform(*self.spike)
        return self.base + (rng.uniform(0.0, self.jitter) if self.jitter else 0.0)
