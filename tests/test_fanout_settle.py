"""Fan-out reports that list every outcome, say where each came from, and settle unknowns."""

from __future__ import annotations

from pathlib import Path

import pytest

import kaizala_async as k
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault

SURVEY = k.SurveyAction(
    title="Ready for Monday?", questions=[k.SurveyQuestion(title="Why", type="Text")]
)


def _surveys(emu: Emulator, group: str) -> int:
    return sum(1 for a in emu.app.actions.actions.values() if a.group_id == group)


@pytest.fixture(autouse=True)
def quick_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-back waits 2 s for a request that did arrive to finish: scaled down here (these
    tests run on the real clock: the journal's commits run in a thread, which virtual time
    would skip across, expiring tokens)."""
    monkeypatch.setattr("kaizala_async._fanout_engine.SETTLE_DELAY", 0.01)


async def run(main):  # type: ignore[no-untyped-def]
    return await main()


@pytest.mark.parametrize("phase", ["after", "before"])
async def test_a_reset_action_send_is_settled_by_reading_the_group_back(phase: str) -> None:
    """Reset after processing: the survey is there, the target is Sent (settled), nothing is
    sent again. Reset before: it is not there, it is sent once more: exactly one in the group."""

    async def main() -> tuple[k.FanOutReport, int, int, set[tuple[str, str]]]:
        async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
            group, other = emu.create_groups(2)
            emu.inject(Fault(route=f"POST /v1/groups/{group}/actions", reset_rate=1.0,
                             reset_phase=phase, times=1))  # fmt: skip
            report = await client.fan_out([group, other], action=SURVEY, keep_outcomes=True)
            stored = {(a.group_id, a.reference_id) for a in emu.app.actions.actions.values()}
            return report, _surveys(emu, group), _surveys(emu, other), stored

    report, in_group, in_other, stored = await run(main)
    assert report.sent == 2 and report.unknown == 0
    assert in_group == 1 and in_other == 1  # never lost, never twice
    settled = {o.group_id: o.settled for o in report if isinstance(o, k.Sent)}
    assert sorted(settled.values()) == sorted([phase == "after", False])
    # each outcome names its group and the action the group now holds
    assert {(o.group_id, o.reference_id) for o in report if isinstance(o, k.Sent)} == stored


async def test_a_text_send_whose_answer_was_lost_stays_unknown() -> None:
    async def main() -> k.FanOutReport:
        async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
            (group,) = emu.create_groups(1)
            emu.inject(Fault(route=f"POST /v1/groups/{group}/messages", reset_rate=1.0,
                             reset_phase="after"))  # fmt: skip
            return await client.fan_out([group], text="hi", keep_outcomes=True)

    report = await run(main)
    (outcome,) = list(report)
    assert isinstance(outcome, k.Unknown) and not outcome.from_journal
    assert outcome.reason.startswith("connection failed")  # the error, in words


async def test_the_report_lists_every_outcome_and_where_it_came_from(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"

    async def main() -> tuple[k.FanOutReport, k.FanOutReport, k.FanOutReport, dict[str, int]]:
        async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
            ids = emu.create_groups(4)
            lost, kept = ids[0], ids[1]
            for group in (lost, kept):
                emu.inject(Fault(route=f"POST /v1/groups/{group}/messages", reset_rate=1.0,
                                 reset_phase="after"))  # fmt: skip
            first = await client.fan_out(ids, text="hi", journal=journal, keep_outcomes=True)
            emu.clear_faults()
            second = await client.fan_out(ids, text="hi", journal=journal, resend=[lost],
                                          keep_outcomes=True)  # fmt: skip
            plain = await client.fan_out(ids, text="hi", journal=journal)
            return first, second, plain, emu.stats()["messagesPerGroup"]

    first, second, plain, per_group = await run(main)
    kinds_first = {o.group_id: type(o).__name__ for o in first}
    assert sorted(kinds_first.values()) == ["Sent", "Sent", "Unknown", "Unknown"]
    assert not any(getattr(o, "from_journal", False) for o in first)  # all from this run
    unknown_ids = [g for g, kind in kinds_first.items() if kind == "Unknown"]
    by_group = {o.group_id: o for o in second}
    resent = [g for g in unknown_ids if isinstance(by_group[g], k.Sent)]
    still = [g for g in unknown_ids if isinstance(by_group[g], k.Unknown)]
    assert len(resent) == 1 and len(still) == 1  # only the one listed in resend=
    assert by_group[still[0]].from_journal  # type: ignore[union-attr]
    assert all(
        isinstance(o, k.Skipped) and o.from_journal
        for g, o in by_group.items()
        if kinds_first[g] == "Sent"
    )
    assert per_group[resent[0]] == 2  # the lost send had arrived: resending was the user's call
    with pytest.raises(ValueError, match="keep_outcomes"):
        list(plain)
    assert plain.skipped == 3 and plain.unknown == 1


async def test_an_action_left_unknown_by_an_earlier_run_is_settled_before_any_resend(
    tmp_path: Path,
) -> None:
    """Run 1 loses three answers and cannot read the groups back: all stay unknown. Run 2 reads
    each group first: the survey that arrived is Sent (settled, its id); the one that never
    arrived is sent now (refused here: a failure); the group that still cannot be read stays
    unknown. Run 3 sends the refused one. Each group ends with exactly one survey."""
    journal = tmp_path / "run.db"

    async def main() -> tuple[list[k.FanOutReport], list[str], dict[str, list[str]]]:
        async with Emulator(EmulatorConfig.fast()) as emu, emu.client(max_retries=0) as client:
            groups = arrived, lost, blind = emu.create_groups(3)
            for group, phase in ((arrived, "after"), (lost, "before"), (blind, "after")):
                emu.inject(Fault(route=f"POST /v1/groups/{group}/actions", reset_rate=1.0,
                                 reset_phase=phase, times=1))  # fmt: skip
            emu.inject(Fault(route="GET /v1/groups/*/actions", error_rate=1.0))
            reports = [await client.fan_out(groups, action=SURVEY, journal=journal,
                                            keep_outcomes=True)]  # fmt: skip
            emu.clear_faults()
            emu.inject(Fault(route=f"GET /v1/groups/{blind}/actions", error_rate=1.0))
            emu.inject(Fault(route=f"POST /v1/groups/{lost}/actions", error_rate=1.0,
                             error_status=403, times=1))  # fmt: skip
            for targets in ([*groups, blind], groups):  # run 2 names `blind` twice
                reports.append(await client.fan_out(targets, action=SURVEY, journal=journal,
                                                    keep_outcomes=True))  # fmt: skip
            held = {g: [a.reference_id for a in emu.app.actions.actions.values()
                        if a.group_id == g] for g in groups}  # fmt: skip
            return reports, groups, held

    (first, second, third), (arrived, lost, blind), held = await run(main)
    assert first.unknown == 3 and not any(u.from_journal for u in first.unknowns)
    again = {o.group_id: o for o in second if not isinstance(o, k.Skipped)}
    assert [o for o in second if isinstance(o, k.Skipped)] == [
        k.Skipped(group_id=blind, reason="repeated target")
    ]  # while its first mention was being read back
    assert again[arrived] == k.Sent(group_id=arrived, reference_id=held[arrived][0], settled=True)
    refused = again[lost]
    assert isinstance(refused, k.Failed) and refused.group_id == lost
    assert isinstance(refused.error, k.PermissionDeniedError) and not refused.retriable
    assert again[blind] == k.Unknown(group_id=blind, reason="unknown since an earlier run",
                                     from_journal=True)  # fmt: skip
    last = {o.group_id: o for o in third}
    assert last[lost] == k.Sent(group_id=lost, reference_id=held[lost][0])
    assert isinstance(last[arrived], k.Skipped)
    assert [len(ids) for ids in held.values()] == [1, 1, 1]


async def test_a_same_survey_sent_before_the_run_does_not_settle_a_lost_send() -> None:
    """The read-back looks only at actions sent since the send began (less a margin): the same
    survey sent a day earlier does not make a send that never arrived count as sent."""

    async def main() -> tuple[k.FanOutReport, int]:
        async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
            (group,) = emu.create_groups(1)
            yesterday = {"actiontype": "Survey", "actionbody": SURVEY.to_json()}
            emu.app.actions.send(group, yesterday, "+911234567890", emu.app.wall() - 86_400)
            emu.inject(Fault(route=f"POST /v1/groups/{group}/actions", reset_rate=1.0,
                             reset_phase="before", times=1))  # fmt: skip
            report = await client.fan_out([group], action=SURVEY, keep_outcomes=True)
            return report, _surveys(emu, group)

    report, in_group = await run(main)
    [outcome] = list(report)
    assert isinstance(outcome, k.Sent) and not outcome.settled
    assert in_group == 2  # yesterday's and today's
