"""The emulator's member and subscriber routes (M1-M3, P1-P3), call by call on the wire."""

from __future__ import annotations

from .helpers import MOBILE, Wire, invalid, run_wire


def test_members_are_listed_with_their_id_role_and_number() -> None:
    async def test(w: Wire) -> None:
        group = w.group({"+912": "Member"})
        status, body = await w.call("GET", f"/v1/groups/{group}/members")
        world = w.emu.app.world
        assert (status, body) == (200, {"members": [
            {"id": world.user_id(MOBILE), "role": "Admin", "mobileNumber": MOBILE, "isProvisioned": True},
            {"id": world.user_id("+912"), "role": "Member", "mobileNumber": "+912", "isProvisioned": True},
        ]})  # fmt: skip

    run_wire(test)


def test_adding_members_adds_the_valid_new_ones_and_says_whether_all_were_valid() -> None:
    async def test(w: Wire) -> None:
        group = w.group({"+919000000001": "Admin"})
        status, body = await w.call("PUT", f"/v1/groups/{group}/members",
                                    json={"members": ["+919000000002", "+919000000001", "12"]})  # fmt: skip
        assert (status, body) == (200, {"result": False})
        members = w.emu.app.world.groups[group].members
        assert members["+919000000002"] == "Member"
        assert members["+919000000001"] == "Admin"  # already there: unchanged
        assert "12" not in members
        assert [(e[1], e[2]) for e in w.events] == [("MemberAdded", {
            "member": "+919000000002", "memberName": "+919000000002", "memberProfilePic": "",
            "type": "Member"})]  # fmt: skip
        assert w.events[0][3] == MOBILE
        status, body = await w.call(
            "PUT", f"/v1/groups/{group}/members", json={"members": ["+919000000003"]}
        )
        assert (status, body) == (200, {"result": True})
        status, body = await w.call("PUT", f"/v1/groups/{group}/members", json={"members": []})
        assert (status, body) == (400, invalid("members must be a non-empty list of phone numbers"))

    run_wire(test)


def test_a_member_is_removed_by_user_id_or_number_and_an_unknown_one_is_404() -> None:
    async def test(w: Wire) -> None:
        group = w.group({"+919000000001": "Member", "+919000000002": "Admin"})
        user_id = w.emu.app.world.user_id("+919000000002")
        assert await w.call("DELETE", f"/v1/groups/{group}/members/{user_id}") == (
            200,
            {"result": True},
        )
        assert await w.call("DELETE", f"/v1/groups/{group}/members/+919000000001") == (
            200,
            {"result": True},
        )
        members = w.emu.app.world.groups[group].members
        assert set(members) == {MOBILE}
        assert [(e[1], e[2]["member"], e[2]["type"]) for e in w.events] == [
            ("MemberRemoved", "+919000000002", "Admin"), ("MemberRemoved", "+919000000001", "Member"),
        ]  # fmt: skip
        status, body = await w.call("DELETE", f"/v1/groups/{group}/members/nobody")
        assert (status, body["message"]) == (404, "member nobody not found")

    run_wire(test)


def test_subscribers_are_listed_in_number_order_fifty_at_most_a_page_with_a_cursor() -> None:
    async def test(w: Wire) -> None:
        group = w.group(group_type="ConnectGroup")
        subscribers = w.emu.app.world.groups[group].subscribers
        for n in range(60):
            subscribers[f"+9190000{n:05d}"] = f"id{n}"
        status, first = await w.call("POST", f"/v1/groups/{group}/subscribers", json={})
        assert status == 200
        assert len(first["subscribers"]) == 50 and first["cursor"] == "50"
        assert first["subscribers"][0] == {"id": "id0", "mobileNumber": "+919000000000", "name": "",
                                           "profilePic": "", "isProvisioned": True}  # fmt: skip
        status, rest = await w.call(
            "POST", f"/v1/groups/{group}/subscribers", json={"cursor": "50"}
        )
        assert [s["id"] for s in rest["subscribers"]] == [f"id{n}" for n in range(50, 60)]
        assert "cursor" not in rest
        status, small = await w.call(
            "POST", f"/v1/groups/{group}/subscribers", json={"count": 0, "cursor": 58}
        )
        assert ([s["id"] for s in small["subscribers"]], small.get("cursor")) == (["id58"], "59")
        status, big = await w.call("POST", f"/v1/groups/{group}/subscribers", json={"count": 500})
        assert len(big["subscribers"]) == 50
        status, exact = await w.call(
            "POST", f"/v1/groups/{group}/subscribers", json={"count": 10, "cursor": "50"}
        )
        assert len(exact["subscribers"]) == 10 and "cursor" not in exact
        for body in ({"count": "many"}, {"cursor": "x"}, {"count": None}):
            status, refused = await w.call("POST", f"/v1/groups/{group}/subscribers", json=body)
            assert (status, refused) == (
                400,
                invalid("count must be a number and cursor a value from a previous page"),
            )

    run_wire(test)


def test_subscribers_are_added_and_removed_one_result_per_number() -> None:
    async def test(w: Wire) -> None:
        group = w.group(group_type="ConnectGroup")
        status, body = await w.call("PUT", f"/v1/groups/{group}/subscribers/add",
                                    json={"subscribers": ["+919000000001", "bad"]})  # fmt: skip
        assert (status, body) == (200, {"result": {
            "+919000000001": {"isAdded": True},
            "bad": {"isAdded": False, "errorReason": "Invalid phone number", "errorCode": "InvalidParameters"}}})  # fmt: skip
        subscribers = w.emu.app.world.groups[group].subscribers
        assert subscribers == {"+919000000001": w.emu.app.world.user_id("+919000000001")}
        status, body = await w.call("PUT", f"/v1/groups/{group}/subscribers/remove",
                                    json={"subscribers": ["+919000000001", "+919000000002", "bad"]})  # fmt: skip
        assert (status, body) == (200, {"result": {
            "+919000000001": {"isRemoved": True},
            "+919000000002": {"isRemoved": False, "errorReason": "Not a subscriber", "errorCode": "NotFound"},
            "bad": {"isRemoved": False, "errorReason": "Invalid phone number", "errorCode": "InvalidParameters"}}})  # fmt: skip
        assert subscribers == {}
        plain = w.group()
        for path in ("add", "remove"):
            status, refused = await w.call("PUT", f"/v1/groups/{plain}/subscribers/{path}",
                                           json={"subscribers": ["+919000000001"]})  # fmt: skip
            assert (status, refused) == (
                400,
                invalid("subscribers exist only in public (ConnectGroup) groups"),
            )
        status, refused = await w.call(
            "PUT", f"/v1/groups/{group}/subscribers/add", json={"subscribers": "x"}
        )
        assert (status, refused) == (
            400,
            invalid("subscribers must be a non-empty list of phone numbers"),
        )

    run_wire(test)
