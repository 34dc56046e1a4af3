"""The tenant budget shared by several processes through Redis (DESIGN §4, last two bullets).

One Lua script books the next slot atomically with Redis ``TIME`` as the only clock: a generic
cell-rate algorithm (GCRA) per key keeps a "theoretical arrival time" (TAT) and hands out slots at
least ``(T + J) / N`` apart, so any N + 1 slots span at least ``T + J``, the same promise the local
budget makes. The script answers the wait in microseconds relative to Redis's own clock; a client
waits that long after the answer arrives, so its slot is never early, whatever its clock says.

Keys (``{...}`` is a Redis Cluster hash tag, so one tenant's keys live on one shard):

* ``<prefix>:{<tenant>}:tat``: the tenant's TAT (µs since the epoch, Redis time);
* ``<prefix>:{<tenant>}:connector:<application id>``: a connector's TAT, when connectors run in
  several processes (``share_connectors=True``);
* ``<prefix>:{<tenant>}:processes``: a sorted set of process ids by last booking, for the
  fallback's share.

Every key expires a little more than one window after the last slot it holds, so a tenant that
goes quiet leaves nothing behind. A missing TAT counts as just used (pre-charged): a Redis that
lost its data cannot double up on the last window.
"""

from __future__ import annotations

import math
import os
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._errors import ValidationError
from ._ratelimit import Rate, SharedBudgetStats
from ._validate import check_count

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisTenantBudget"]

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spacing = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local debt = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tat < 0 then tat = now + spacing end
local slot = math.max(now, tat) + debt * spacing
local cspacing = tonumber(ARGV[5])
if cspacing > 0 then
  local ctat = tonumber(redis.call('GET', KEYS[3]) or '-1')
  if ctat < 0 then ctat = now + cspacing end
  slot = math.max(slot, ctat)
  local cnext = slot + cspacing
  redis.call('SET', KEYS[3], string.format('%.0f', cnext), 'PX',
             math.ceil((cnext - now + window) / 1000))
end
local nxt = slot + spacing
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX',
           math.ceil((nxt - now + window) / 1000))
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 2 * window)
redis.call('PEXPIRE', KEYS[2], math.ceil(3 * window / 1000))
return {string.format('%.0f', slot - now), redis.call('ZCARD', KEYS[2])}
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '-1')
if until_ > tat then
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX',
             math.ceil((until_ - now + tonumber(ARGV[2])) / 1000))
end
return 1
"""


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(name, f"must be a positive number of seconds, not {value!r}")
    if not math.isfinite(value):
        raise ValidationError(name, f"must be finite, not {value!r}")
    return float(value)


class RedisTenantBudget:
    """A tenant's call budget shared by every process that names the same Redis and tenant.

    Pass it as ``RateLimits(backend=RedisTenantBudget("redis://cache:6379/0", "contoso"))``.
    The tenant limit is then booked in Redis (one atomic script per call); connector limits stay
    in each process unless ``share_connectors=True`` (the same connector runs in several
    processes). Needs the ``redis`` extra (redis-py) and Redis 7+ or Valkey; no modules.

    * ``timeout``: a booking slower than this counts as a failure (default 0.25 s).
    * ``retry_every``: while Redis is unreachable, try it again this often (default 1 s).
    * ``processes``: how many processes share the tenant, for the fallback before Redis has ever
      answered (afterwards Redis tells). Unset: the fallback is the connector limit.
    * ``client``: an existing ``redis.asyncio.Redis`` to use instead of ``url`` (not closed here).

    The connection opens on the first booking and closes with the last client using it.
    """

    def __init__(
        self,
        url: str,
        tenant_key: str,
        *,
        share_connectors: bool = False,
        timeout: float = 0.25,
        retry_every: float = 1.0,
        processes: int | None = None,
        key_prefix: str = "kaizala",
        client: Redis | None = None,
    ) -> None:
        if not isinstance(url, str) or urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
            raise ValidationError("url", "must be a redis://, rediss:// or unix:// URL")
        for name, value in (("tenant_key", tenant_key), ("key_prefix", key_prefix)):
            if not isinstance(value, str) or not value or any(c in value for c in "{}\n "):
                raise ValidationError(name, "must be a non-empty string without braces or spaces")
        if processes is not None:
            check_count(processes, "processes")
        self._url = url
        self.tenant_key = tenant_key
        self.share_connectors = bool(share_connectors)
        self.timeout = _check_positive("timeout", timeout)
        self.retry_every = _check_positive("retry_every", retry_every)
        self.processes = processes
        self.stats = SharedBudgetStats()
        self._prefix = f"{key_prefix}:{{{tenant_key}}}"
        self._process_id = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._given = client
        self._client: Redis | None = client
        self._reserve: Any = None
        self._pause: Any = None
        try:
            import redis.exceptions
        except ImportError:
            raise ValidationError(
                "RedisTenantBudget", "needs redis-py: pip install 'kaizala-async[redis]'"
            ) from None
        self.errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError,)

    def __repr__(self) -> str:
        # The URL may carry a password: only the host and the tenant are shown.
        parts = urlsplit(self._url)
        where = parts.hostname or parts.path or "?"
        return f"<RedisTenantBudget {self.tenant_key!r} at {where}>"

    def key(self, what: str) -> str:
        """The Redis key of ``what`` (``tat``, ``processes``, ``connector:<id>``)."""
        return f"{self._prefix}:{what}"

    def _scripts(self) -> tuple[Any, Any]:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(
                self._url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
        if self._reserve is None:
            self._reserve = self._client.register_script(_RESERVE)
            self._pause = self._client.register_script(_PAUSE)
        return self._reserve, self._pause

    async def reserve(
        self, *, tenant: Rate, jitter: float, connector: tuple[str, Rate, float] | None, debt: int
    ) -> tuple[float, int]:
        """Book the next slot: ``(seconds to wait from now, processes using the tenant)``."""
        reserve, _ = self._scripts()
        window = round((tenant.period + jitter) * 1e6)
        spacing = window / tenant.limit
        keys = [self.key("tat"), self.key("processes")]
        cspacing = 0.0
        if connector is not None:
            connector_id, rate, cjitter = connector
            keys.append(self.key(f"connector:{connector_id}"))
            cspacing = (rate.period + cjitter) * 1e6 / rate.limit
        args = [f"{spacing:.3f}", window, self._process_id, debt, f"{cspacing:.3f}"]
        wait, processes = await reserve(keys=keys, args=args)
        return int(wait) / 1e6, int(processes)

    async def pause(self, *, tenant: Rate, seconds: float) -> None:
        """Hold every process's next slot until ``seconds`` from now (a 429's Retry-After)."""
        _, pause = self._scripts()
        await pause(keys=[self.key("tat")], args=[round(seconds * 1e6), round(tenant.period * 1e6)])

    async def aclose(self) -> None:
        client, self._client = self._client, self._given
        self._reserve = self._pause = None
        if client is not None and client is not self._given:
            await client.aclose()
