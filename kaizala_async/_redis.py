"""The tenant budget shared by several processes through Redis (DESIGN §4, last two bullets).

One Lua script, with Redis ``TIME`` as the only clock, books the tenant's next slot atomically by
the same rule as a process's own ledger (``_ledger.py``): the tenant's calls are kept as brackets
(booked start ... end), and a slot opens only when no placement of them could make a sliding log,
fixed window, unfloored sliding-window counter, token bucket or GCRA refuse one; on top, slots are
spaced ``(T + J) / N`` apart (GCRA on a "theoretical arrival time"). Each process reports the
ends of its calls with its next booking (or, when it goes quiet, in a report of their own), as
"so long before this request": a conservative, later end in Redis time whatever the clocks say.
The script answers the wait relative to Redis's clock; a process starts its call no earlier than
that long after the answer arrives, so a start is never early, and starting late is safe: a
booked slot is always used (or handed back as ended), never thrown away.

Keys (``{...}`` is a Redis Cluster hash tag, so one tenant's keys live on one shard):

* ``<prefix>:{<tenant>}:tat``: the tenant's TAT (µs since the epoch, Redis time);
* ``<prefix>:{<tenant>}:ends``: ends of recent calls (sorted set, µs);
* ``<prefix>:{<tenant>}:flight``: calls booked and not yet reported ended, by lease expiry;
* ``<prefix>:{<tenant>}:connector:<application id>``: a connector's TAT, when connectors run in
  several processes (``share_connectors=True``);
* ``<prefix>:{<tenant>}:processes``: a sorted set of process ids by last booking, for the
  fallback's share.

Every key expires a little after the last use it matters for, so a tenant that goes quiet leaves
nothing behind. A missing TAT counts as just used (pre-charged). A Redis that lost its data (a
restart) learns each process's recent calls again from its next report.
"""

from __future__ import annotations

import math
import os
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._budget import Rate
from ._errors import ValidationError
from ._shared_tenant import BracketReport, SharedBudgetStats
from ._validate import check_count

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisTenantBudget"]

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spacing = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local pid = ARGV[3]
local cspacing = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local period = tonumber(ARGV[6])
local lease = tonumber(ARGV[7])
local call = ARGV[8]
local nended, nadopted, nanon = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local i = 12
-- What the process reports: its calls that ended, its fallback calls (in flight, and ended).
for k = 1, nended do
  if redis.call('ZREM', KEYS[4], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[3], now - tonumber(ARGV[i + 1]), ARGV[i])
  end
  i = i + 2
end
for k = 1, nadopted do
  redis.call('ZADD', KEYS[4], now - tonumber(ARGV[i + 1]) + lease, ARGV[i])
  i = i + 2
end
for k = 1, nanon do
  redis.call('ZADD', KEYS[3], now - tonumber(ARGV[i]), pid .. ':f' .. k .. ':' .. now)
  i = i + 1
end
-- A call whose end never came (its process died) ends when its lease does.
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'WITHSCORES')
for k = 1, #expired, 2 do
  redis.call('ZREM', KEYS[4], expired[k])
  redis.call('ZADD', KEYS[3], expired[k + 1], expired[k])
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 2 * period)
redis.call('ZADD', KEYS[2], now, pid)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 2 * window)
local ttl = math.ceil((2 * period + lease + window) / 1000)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('PEXPIRE', KEYS[4], ttl)
local processes = redis.call('ZCARD', KEYS[2])
if call == '' then
  return {'0', processes, 0}
end
-- The bracket ledger (kaizala_async/_ledger.py): the earliest start that no placement of the
-- tenant's calls between start and end could make any counting method refuse.
local inflight = redis.call('ZCARD', KEYS[4])
local raw = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
local ends = {}
for k = 2, #raw, 2 do ends[#ends + 1] = tonumber(raw[k]) end
local n = #ends
local room = limit - inflight - 1
if room < 0 then
  return {string.format('%.0f', spacing), processes, 0}  -- every place held: ask again later
