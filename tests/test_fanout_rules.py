"""The finer rules of a fan-out, each one something its user reads in the report, the progress
or the journal: how each failure is classified, how busy answers are retried, what a rerun does
with each journal state, the arguments refused, the counts passed to ``on_progress``."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

import kaizala_async as k
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault
from tests.vtime import run_virtual

TEXT = "Store closes at 6"


def journal_rows(path: Path) -> dict[str, tuple[str, str | None, str | None]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT group_id, state, reference_id, detail FROM targets")
        return {g: (s, r, d) for g, s, r, d in rows}


def test_each_kind_of_failure_has_its_outcome_and_journal_row(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"

    async def main() -> tuple[k.FanOutReport, list[k.FanOutProgress], dict[str, int]]:
        async with Emulator() as emu, emu.client(timeout=5.0) as client:
            ok, busy, broken, missing = [*emu.create_groups(3), "no-such-group@1"]
            emu.inject(Fault(route=f"POST /v1/groups/{busy}/messages", error_rate=1.0))
            emu.inject(Fault(route=f"POST /v1/groups/{broken}/messages", error_rate=1.0,
                             error_status=500))  # fmt: skip
            seen: list[k.FanOutProgress] = []
            report = await client.fan_out([ok, busy, broken, missing, (ok, "")], text=TEXT,
                                          journal=journal, on_progress=seen.append,
                                          keep_outcomes=True, concurrency=1)  # fmt: skip
            return report, seen, emu.stats()["messagesPerGroup"]

    report, progress, _per_group = run_virtual(main)
    assert (report.sent, report.failed, report.skipped, report.unknown) == (1, 3, 0, 1)
    assert report.total == 5 and not report.ok
    assert [f.group_id for f in report.failures] == [o.group_id for o in report
                                                     if isinstance(o, k.Failed)]  # fmt: skip
    assert [u.group_id for u in report.unknowns] == [o.group_id for o in report
                                                     if isinstance(o, k.Unknown)]  # fmt: skip
    rows = journal_rows(journal)
    for outcome in report:
        if isinstance(outcome, k.Sent):
            assert rows[outcome.group_id] == ("sent", outcome.reference_id, None)
        elif isinstance(outcome, k.Unknown):  # the 500: the service may have acted
            assert "500" in outcome.reason and not outcome.from_journal
            assert rows[outcome.group_id] == ("unknown", None, outcome.reason)
        elif isinstance(outcome.error, k.ServerError):  # 503 three times: retriable
            assert outcome.retriable and outcome.error.status == 503
            assert rows[outcome.group_id] == ("failed", None, "ServerError")
        elif isinstance(outcome.error, k.NotFoundError):
            assert not outcome.retriable
            assert rows[outcome.group_id] == ("failed", None, "NotFoundError")
        else:  # the pair with an empty text: refused before any send, never journaled
            assert isinstance(outcome.error, k.ValidationError) and not outcome.retriable
            assert outcome.error.argument == "targets"
    assert len(rows) == 4
    assert [p.done for p in progress] == [1, 2, 3, 4, 5]
    last = progress[-1]
    assert (last.sent, last.failed, last.skipped, last.unknown, last.in_flight) == (1, 3, 0, 1, 0)
    assert 0 < last.elapsed < 60 and last.rate == pytest.approx(1 / last.elapsed)
    sent = next(o for o in report if isinstance(o, k.Sent))
    assert isinstance(sent.reference_id, str) and sent.reference_id
    assert all(b.elapsed >= a.elapsed for a, b in itertools.pairwise(progress))


def test_busy_answers_are_tried_three_times_half_a_second_then_a_second_apart() -> None:
    async def main() -> tuple[k.FanOutReport, list[float]]:
        unpaced = k.RateLimits.unlimited()  # the gaps are the retry waits alone
        async with Emulator() as emu, emu.client(limits=unpaced) as client:
            [busy] = emu.create_groups(1)
            emu.inject(Fault(route=f"POST /v1/groups/{busy}/messages", error_rate=1.0,
                             error_status=502, times=2))  # fmt: skip
            report = await client.fan_out([busy], text=TEXT)
            sends = [c for c in emu.calls() if c["route"] == "T1"]
            return report, [c["at"] for c in sends]

    report, times = run_virtual(main)
    assert (report.sent, report.failed) == (1, 0)  # the third attempt went through
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] == pytest.approx(0.5, abs=0.05) and gaps[1] == pytest.approx(1.0, abs=0.05)


def test_what_a_rerun_does_with_each_state_an_earlier_run_left(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"

    async def main() -> tuple[list[k.FanOutReport], dict[str, int], list[str]]:
        async with Emulator() as emu, emu.client(timeout=5.0) as client:
            ids = emu.create_groups(4)
            _sent, failed, unknown, asked = ids
            emu.inject(Fault(route=f"POST /v1/groups/{failed}/messages", error_rate=1.0,
                             error_status=400, times=1))  # fmt: skip
            for group in (unknown, asked):
                emu.inject(Fault(route=f"POST /v1/groups/{group}/messages", error_rate=1.0,
                                 error_status=500, times=1))  # fmt: skip
            first = await client.fan_out(ids, text=TEXT, journal=journal, keep_outcomes=True)
            second = await client.fan_out(ids, text=TEXT, journal=journal, keep_outcomes=True,
                                          resend=[asked])  # fmt: skip
            third = await client.fan_out(ids, text=TEXT, journal=journal, keep_outcomes=True,
                                         resend_unknown=True)  # fmt: skip
            return [first, second, third], emu.stats()["messagesPerGroup"], ids

    (first, second, third), per_group, ids = run_virtual(main)
    sent, failed, unknown, asked = ids
    assert (first.sent, first.failed, first.unknown) == (1, 1, 2)
    again = {o.group_id: o for o in second}
    assert again[sent] == k.Skipped(group_id=sent, reason="already sent", from_journal=True,
                                    reference_id=next(o.reference_id for o in first
                                                      if isinstance(o, k.Sent)))  # fmt: skip
    assert isinstance(again[failed], k.Sent)  # a failure is tried again
    assert again[unknown] == k.Unknown(
        group_id=unknown,
        reason="its fate is unknown since an earlier run; resend=[...] resends it",
        from_journal=True,
    )
    assert isinstance(again[asked], k.Sent)  # listed in resend=
    last = {o.group_id: o for o in third}
    assert isinstance(last[unknown], k.Sent)  # resend_unknown=True
    assert all(isinstance(last[g], k.Skipped) for g in (sent, failed, asked))
    assert (third.skipped, third.sent, third.ok) == (3, 1, True)
    # the emulator answers an injected error before acting: each group holds one message
    assert per_group == dict.fromkeys(ids, 1)


def test_a_repeated_target_is_skipped_only_while_its_first_send_is_under_way() -> None:
    async def main() -> tuple[k.FanOutReport, dict[str, int]]:
        async with Emulator() as emu, emu.client() as client:
            [group, other] = emu.create_groups(2)
            emu.inject(Fault(route=f"POST /v1/groups/{group}/messages", latency=5.0))
            report = await client.fan_out([group, group, other, *[other] * 0], text=TEXT,
                                          keep_outcomes=True, concurrency=2)  # fmt: skip
            return report, emu.stats()["messagesPerGroup"]

    report, per_group = run_virtual(main)
    assert [type(o).__name__ for o in report] == ["Skipped", "Sent", "Sent"]
    assert next(iter(report)) == k.Skipped(group_id=next(iter(per_group)), reason="repeated target")
    assert sum(per_group.values()) == 2


def test_malformed_targets_fail_alone_and_name_themselves() -> None:
    async def main() -> k.FanOutReport:
        async with Emulator() as emu, emu.client() as client:
            [group] = emu.create_groups(1)
            long_pair = (group, TEXT, "x" * 200)
            targets: list[Any] = [long_pair, None, [7] * 100, (group, 7), group]
            return await client.fan_out(targets, text=TEXT, keep_outcomes=True)

    report = run_virtual(main)
    failed = [o for o in report if isinstance(o, k.Failed)]
    ids = [f.group_id for f in failed]
    assert ids[0] == repr((ids[3], TEXT, "x" * 200))[:80]  # shown, cut to 80 characters
    assert ids[1:3] == ["None", repr([7] * 100)[:80]]
    assert ids[3] == next(o.group_id for o in report if isinstance(o, k.Sent))
    assert [str(f.error) for f in failed][:1] == [
        "targets: a pair must be (group id, text or action)"
    ]
    assert all(isinstance(f.error, k.ValidationError) and f.error.argument == "targets"
               and not f.retriable for f in failed)  # fmt: skip
    assert report.sent == 1


@pytest.mark.parametrize(
    ("kwargs", "argument", "reason"),
    [
        ({"clients": []}, "clients", "give at least one client"),
        ({"text": None}, "text", "give exactly one of text and action"),
        (
            {"action": k.AnnouncementAction(message="b")},
            "text",
            "give exactly one of text and action",
        ),
        ({"text": ""}, "text", "must be a non-empty string"),
        ({"concurrency": 0}, "concurrency", "must be a whole number of at least 1"),
        ({"targets": "g1"}, "targets", "must be an iterable of group ids, not one string"),
        ({"targets": b"g1"}, "targets", "must be an iterable of group ids, not one string"),
        ({"targets": 5}, "targets", "must be an iterable or async iterable of group ids"),
        ({"resend": "g1"}, "resend", "must be a collection of group ids, not one string"),
        ({"resend": ["g1", ".."]}, "resend", "'..' is not an id (it is a relative path step)"),
    ],
)
def test_arguments_refused_before_anything_is_sent(
    kwargs: dict[str, Any], argument: str, reason: str
) -> None:
    async def main() -> int:
        async with Emulator() as emu, emu.client() as client:
            given: dict[str, Any] = {"clients": [client], "targets": ["g1"], "text": TEXT}
            given.update(kwargs)
            clients, targets = given.pop("clients"), given.pop("targets")
            with pytest.raises(k.ValidationError) as caught:
                await k.fan_out(clients, targets, **given)
            assert (caught.value.argument, caught.value.reason) == (argument, reason)
            with pytest.raises(k.ValidationError) as caught:
                async with k.fan_out_stream(clients, targets, **given):
                    pass  # pragma: no cover
            assert (caught.value.argument, caught.value.reason) == (argument, reason)
            return len([c for c in emu.calls() if c["route"] == "T1"])

    assert run_virtual(main) == 0


def test_a_report_without_kept_outcomes_says_how_to_keep_them() -> None:
    report = k.FanOutReport()
    report.add(k.Sent(group_id="g", reference_id="r"))
    with pytest.raises(ValueError, match=r"^outcomes were not kept: pass keep_outcomes=True"):
        iter(report)
    assert report.ok and report.total == 1
    assert not k.FanOutReport(failed=1).ok and not k.FanOutReport(unknown=1).ok
    assert k.FanOutProgress(done=0, sent=0, failed=0, skipped=0, unknown=0, in_flight=0,
                            elapsed=0.0).rate == 0.0  # fmt: skip


async def test_one_client_keeps_eight_sends_in_flight_by_default() -> None:
    # On the real clock: in virtual time the loop would jump the sends' latency while the
    # journal's thread commits their "in flight" rows, and they would never overlap.
    async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
        ids = emu.create_groups(24)
        emu.inject(Fault(route="POST /v1/groups/*/messages", latency=0.5))
        peak = 0

        def watch(progress: k.FanOutProgress) -> None:
            nonlocal peak
            peak = max(peak, progress.in_flight)

        await client.fan_out(ids, text=TEXT, on_progress=watch)
    assert peak == 7  # eight in flight; the one reporting has just finished


def test_the_module_functions_keep_no_outcomes_and_resend_no_unknown_by_default(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "run.db"

    async def main() -> tuple[k.FanOutReport, k.FanOutReport, int]:
        async with Emulator() as emu, emu.client(timeout=5.0) as client:
            [group] = emu.create_groups(1)
            emu.inject(Fault(route=f"POST /v1/groups/{group}/messages", error_rate=1.0,
                             error_status=500, times=1))  # fmt: skip
            first = await k.fan_out([client], [group], text=TEXT, journal=journal)
            second = await k.fan_out([client], [group], text=TEXT, journal=journal)
            async with k.fan_out_stream([client], [group], text=TEXT, journal=journal) as stream:
                outcomes = [o async for o in stream]
            assert [type(o) for o in outcomes] == [k.Unknown]
            reports = [first, second, stream.report]
            return reports, len([c for c in emu.calls() if c["route"] == "T1"])

    reports, sends = run_virtual(main)
    assert [r.outcomes for r in reports] == [None, None, None]
    assert [r.unknown for r in reports] == [1, 1, 1] and sends == 1  # never sent twice
    first = reports[0]
    assert 0.0 < first.elapsed < 60.0


def test_a_throttled_send_is_a_retriable_failure() -> None:
    async def main() -> tuple[k.FanOutReport, str]:
        async with Emulator() as emu, emu.client(max_retry_after=0.5) as client:
            [group] = emu.create_groups(1)
            emu.inject(Fault(route=f"POST /v1/groups/{group}/messages", error_rate=1.0,
                             error_status=429))  # fmt: skip
            return await client.fan_out([group], text=TEXT, keep_outcomes=True), group

    report, group = run_virtual(main)
    [outcome] = list(report)
    assert isinstance(outcome, k.Failed) and isinstance(outcome.error, k.ThrottledError)
    assert outcome.retriable and outcome.group_id == group


#: What journals written so far hold as their payload's fingerprint (sha256 of the canonical
#: JSON describing the text or action): a rerun with a journal an earlier version wrote must
#: still be accepted. Changing how the fingerprint is computed strands every journal on disk.
JOURNAL_FORMAT: list[tuple[k.Payload, str]] = [
    (TEXT, "66c416f8aab66eb5adf805ab834a0898d3d965ef839c9ca07d621326bf2b18be"),
    (k.PollAction(question="Lunch?", choices=["Yes", "No"]),
     "3b88690859eb93c64a0f5c45e06ab546cb8129210c34e09c9e3ddbc6833e1c05"),
    (k.CustomAction(package_id="pkg.1",
                    properties=[k.ActionProperty(name="a", type="Text", value="1")]),
     "b8067e90755afc63924f9620fba724ea88d2132cf7052fb239991fa09f81c8b2"),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "fingerprint"), JOURNAL_FORMAT)
def test_journals_written_by_earlier_versions_are_still_accepted(
    tmp_path: Path, payload: k.Payload, fingerprint: str
) -> None:
    journal = tmp_path / "earlier.db"
    with sqlite3.connect(journal) as db:
        db.executescript(
            "CREATE TABLE targets (group_id TEXT PRIMARY KEY, state TEXT NOT NULL, reference_id "
            "TEXT, detail TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL);"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        )
        db.execute("INSERT INTO meta VALUES ('payload', ?)", (fingerprint,))
        db.execute("INSERT INTO targets VALUES ('g-done', 'sent', 'ref-1', NULL, 1, 0)")
    journal.chmod(0o600)
    other = k.AnnouncementAction(message="another message")

    async def main() -> tuple[k.FanOutReport, str]:
        async with Emulator() as emu, emu.client() as client:
            text = {"text": payload} if isinstance(payload, str) else {"action": payload}
            report = await client.fan_out(["g-done"], journal=journal, keep_outcomes=True, **text)
            with pytest.raises(k.ValidationError) as caught:
                await client.fan_out(["g-done"], journal=journal, action=other)
            assert caught.value.reason == (
                "was written for a different message; use a new journal file for a new message"
            )
            with pytest.raises(k.ValidationError) as caught:
                await client.fan_out(["g-done"], journal=tmp_path, **text)  # a directory
            assert caught.value.argument == "journal"
            assert caught.value.reason.startswith("is not a usable journal file: ")
            return report, caught.value.argument

    report, refused = run_virtual(main)
    assert list(report) == [k.Skipped(group_id="g-done", reason="already sent",
                                      reference_id="ref-1", from_journal=True)]  # fmt: skip
    assert refused == "journal"


def test_a_target_repeated_after_its_send_ended_is_skipped_as_already_sent() -> None:
    async def main() -> tuple[list[k.Outcome], list[str]]:
        async with Emulator() as emu, emu.client() as client:
            group, a, b = emu.create_groups(3)
            # one at a time: the producer reads the second `group` only once `group` is done
            report = await client.fan_out([group, a, b, group], text=TEXT, keep_outcomes=True,
                                          concurrency=1)  # fmt: skip
            return list(report), [group, a, b]

    outcomes, (group, _, _) = run_virtual(main)
    first = next(o for o in outcomes if isinstance(o, k.Sent) and o.group_id == group)
    [skipped] = [o for o in outcomes if isinstance(o, k.Skipped)]
    assert skipped == k.Skipped(group_id=group, reason="already sent",
                                     reference_id=first.reference_id, from_journal=True)  # fmt: skip


def test_a_fan_out_waits_for_its_slots_whatever_max_wait_the_client_has() -> None:
    async def main() -> k.FanOutReport:
        async with Emulator() as emu, emu.client(limits=k.RateLimits(max_wait=0.01)) as client:
            return await client.fan_out(emu.create_groups(12), text=TEXT)

    report = run_virtual(main)
    assert (report.sent, report.failed) == (12, 0)  # 12 slots 0.6 s apart: far beyond 0.01 s


def test_a_long_list_of_targets_lets_other_tasks_run_while_it_is_read() -> None:
    async def main() -> list[int]:
        ticks = 0
        seen: list[int] = []

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await anyio.lowlevel.checkpoint()

        async with Emulator() as emu, emu.client() as client, anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            # 1,000 malformed targets: each fails at once, without any await of its own
            report = await client.fan_out([""] * 1000, text=TEXT,
                                          on_progress=lambda p: seen.append(ticks))  # fmt: skip
            tg.cancel_scope.cancel()
            assert report.failed == 1000
            return seen

    seen = run_virtual(main)
    assert seen[-1] - seen[0] >= 3  # the reader let the ticker run every 256 targets
