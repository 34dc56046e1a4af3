"""A fan-out campaign's journal in Redis: any number of workers, on any machines, drain it.

Every worker runs the same fan-out over the same targets. Three Lua scripts, each one atomic
step with Redis ``TIME`` as the clock, keep each target in exactly one worker's hands:

* **claim** (a batch of targets per round trip): a target never seen, failed by an earlier run,
  or claimed by a worker whose lease lapsed becomes this worker's (``C``); one another live
  worker holds is left to it; a sent one is reported; one whose fate is unknown is claimed only
  for a resend or a settling read.
* **record** (the rows of every worker of this process, grouped per round trip): ``I`` (in
  flight) before the request may leave, and only while this worker still holds the claim;
  then ``S`` (sent, with the reference id), ``F`` (failed) or ``U`` (unknown).
* **reap** (each worker, once its own targets are done): the claims of workers whose lease
  lapsed: a target claimed and never sent is taken over and sent; one in flight becomes unknown
  (reported so by the reaper, never sent again unless asked). Repeated until no live worker
  holds a target.

A worker's lease is renewed by a heartbeat every third of it; closing ends it at once.

Keys (``{...}`` is a Redis Cluster hash tag: one campaign lives on one shard):

* ``kaizala:journal:{<campaign>}:meta``: hash: the payload's fingerprint;
* ``kaizala:journal:{<campaign>}:state``: hash: group id → ``S|<reference>``, ``F|<ms>``, ``U``,
  ``C|<worker>`` or ``I|<worker>|<ms>`` (about 100 bytes a target);
* ``kaizala:journal:{<campaign>}:workers``: sorted set: worker → lease deadline (ms);
* ``kaizala:journal:{<campaign>}:held:<worker>``: set: the targets a worker holds (claimed or in
  flight), for the reaper.

Nothing expires on its own: a campaign's record is kept until `RedisJournal.delete`.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import attrs

from ._errors import ValidationError
from ._eventloop import on_asyncio
from ._journal import Claim, GroupedWrites, JournalRow, LostClaim
from ._redis_journal_lua import BEAT as _BEAT
from ._redis_journal_lua import CLAIM as _CLAIM
from ._redis_journal_lua import REAP as _REAP
from ._redis_journal_lua import RECORD as _RECORD
from ._validate import check_seconds

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["OUTCOME_DELAY", "CampaignStatus", "RedisJournal"]

#: The longest an outcome waits to ride with the next in-flight mark's commit (seconds).
OUTCOME_DELAY = 0.5

log = logging.getLogger("kaizala_async.journal")


@attrs.frozen
class CampaignStatus:
    """A campaign's state, read from Redis without sending anything.

    ``counts``: targets per state (``sent``, ``failed``, ``unknown``, ``claimed``,
    ``in_flight``); ``workers``: each worker's held targets and whether its lease is live;
    ``oldest_in_flight``: seconds since the oldest in-flight mark (None: none in flight).
    """

    counts: dict[str, int]
    workers: dict[str, tuple[int, bool]]
    oldest_in_flight: float | None


class RedisJournal(GroupedWrites):
    """A fan-out journal in Redis, shared by every worker of one campaign (extra ``redis``).

    ``url``: the Redis server (``redis://host:6379/0``); ``campaign``: the campaign's name (the
    same for every worker); ``lease``: seconds a worker's claims outlive its last heartbeat (a
    worker silent that long is taken for dead: what it claimed is sent by another, what it had
    in flight becomes unknown). Give it where a journal path goes:

        journal = RedisJournal("redis://cache:6379/0", "store-closing-2026-12")
        report = await client.fan_out(group_ids, text="Store closes at 6", journal=journal)

    Every worker sends the same text or action (checked before anything is sent); a target is
    sent by one worker only; a worker that joins after the end sends nothing.
    """

    claim_batch = 100
    shared = True

    def __init__(
        self,
        url: str,
        campaign: str,
        *,
        lease: float = 30.0,
        client: Redis | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(url, str) or urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
            raise ValidationError("url", "must be a redis://, rediss:// or unix:// URL")
        if not isinstance(campaign, str) or not campaign or any(c in campaign for c in "{}\n"):
            raise ValidationError("campaign", "must be a non-empty name without braces")
        self._url = url
        self.campaign = campaign
        self.lease = check_seconds(lease, "lease")
        if self.lease < 1.0:
            raise ValidationError("lease", "must be at least 1 second")
        self.sweep_interval = self.lease / 3
        self.worker = uuid.uuid4().hex[:12]
        base = f"kaizala:journal:{{{campaign}}}"
        self._keys = [f"{base}:state", f"{base}:workers"]
        self._meta = f"{base}:meta"
        self._held = f"{base}:held:"
        self._given = client
        self._client: Redis | None = client
        self._scripts: dict[str, Any] = {}
        self._started_ms = 0
        self._stopped = anyio.Event()
        self._lost: set[str] = set()  # targets whose in-flight mark was refused
        #: Requests made to Redis so far (each script call is one round trip).
        self.round_trips = 0

    def __repr__(self) -> str:
        parts = urlsplit(self._url)
        where = f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
        return f"RedisJournal({where!r}, {self.campaign!r}, worker={self.worker!r})"

    # -- the engine's calls --------------------------------------------------------------------
    async def start(self, fingerprint: str) -> None:
        """Connect, check the campaign sends this payload, read the server's durability. A
        journal object given to a second run starts it as a new worker."""
        if not on_asyncio():
            raise ValidationError(
                "journal",
                "RedisJournal runs on asyncio only: redis-py's client is asyncio's; under trio, "
                "use a journal file",
            )
        if self._started_ms:
            GroupedWrites.__init__(self)
            self._stopped = anyio.Event()
            self._lost.clear()
            self.worker = uuid.uuid4().hex[:12]
        redis = self._redis()
        found = await self._retrying(redis.hsetnx, self._meta, "payload", fingerprint)
        if not found:
            stored = await self._retrying(redis.hget, self._meta, "payload")
            if stored is not None and stored.decode() != fingerprint:
                raise ValidationError(
                    "journal",
                    f"campaign {self.campaign!r} sends a different message; every worker must "
                    "send the same one (use a new campaign name for a new message)",
                )
        seconds, micros = await self._retrying(redis.time)
        self._started_ms = int(seconds) * 1000 + int(micros) // 1000
        await _check_durability(redis, self._url)

    async def claim(self, group_ids: list[str], may_retake: set[str]) -> list[Claim]:
        args: list[Any] = [self.worker, self._started_ms, int(self.lease * 1000), self._held]
        for group_id in group_ids:
            args += [group_id, "1" if group_id in may_retake else "0"]
        answer = await self._retrying(self._script("claim"), keys=self._keys, args=args)
        claims = []
        for n, group_id in enumerate(group_ids):
            state, extra = answer[2 * n].decode(), answer[2 * n + 1].decode()
            if state == "sent":
                claims.append(Claim(group_id, "sent", False, reference=extra or None))
            elif state == "held":
                claims.append(Claim(group_id, "held", False, holder=extra))
            else:
                mapped = None if state == "new" else state
                claims.append(Claim(group_id, mapped, extra == "1"))
        return claims

    async def _store(self, rows: list[JournalRow]) -> None:
        args: list[Any] = [self.worker, self._held]
        for state, group_id, reference, _ in rows:
            args += [state, group_id, reference or ""]
        lost = await self._retrying(self._script("record"), keys=self._keys, args=args)
        if lost:
            self._lost.update(g.decode() for g in lost)

    async def write(self, row: JournalRow) -> None:
        """An in-flight mark is committed before this returns (the request waits for it); an
        outcome rides with the next commit, at most ``OUTCOME_DELAY`` later, so a send costs
        one round trip more than its share of a claim. A worker killed in between leaves that
        target in flight: reported unknown, never sent twice."""
        if row[0] != "inflight":
            self._pending.append(row)
            return
        await super().write(row)
        if row[1] in self._lost:
            self._lost.discard(row[1])
            raise LostClaim(row[1])

    async def run_writer(self) -> None:
        """Commit queued rows: at once for an in-flight mark, within ``OUTCOME_DELAY`` for
        outcomes; until `stop` and nothing is left."""
        while True:
            # Woken by an in-flight mark or stop(); else every OUTCOME_DELAY, for the outcomes
            # queued meanwhile (nothing queued: no round trip).
            with anyio.move_on_after(OUTCOME_DELAY):
                await self._wakeup.wait()
            self._wakeup = anyio.Event()
            await self.flush()
            if self._closing and not self._pending:
                return

    async def sweep(self) -> tuple[list[str], list[str], bool]:
        args = [self.worker, int(self.lease * 1000), self._held, self.claim_batch]
        busy, taken, lost = await self._retrying(self._script("reap"), keys=self._keys, args=args)
        return [g.decode() for g in taken], [g.decode() for g in lost], bool(busy)

    async def run_heartbeat(self) -> None:
        """Renew this worker's lease every third of it until the run stops."""
        while not self._stopped.is_set():
            with anyio.move_on_after(self.lease / 3):
                await self._stopped.wait()
            if self._stopped.is_set():
                return
            args = [self.worker, int(self.lease * 1000)]
            await self._retrying(self._script("beat"), keys=self._keys, args=args)

    def stop(self) -> None:
        super().stop()
        self._stopped.set()

    async def aclose(self) -> None:
        """End this worker's lease (what it still holds is taken over at once) and disconnect
        (a Redis client passed in is left open)."""
        client, self._client = self._client, self._given
        if client is None:
            return
        try:
            with anyio.move_on_after(5):
                await client.zadd(self._keys[1], {self.worker: 0})
        except Exception as exc:  # the lease lapses anyway; closing must not fail for it
            log.warning("could not end the journal lease: %s", type(exc).__name__)
        finally:
            self._scripts.clear()
            if client is not self._given:
                await client.aclose()

    # -- reading and removing a campaign -------------------------------------------------------
    async def status(self) -> CampaignStatus:
        """Counts per state, per worker, and the age of the oldest in-flight mark."""
        redis = self._redis()
        seconds, micros = await redis.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        names = {"S": "sent", "F": "failed", "U": "unknown", "C": "claimed", "I": "in_flight"}
        counts = dict.fromkeys(names.values(), 0)
        oldest: int | None = None
        async for _, raw in redis.hscan_iter(self._keys[0], count=1000):
            value = raw.decode()
            counts[names.get(value[:1], "unknown")] += 1
            if value.startswith("I|"):
                marked = int(value.rsplit("|", 1)[1])
                oldest = marked if oldest is None else min(oldest, marked)
        workers = {}
        leases: list[Any] = await redis.zrange(self._keys[1], 0, -1, withscores=True)
        for raw, deadline in leases:
            name = raw.decode()
            workers[name] = (int(await redis.scard(self._held + name)), float(deadline) >= now_ms)
        age = None if oldest is None else (now_ms - oldest) / 1000
        return CampaignStatus(counts=counts, workers=workers, oldest_in_flight=age)

    async def delete(self) -> None:
        """Remove every key of the campaign (its record is gone: a rerun sends everything)."""
        redis = self._redis()
        keys = [k async for k in redis.scan_iter(f"kaizala:journal:{{{self.campaign}}}:*")]
        if keys:
            await redis.delete(*keys)

    # -- plumbing --------------------------------------------------------------------------
    def _redis(self) -> Redis:
        if self._client is None:
            try:
                from redis.asyncio import Redis
            except ImportError:
                raise ValidationError(
                    "journal", 'RedisJournal needs the redis extra: pip install ".[redis]"'
                ) from None
            self._client = Redis.from_url(
                self._url,
                socket_timeout=10,
                socket_connect_timeout=5,
                client_name=CLIENT_NAME,
            )
        return self._client

    def _script(self, name: str) -> Any:
        script = self._scripts.get(name)
        if script is None:
            source = {"claim": _CLAIM, "record": _RECORD, "reap": _REAP, "beat": _BEAT}[name]
            script = self._scripts[name] = self._redis().register_script(source)
        return script

    async def _retrying(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """``call``, again while Redis cannot be reached (up to five minutes): no send goes
        without its record, so workers wait for Redis rather than go on without it."""
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        deadline = time.monotonic() + 300
        pause = 0.1
        while True:
            try:
                self.round_trips += 1
                return await call(*args, **kwargs)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if time.monotonic() > deadline:
                    raise
                log.warning("the journal's Redis is unreachable (%s); retrying in %.1f s",
                            type(exc).__name__, pause,
                            extra={"kaizala_event": "kaizala.journal.unreachable"})  # fmt: skip
                await anyio.sleep(pause)
                pause = min(2.0, pause * 2)


_WARNED: set[str] = set()


async def _check_durability(redis: Redis, url: str) -> None:
    """Warn once per server when a Redis crash could lose in-flight records (docs: "Durability")."""
    if url in _WARNED:
        return
    try:
        appendonly = (await redis.config_get("appendonly")).get("appendonly")
        fsync = (await redis.config_get("appendfsync")).get("appendfsync")
    except Exception:  # CONFIG is often disabled on managed servers
        appendonly = fsync = None
    if appendonly == "yes" and fsync == "always":
        return
    _WARNED.add(url)
    said = (
        "unknown (CONFIG GET refused)"
        if appendonly is None
        else (f"appendonly={appendonly}, appendfsync={fsync}")
    )
    log.warning(
        "the journal's Redis (%s) may lose in-flight records in a crash: a send whose mark was "
        "lost could be sent again; use appendonly yes with appendfsync always for exactly-once",
        said, extra={"kaizala_event": "kaizala.journal.not_durable"},
    )  # fmt: skip


#: The name this journal's connections carry in Redis's ``CLIENT LIST``.
CLIENT_NAME = "kaizala-journal"


def from_url(value: str) -> RedisJournal:
    """``redis://host:6379/0#campaign`` (the command line's ``--journal``) as a journal."""
    url, _, campaign = value.partition("#")
    if not campaign:
        raise ValidationError("journal", "a Redis journal names its campaign: redis://host/0#name")
    return RedisJournal(url, campaign)
