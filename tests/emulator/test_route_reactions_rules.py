"""The emulator's reaction routes (R1-R4), call by call on the wire."""

from __future__ import annotations

from .helpers import MOBILE, Wire, run_wire


def test_a_reaction_names_a_message_of_any_group_and_is_read_back_by_each_route() -> None:
    async def test(w: Wire) -> None:
        group, other = w.group(), w.group()
        _, sent = await w.call("POST", f"/v1/groups/{other}/messages", json={"message": "hi"})
        ref = sent["referenceId"]
        like = {"referenceId": ref, "sourceGroupId": group, "reactionType": "Like"}
        status, body = await w.call("POST", f"/v1/groups/{group}/reaction", json=like)
        assert status == 200 and set(body) == {"reactionId"}
        (reaction,) = w.emu.app.content.reactions
        assert reaction.user_id == w.emu.app.world.user_id(MOBILE)
        status, missing = await w.call(
            "POST", f"/v1/groups/{group}/reaction", json=like | {"referenceId": "nope"}
        )
        assert (status, missing["errorCode"]) == (404, "NotFound")
        status, summary = await w.call(
            "GET", f"/v1/groups/{group}/reaction/summary", params={"sourceGroupId": group}
        )
        assert status == 200 and summary["summary"][0]["referenceId"] == ref
        status, item = await w.call(
            "GET", f"/v1/groups/{group}/reaction/{ref}/summary", params={"sourceGroupId": group}
        )
        assert item["summary"][0]["reactionsCountMap"] == {"like": 1, "comment": 0}
        status, details = await w.call("GET", f"/v1/groups/{group}/reaction/{ref}",
                                       params={"sourceGroupId": group, "reactionType": "Like"})  # fmt: skip
        assert [d["reactionId"] for d in details["reactionDetails"]] == [body["reactionId"]]

    run_wire(test)


def test_each_reaction_route_needs_a_group_the_caller_sees() -> None:
    async def test(w: Wire) -> None:
        hidden = w.group()
        w.emu.app.world.groups[hidden].members = {"+919000000009": "Admin"}
        for method, path in (("POST", "reaction"), ("GET", "reaction/summary"), ("GET", "reaction/r/summary"),
                             ("GET", "reaction/r")):  # fmt: skip
            status, body = await w.call(
                method, f"/v1/groups/{hidden}/{path}", json={} if method == "POST" else None
            )
            assert (status, body["message"]) == (404, f"group {hidden} not found"), path

    run_wire(test)
