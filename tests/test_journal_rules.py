"""The sqlite journal on its own (``_journal``): what a claim says of each state, what is refused
at open and why, and the grouped writes both journals share (a commit is never cut short by a
cancellation)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import anyio
import pytest

from kaizala_async import ValidationError
from kaizala_async._journal import Claim, GroupedWrites, Journal, JournalRow


def test_a_claim_says_what_the_journal_holds_of_each_target(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "run.db")
    journal.open("payload-1")
    try:
        journal._commit(
            [("sent", "g-sent", "ref-1", None), ("failed", "g-failed", None, "HTTP 500"),
             ("inflight", "g-inflight", None, None), ("unknown", "g-unknown", None, "timeout")]
        )  # fmt: skip
        claims = asyncio.run(
            journal.claim(
                ["g-sent", "g-failed", "g-inflight", "g-unknown", "g-new"], may_retake={"g-unknown"}
            )
        )
    finally:
        journal.close()
    assert claims == [
        Claim("g-sent", "sent", False, "ref-1"),  # never again
        Claim("g-failed", "failed", True),  # tried again
        Claim("g-inflight", "unknown", False),  # may have arrived: not without being asked
        Claim("g-unknown", "unknown", True),  # asked to resend (or settle) it
        Claim("g-new", None, True),
    ]
    assert asyncio.run(journal.sweep()) == ([], [], False)  # one process: nothing to sweep


def _refused(path: Path) -> ValidationError:
    journal = Journal(path)
    with pytest.raises(ValidationError) as caught:
        journal.open("payload")
    journal.close()
    assert caught.value.argument == "journal"
    return caught.value


def test_what_is_not_a_journal_file_is_refused_by_name_and_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    link = tmp_path / "link.db"
    link.symlink_to(target)  # dangling: it would put the journal in another folder
    assert str(_refused(link)).endswith(f"{link} is a symbolic link; give the journal's own path")
    assert not target.exists()
    assert str(_refused(Path("/dev/null"))).endswith(
        "is not a usable journal file: not a regular file (/dev/null)"
    )
    folder = tmp_path / "folder.db"
    folder.mkdir()
    assert "is not a usable journal file: Is a directory" in str(_refused(folder))

    other = tmp_path / "other-app.db"
    with contextlib.closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
        db.commit()
    before = other.read_bytes()
    assert str(_refused(other)).endswith(
        "is another application's database, not a fan-out journal; it was left untouched "
        "(give a new file's path)"
    )
    assert other.read_bytes() == before

    marked = tmp_path / "marked.db"
    with contextlib.closing(sqlite3.connect(marked)) as db:
        db.execute("PRAGMA application_id = 12345")  # another application's own marker
        db.commit()
    assert "another application's database" in str(_refused(marked))


def test_a_journal_of_an_earlier_release_is_adopted_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.commit()
    journal = Journal(path)
    journal.open("payload")
    journal.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x4B5A464F


class _SlowStore(GroupedWrites):
    def __init__(self) -> None:
        super().__init__()
        self.stored: list[JournalRow] = []

    async def _store(self, rows: list[JournalRow]) -> None:
        await anyio.sleep(0.05)  # a commit's round trip (Redis) or fsync (a file)
        self.stored.extend(rows)


def test_a_commit_under_way_is_not_cut_short_by_a_cancellation() -> None:
    """A fan-out cancelled (Ctrl-C) while its rows are being committed: the commit completes,
    so a row the engine was told is durable is."""
    writes = _SlowStore()

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(writes.run_writer)
            writes.write_soon(("inflight", "g1", None, None))
            await anyio.sleep(0.01)  # the writer is inside the commit now
            tg.cancel_scope.cancel()

    asyncio.run(main())
    assert writes.stored == [("inflight", "g1", None, None)]


def test_each_writer_waits_for_the_commit_that_holds_its_row() -> None:
    writes = _SlowStore()
    done: list[str] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(writes.run_writer)

            async def writer(name: str) -> None:
                await writes.write(("sent", name, None, None))
                done.append(name)
                assert ("sent", name, None, None) in writes.stored  # committed before it returns

            for name in ("a", "b", "c"):
                tg.start_soon(writer, name)
            await anyio.sleep(0.2)
            writes.stop()

    asyncio.run(main())
    assert sorted(done) == ["a", "b", "c"]
