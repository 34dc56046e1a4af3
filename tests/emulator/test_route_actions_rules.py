"""The emulator's action routes (C1-C4), call by call on the wire."""

from __future__ import annotations

import pytest

from .helpers import MOBILE, Wire, run_wire

POLL = {
    "actionType": "Poll",
    "actionBody": {"question": "Q?", "choices": [{"title": "A"}, {"title": "B"}]},
}
JOB = {"actionType": "Job", "actionBody": {"title": "Do", "assignedTo": [MOBILE]}}


def test_an_action_is_a_message_of_its_group_and_raises_its_events() -> None:
    async def test(w: Wire) -> None:
        group = w.group()
        status, body = await w.call("POST", f"/v1/groups/{group}/actions", json=POLL)
        assert status == 200 and set(body) == {"referenceId", "actionId"}
        action = w.emu.app.actions.actions[body["actionId"]]
        assert (action.reference_id, action.group_id, action.sender) == (
            body["referenceId"],
            group,
            MOBILE,
        )
        (message,) = w.emu.app.world.groups[group].messages
        assert (message.reference_id, message.text, message.sender) == (
            body["referenceId"],
            "[Poll]",
            MOBILE,
        )
        assert message.sent_at == action.sent_at == pytest.approx(w.emu.app.wall(), abs=1.0)
        assert [(e[0], e[1], e[3]) for e in w.events] == [
            (group, "PollCreated", MOBILE),
            (group, "ActionCreated", MOBILE),
        ]
        status, refused = await w.call(
            "POST", f"/v1/groups/{group}/actions", json={"actionType": "Poll"}
        )
        assert (status, refused["message"]) == (400, "actionBody must be an object")

    run_wire(test)


def test_actions_are_listed_and_read_back_in_their_group_only() -> None:
    async def test(w: Wire) -> None:
        group, other = w.group(), w.group()
        _, sent = await w.call("POST", f"/v1/groups/{group}/actions", json=JOB)
        status, listed = await w.call(
            "GET", f"/v1/groups/{group}/actions", params={"actionType": "Job"}
        )
        assert status == 200 and [a["referenceId"] for a in listed["actions"]] == [
            sent["referenceId"]
        ]
        action_id = sent["actionId"]
        status, details = await w.call("GET", f"/v1/groups/{group}/actions/{action_id}")
        assert (status, details["actionType"]) == (200, "Job")
        assert "responses" not in details["actionDetails"]
        status, full = await w.call(
            "GET", f"/v1/groups/{group}/actions/{action_id}", params={"getDetails": "TRUE"}
        )
        assert full["actionDetails"]["responses"] == []
        status, plain = await w.call(
            "GET", f"/v1/groups/{group}/actions/{action_id}", params={"getDetails": "yes"}
        )
        assert "responses" not in plain["actionDetails"]
        for path in (f"/v1/groups/{other}/actions/{action_id}", f"/v1/groups/{group}/actions/nope"):
            status, missing = await w.call("GET", path)
            assert (status, missing["errorCode"]) == (404, "NotFound")
            assert missing["message"] == f"action {path.rsplit('/', 1)[1]} not found"

    run_wire(test)


def test_a_response_is_recorded_and_its_events_go_to_the_actions_group() -> None:
    async def test(w: Wire) -> None:
        group = w.group()
        _, sent = await w.call("POST", f"/v1/groups/{group}/actions", json=JOB)
        w.events.clear()
        path = f"/v1/groups/{group}/actions/{sent['actionId']}/responses"
        status, body = await w.call("POST", path, json={"actionBody": {"isCompleted": True}})
        assert status == 200 and set(body) == {"responseId"}
        assert body["responseId"] in w.emu.app.actions.actions[sent["actionId"]].responses
        assert [(e[0], e[1]) for e in w.events] == [
            (group, "JobResponse"),
            (group, "ActionResponse"),
        ]
        status, refused = await w.call("POST", path, json={"actionBody": {}})
        assert (status, refused["message"]) == (400, "actionBody.isCompleted is required for a Job")
        status, missing = await w.call(
            "POST", f"/v1/groups/{group}/actions/nope/responses", json={"actionBody": {}}
        )
        assert (status, missing["message"]) == (404, "action nope not found")

    run_wire(test)
