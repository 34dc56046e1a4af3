"""The fan-out journal: one sqlite3 row per target, written before and after each send.

A row says ``inflight`` before the request may leave, then ``sent`` (with the reference id),
``failed`` or ``unknown``. Commits are grouped (every worker waiting on the same commit) and, for
a user's journal file, durable: WAL with ``synchronous=FULL`` fsyncs each commit. A rerun reads
the rows back: ``sent`` targets are skipped, ``inflight``/``unknown`` ones are left alone unless
the caller opts in, ``failed`` ones are tried again.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Protocol

import anyio
import attrs

from ._errors import ValidationError

__all__ = ["Claim", "GroupedWrites", "Journal", "JournalBackend", "JournalRow", "LostClaim"]

#: ``PRAGMA application_id`` of a journal ("KZFO"): how a journal file is told from any other
#: sqlite database before anything in it is changed.
_MARKER = 0x4B5A464F

#: (state, group_id, reference_id, detail)
JournalRow = tuple[str, str, str | None, str | None]


@attrs.frozen
class Claim:
    """What a journal says of a target when a worker comes to it.

    ``state`` is what it held: None (never tried), ``"sent"``, ``"failed"`` (by an earlier run:
    tried again), ``"unknown"`` (its fate is unknown), ``"held"`` (another live worker has it),
    ``"failed-now"`` (another worker of this run failed it), ``"mine"`` (this worker has it
    already). ``claimed``: this worker may send it (or settle it) now.
    """

    group_id: str
    state: str | None
    claimed: bool
    reference: str | None = None
    holder: str | None = None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS targets (
    group_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    reference_id TEXT,
    detail TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class LostClaim(Exception):
    """A target's in-flight mark was refused: another worker took it over (this worker's lease
    lapsed). Raised before the request leaves; the target is not sent from here."""


class JournalBackend(Protocol):
    """What the fan-out engine asks of a journal: the sqlite file (`Journal`) or a
    campaign in Redis (`RedisJournal`)."""

    claim_batch: int
    shared: bool
    sweep_interval: float

    async def start(self, fingerprint: str) -> None: ...
    async def claim(self, group_ids: list[str], may_retake: set[str]) -> list[Claim]: ...
    async def write(self, row: JournalRow) -> None: ...
    def write_soon(self, row: JournalRow) -> None: ...
    async def run_writer(self) -> None: ...
    async def run_heartbeat(self) -> None: ...
    async def flush(self) -> None: ...
    def stop(self) -> None: ...
    async def sweep(self) -> tuple[list[str], list[str], bool]: ...
    async def aclose(self) -> None: ...


class GroupedWrites:
    """Rows queued by many workers and committed together, each writer waiting for the commit
    that holds its row (the journals' shared half)."""

    def __init__(self) -> None:
        self._pending: list[JournalRow] = []
        self._batch = 0
        self._events: dict[int, anyio.Event] = {}
        self._wakeup = anyio.Event()
        self._closing = False

    async def _store(self, rows: list[JournalRow]) -> None:
        raise NotImplementedError

    async def write(self, row: JournalRow) -> None:
        """Queue ``row`` and wait until the commit holding it is done (durable for a file)."""
        self.write_soon(row)
        event = self._events.setdefault(self._batch, anyio.Event())
        await event.wait()

    def write_soon(self, row: JournalRow) -> None:
        """Queue ``row`` for the next commit without waiting (used while being cancelled)."""
        self._pending.append(row)
        self._wakeup.set()

    async def run_writer(self) -> None:
        """Commit queued rows in groups until `stop` and nothing is left."""
        while True:
            await self._wakeup.wait()
            self._wakeup = anyio.Event()
            await self.flush()
            if self._closing and not self._pending:
                return

    async def flush(self) -> None:
        rows, self._pending = self._pending, []
        batch, self._batch = self._batch, self._batch + 1
        event = self._events.pop(batch, None)
        if rows:
            with anyio.CancelScope(shield=True):
                await self._store(rows)
        if event is not None:
            event.set()

    def stop(self) -> None:
        self._closing = True
        self._wakeup.set()


class Journal(GroupedWrites):
    """A journal file (``path``) or, with ``path=None``, a throw-away one in a temporary folder.

    One process uses it at a time; `RedisJournal` is the one a fleet of
    workers shares. Both answer the engine's calls: ``start``, ``claim``, ``write``, ``sweep``,
    ``aclose``.
    """

    #: Targets claimed per call (a lookup in a local file: one at a time).
    claim_batch = 1
    #: Workers sharing the journal (a file: this one only).
    shared = False
    sweep_interval = 0.0

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="kaizala-fanout-")
            self.path = Path(self._temporary.name) / "journal.db"
        else:
            self.path = Path(path).expanduser()
        self.durable = path is not None
        super().__init__()
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    # -- opening and closing ---------------------------------------------------------------
    def open(self, fingerprint: str) -> None:
        """Create or reopen the file (mode 0600) and check it was written for this payload.

        Refused, with the file left untouched: a symbolic link at the path (dangling or not: it
        would put the journal somewhere else), anything but a regular file, and a database that
        is not a fan-out journal (another application's, given by mistake).
        """
        self._create()
        uri = f"file:{urllib.parse.quote(str(self.path.absolute()))}?nofollow=1"
        try:
            self._writer = sqlite3.connect(
                uri, uri=True, check_same_thread=False, isolation_level=None
            )
            self._adopt(self._writer)
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'OFF'}")
            self._writer.executescript(_SCHEMA)
            self._reader = sqlite3.connect(uri, uri=True)  # read in the event loop's thread only
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ValidationError("journal", f"is not a usable journal file: {exc}") from None
        except ValidationError:
            self.close()
            raise
        found = self._writer.execute("SELECT value FROM meta WHERE key = 'payload'").fetchone()
        if found is None:
            self._writer.execute(
                "INSERT INTO meta (key, value) VALUES ('payload', ?)", (fingerprint,)
            )
        elif found[0] != fingerprint:
            self.close()
            raise ValidationError(
                "journal",
                "was written for a different message; use a new journal file for a new message",
            )

    def _create(self) -> None:
        """Create the file if it is missing, never through a symbolic link; check what is there."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            if self.path.is_symlink():
                raise ValidationError(
                    "journal", f"{self.path} is a symbolic link; give the journal's own path"
                ) from None
            raise ValidationError(
                "journal", f"is not a usable journal file: {exc.strerror} ({self.path})"
            ) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValidationError(
                    "journal", f"is not a usable journal file: not a regular file ({self.path})"
                )
        finally:
            os.close(fd)

    @staticmethod
    def _adopt(connection: sqlite3.Connection) -> None:
        """Check the database is a journal (its marker) or empty, before changing anything in
        it; then mark it. A journal of an earlier release (our two tables, no marker) is
        marked too."""
        marker = connection.execute("PRAGMA application_id").fetchone()[0]
        if marker == _MARKER:
            return
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if marker != 0 or not tables <= {"targets", "meta"}:
            raise ValidationError(
                "journal",
                "is another application's database, not a fan-out journal; it was left "
                "untouched (give a new file's path)",
            )
        connection.execute(f"PRAGMA application_id = {_MARKER}")

    async def start(self, fingerprint: str) -> None:
        self.open(fingerprint)

    async def claim(self, group_ids: list[str], may_retake: set[str]) -> list[Claim]:
        """Each target's state; a target whose fate is unknown is claimed only if listed in
        ``may_retake`` (a resend, or a settling read)."""
        found = []
        for group_id in group_ids:
            known = self.lookup(group_id)
            state, reference = known if known is not None else (None, None)
            if state == "sent":
                found.append(Claim(group_id, "sent", False, reference))
            elif state in {"inflight", "unknown"}:
                found.append(Claim(group_id, "unknown", group_id in may_retake))
            else:
                found.append(Claim(group_id, state, True))
        return found

    async def sweep(self) -> tuple[list[str], list[str], bool]:
        """Targets workers that died had claimed (to send) and had in flight (now unknown),
        and whether other workers still hold targets (none of it for a file: one process)."""
        return [], [], False

    async def run_heartbeat(self) -> None:
        return None

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        for connection in (self._reader, self._writer):
            if connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    connection.close()
        self._reader = self._writer = None
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    # -- reading -----------------------------------------------------------------------------
    def lookup(self, group_id: str) -> tuple[str, str | None] | None:
        """(state, reference_id) of a target, from committed rows."""
        assert self._reader is not None
        row = self._reader.execute(
            "SELECT state, reference_id FROM targets WHERE group_id = ?", (group_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    async def _store(self, rows: list[JournalRow]) -> None:
        await anyio.to_thread.run_sync(self._commit, rows)

    def _commit(self, rows: list[JournalRow]) -> None:
        assert self._writer is not None
        now = time.time()
        self._writer.execute("BEGIN")
        self._writer.executemany(
            "INSERT INTO targets (group_id, state, reference_id, detail, attempts, updated) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(group_id) DO UPDATE SET "
            "state = excluded.state, reference_id = excluded.reference_id, "
            "detail = excluded.detail, attempts = targets.attempts + excluded.attempts, "
            "updated = excluded.updated",
            [
                (gid, state, ref, detail, 1 if state == "inflight" else 0, now)
                for state, gid, ref, detail in rows
            ],
        )
        self._writer.execute("COMMIT")