end
local ready = now
if n > room then
  ready = math.max(ready, ends[n - room] + period + 1)
  local lowest = now - period
  local fixed = inflight + 1 + n
  for _, shift in ipairs({0, period}) do
    local first, older = 1, 1
    for k = 1, n do
      local b = ends[k] + shift
      if b > lowest then
        while first <= n and ends[first] < b - 1 do first = first + 1 end
        while older <= n and ends[older] < b - period - 1 do older = older + 1 end
        local count = fixed - (first - 1)
        local g = nil
        if count > limit then
          g = b + period
        elseif first > older then
          g = b + period - period * (limit - count) / (first - older)
        end
        if g and g + 1 > ready then ready = g + 1 end
      end
    end
  end
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tat < 0 then tat = now + spacing end
local slot = math.max(now, tat, ready)
if cspacing > 0 then
  local ctat = tonumber(redis.call('GET', KEYS[5]) or '-1')
  if ctat < 0 then ctat = now + cspacing end
  slot = math.max(slot, ctat)
  local cnext = slot + cspacing
  redis.call('SET', KEYS[5], string.format('%.0f', cnext), 'PX',
             math.ceil((cnext - now + window) / 1000))
end
local nxt = slot + spacing
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX',
           math.ceil((nxt - now + window) / 1000))
redis.call('ZADD', KEYS[4], slot + lease, call)
redis.call('PEXPIRE', KEYS[4], ttl)
return {string.format('%.0f', slot - now), processes, 1}
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
    * ``lease``: a booked call whose end no process reported (its process died) counts as ended
      this long after its slot (default 180 s: above the default 60 s timeout plus a period).

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
        lease: float = 180.0,
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
        self.lease = _check_positive("lease", lease)
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
                "RedisTenantBudget",
                "needs redis-py: pip install '.[redis]' (from a checkout of kaizala-async)",
            ) from None
        self.errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError,)

    def __repr__(self) -> str:
        # The URL may carry a password: only the host and the tenant are shown.
        parts = urlsplit(self._url)
        where = parts.hostname or parts.path or "?"
        return f"<RedisTenantBudget {self.tenant_key!r} at {where}>"

    def key(self, what: str) -> str:
        """The Redis key of ``what`` (``tat``, ``processes``, ``ends``, ``flight``,
        ``connector:<id>``)."""
        return f"{self._prefix}:{what}"

    def _scripts(self) -> tuple[Any, Any]:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(
                self._url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                client_name="kaizala-budget",
            )
        if self._reserve is None:
            self._reserve = self._client.register_script(_RESERVE)
            self._pause = self._client.register_script(_PAUSE)
        return self._reserve, self._pause

    async def reserve(
        self,
        *,
        tenant: Rate,
        jitter: float,
        connector: tuple[str, Rate, float] | None,
        call_id: str | None,
        report: BracketReport,
    ) -> tuple[float, int, bool]:
        """Report ``report`` and book the next slot for ``call_id`` (None: report only).

        Answers ``(seconds, processes, booked)``: the slot starts ``seconds`` after the answer
        arrives, or, when every place is held by calls in flight (``booked`` False), ask again
        after ``seconds``.
        """
        reserve, _ = self._scripts()
        window = round((tenant.period + jitter) * 1e6)
        spacing = window / tenant.limit
        keys = [self.key("tat"), self.key("processes"), self.key("ends"), self.key("flight")]
        cspacing = 0.0
        if connector is not None:
            connector_id, rate, cjitter = connector
            keys.append(self.key(f"connector:{connector_id}"))
            cspacing = (rate.period + cjitter) * 1e6 / rate.limit
        args: list[str | int] = [
            f"{spacing:.3f}", window, self._process_id, f"{cspacing:.3f}", tenant.limit,
            round(tenant.period * 1e6), round(self.lease * 1e6), call_id or "",
            len(report.ended), len(report.adopted), len(report.anonymous),
        ]  # fmt: skip
        for name, ago in (*report.ended, *report.adopted):
            args += [name, round(ago * 1e6)]
        args += [round(ago * 1e6) for ago in report.anonymous]
        wait, processes, booked = await reserve(keys=keys, args=args)
        return int(wait) / 1e6, int(processes), bool(int(booked))

    async def pause(self, *, tenant: Rate, seconds: float) -> None:
        """Hold every process's next slot until ``seconds`` from now (a 429's Retry-After)."""
        _, pause = self._scripts()
        await pause(keys=[self.key("tat")], args=[round(seconds * 1e6), round(tenant.period * 1e6)])

    async def aclose(self) -> None:
        client, self._client = self._client, self._given
        self._reserve = self._pause = None
        if client is not None and client is not self._given:
            await client.aclose()
