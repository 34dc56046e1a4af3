"""The emulator's test-harness routes under ``/_emulator/``, call by call on the wire."""

from __future__ import annotations

from typing import Any

from kaizala_async.emulator import Fault

from .helpers import MOBILE, Wire, invalid, run_wire


async def _get(w: Wire, path: str, **params: str) -> tuple[int, Any]:
    answer = await w.http.get(path, params=params)
    return answer.status_code, answer.json()


def test_stats_calls_and_outbox_show_the_emulators_own_records() -> None:
    async def test(w: Wire) -> None:
        assert await _get(w, "/_emulator/stats") == (200, w.emu.stats())
        status, calls = await _get(w, "/_emulator/calls")
        assert (status, calls) == (200, {"calls": w.emu.calls()})
        assert len(calls["calls"]) == 1  # the access-token call; control calls are not logged
        status, later = await _get(w, "/_emulator/calls", since=str(calls["calls"][0]["at"] + 1))
        assert later == {"calls": []}
        assert await _get(w, "/_emulator/calls", since="yesterday") == (
            400,
            invalid("since must be epoch seconds"),
        )
        await w.http.post(
            "/v1/generatePin",
            json={"applicationId": w.connector.application_id, "mobileNumber": MOBILE},
        )
        status, outbox = await _get(w, "/_emulator/outbox")
        assert (status, outbox) == (200, {"messages": w.emu.outbox()})
        assert len(outbox["messages"]) == 1

    run_wire(test)


def test_faults_are_added_from_their_json_listed_and_cleared() -> None:
    async def test(w: Wire) -> None:
        answer = await w.http.post("/_emulator/faults", json={
            "route": "GET /v1/groups", "latency": 0.5, "errorRate": 0.25, "errorStatus": 500, "resetRate": 0.25,
            "resetPhase": "AFTER", "hangRate": 0.5, "times": 3})  # fmt: skip
        assert (answer.status_code, answer.json()) == (200, {"faults": 1})
        assert w.emu.app.faults.faults == [Fault(route="GET /v1/groups", latency=0.5, error_rate=0.25,
                                                 error_status=500, reset_rate=0.25, reset_phase="after",
                                                 hang_rate=0.5, times=3)]  # fmt: skip
        answer = await w.http.post("/_emulator/faults", json={"resetPhase": "later"})
        assert answer.json() == {"faults": 2}
        assert w.emu.app.faults.faults[1] == Fault()  # every field's default
        for body, why in (({"errorRate": 2}, "error_rate must be between 0 and 1"),
                          ({"times": "x"}, "invalid literal"), ({"latency": [1]}, "float()")):  # fmt: skip
            answer = await w.http.post("/_emulator/faults", json=body)
            assert answer.status_code == 400
            assert (
                answer.json()["message"].startswith("bad fault: ")
                and why in answer.json()["message"]
            )
        assert await _get(w, "/_emulator/faults") == (200, {"injected": {"error": 0, "reset": 0, "hang": 0},
                                                             "faults": 2})  # fmt: skip
        answer = await w.http.delete("/_emulator/faults")
        assert (answer.status_code, answer.json()) == (200, {"faults": 0})
        assert w.emu.app.faults.faults == []

    run_wire(test)


def test_groups_are_seeded_for_a_valid_number_and_count() -> None:
    async def test(w: Wire) -> None:
        answer = await w.http.post(
            "/_emulator/groups", json={"count": 2, "mobileNumber": "+919000000001", "tenant": "t9"}
        )
        assert answer.status_code == 200
        ids = answer.json()["groupIds"]
        assert [w.emu.app.world.groups[g].tenant for g in ids] == ["t9", "t9"]
        assert w.emu.app.world.groups[ids[0]].members == {"+919000000001": "Admin"}
        answer = await w.http.post(
            "/_emulator/groups", json={"count": 1, "mobileNumber": "+919000000001"}
        )
        assert w.emu.app.world.groups[answer.json()["groupIds"][0]].tenant == "contoso"
        for body in ({"count": 0}, {"count": 100_001}, {"count": True}, {"count": "1"}):
            answer = await w.http.post(
                "/_emulator/groups", json=body | {"mobileNumber": "+919000000001"}
            )
            assert (answer.status_code, answer.json()) == (
                400,
                invalid("count must be a whole number from 1 to 100000"),
            )
        answer = await w.http.post(
            "/_emulator/groups", json={"count": 100_000, "mobileNumber": "12"}
        )
        assert (answer.status_code, answer.json()) == (
            400,
            invalid("mobileNumber must be an E.164 number"),
        )

    run_wire(test)


def test_the_endpoint_moves_now_or_after_some_calls() -> None:
    async def test(w: Wire) -> None:
        answer = await w.http.post("/_emulator/move", json={})
        assert answer.json() == {"endpointUrl": "http://kaizala.emulator/moved-1/"}
        answer = await w.http.post("/_emulator/move", json={"after": 0})
        assert answer.json() == {"endpointUrl": "http://kaizala.emulator/moved-1/", "movesAfter": 0}
        assert w.emu.app.move_after == w.emu.app.resource_calls
        for after in (-1, True, "2"):
            answer = await w.http.post("/_emulator/move", json={"after": after})
            assert (answer.status_code, answer.json()) == (
                400,
                invalid("after must be a non-negative whole number of calls"),
            )

    run_wire(test)
