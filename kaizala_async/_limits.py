"""``RateLimits``: the budgets a client paces itself by, checked when they are made."""

from __future__ import annotations

import math
from typing import Any

import attrs

from ._budget import Rate
from ._constants import (
    DEFAULT_CONNECTOR_LIMIT,
    DEFAULT_CONNECTOR_PERIOD,
    DEFAULT_TENANT_LIMIT,
    DEFAULT_TENANT_PERIOD,
    JITTER_FRACTION,
    JITTER_MAX,
)
from ._errors import ValidationError
from ._max_wait import check_max_wait
from ._shared_tenant import TenantBackend

__all__ = ["RateLimits"]


def _check_optional_rate(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance
    if value is not None and not isinstance(value, Rate):
        raise ValidationError(attribute.name, f"must be a Rate or None, not {value!r}")


def _check_jitter(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance, attribute
    if value is not None and (
        not isinstance(value, int | float) or not math.isfinite(value) or value < 0
    ):
        raise ValidationError(
            "jitter", f"must be None or a non-negative number of seconds, not {value!r}"
        )


def _check_burst(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance, attribute
    if not isinstance(value, int) or value < 1:
        raise ValidationError("burst", f"must be a positive whole number, not {value!r}")


def _check_max_wait(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance
    check_max_wait(attribute.name, value)


def _check_backend(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance, attribute
    if value is not None and not callable(getattr(value, "reserve", None)):
        raise ValidationError(
            "backend", f"must be a tenant backend such as RedisTenantBudget, not {value!r}"
        )


@attrs.frozen(kw_only=True)
class RateLimits:
    """The budgets a client paces itself by.

    * ``connector``: this client's own budget (default 100 calls / 60 s). ``None`` lifts it.
    * ``tenant``: the budget shared by every client with the same ``tenant_key`` in this process
      (default 300 calls / 60 s). With ``tenant_key=None`` the client has a tenant budget of its
      own. ``None`` lifts it.
    * ``jitter``: seconds added to each window to absorb network jitter; by default
      ``min(0.25, 0.005 * period)``, which keeps at least 99.5 % of the rate.
    * ``burst``: how many calls may go back to back (default 1: evenly spaced, safe under a
      fixed window, a sliding log and a token bucket). A larger burst is still never more than
      N calls in any window of T + J.
    * ``precharge``: a new budget counts as just used, so a restarted process cannot double up on
      the previous process's last window. It delays the first call by one spacing (0.6 s).
    * ``backend``: where the tenant budget lives when several processes share it, e.g.
      `RedisTenantBudget`. ``None`` (default): in this process.
    * ``max_wait``: the longest a call waits for its slot before it raises
      `SlotWaitTimeoutError` (nothing sent, no slot used). ``None``
      (default): it waits as long as it takes. A fan-out always waits.
    """

    connector: Rate | None = attrs.field(
        default=Rate(DEFAULT_CONNECTOR_LIMIT, DEFAULT_CONNECTOR_PERIOD),
        validator=_check_optional_rate,
    )
    tenant: Rate | None = attrs.field(
        default=Rate(DEFAULT_TENANT_LIMIT, DEFAULT_TENANT_PERIOD), validator=_check_optional_rate
    )
    tenant_key: str | None = None
    jitter: float | None = attrs.field(default=None, validator=_check_jitter)
    burst: int = attrs.field(default=1, validator=_check_burst)
    precharge: bool = True
    backend: TenantBackend | None = attrs.field(default=None, validator=_check_backend)
    max_wait: float | None = attrs.field(default=None, validator=_check_max_wait)

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No client-side pacing at all (for benchmarks and tests; the service still throttles)."""
        return cls(connector=None, tenant=None)

    def __attrs_post_init__(self) -> None:
        if self.backend is not None and self.tenant is None:
            raise ValidationError("backend", "a shared tenant budget needs a tenant Rate")
        if self.backend is not None and self.burst != 1:
            raise ValidationError("backend", "a shared tenant budget paces evenly: burst must be 1")

    def jitter_for(self, rate: Rate) -> float:
        """The jitter allowance, in seconds, used for ``rate``."""
        if self.jitter is not None:
            return float(self.jitter)
        return min(JITTER_MAX, JITTER_FRACTION * rate.period)
