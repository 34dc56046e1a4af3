"""The emulator's group and sub-group routes (G1-G3, S1-S4), call by call on the wire."""

from __future__ import annotations

from .helpers import MOBILE, Wire, invalid, run_wire


def test_a_group_is_created_with_its_fields_its_valid_members_and_its_creator_as_admin() -> None:
    async def test(w: Wire) -> None:
        status, body = await w.call("POST", "/v1/groups", json={
            "name": "Store", "welcomeMessage": "Hi", "members": ["+919000000001", "12"],
            "groupType": "connectgroup", "groupImageUrl": "https://img", "shortDescriptionString": "s",
            "longDescriptionString": "l"})  # fmt: skip
        assert status == 200
        assert (body["groupName"], body["membersAdded"]) == ("Store", False)
        group = w.emu.app.world.groups[body["groupId"]]
        assert (group.name, group.welcome_message, group.group_type, group.image_url, group.tenant) == (
            "Store", "Hi", "ConnectGroup", "https://img", "contoso",
        )  # fmt: skip
        assert (group.short_description, group.long_description) == ("s", "l")
        assert group.members == {"+919000000001": "Member", MOBILE: "Admin"}
        status, body = await w.call(
            "POST", "/v1/groups", json={"name": "Plain", "welcomeMessage": "Hi"}
        )
        plain = w.emu.app.world.groups[body["groupId"]]
        assert (
            body["membersAdded"],
            plain.group_type,
            plain.image_url,
            plain.short_description,
        ) == (True, "Group", "", "")
        assert plain.long_description == ""

    run_wire(test)


def test_a_group_is_refused_for_each_documented_reason() -> None:
    async def test(w: Wire) -> None:
        base = {"name": "G", "welcomeMessage": "Hi"}
        for changes, message in (
            ({"name": " "}, "name is required"),
            ({"name": None}, "name is required"),
            ({"welcomeMessage": ""}, "welcomeMessage is required"),
            ({"welcomeMessage": 5}, "welcomeMessage is required"),
            ({"members": "+919000000001"}, "members must be a list of phone numbers"),
            ({"members": [5]}, "members must be a list of phone numbers"),
            ({"members": ["+91900000000" + str(n) for n in range(4)]}, "at most 3 members"),
            ({"groupType": "Channel"}, "groupType must be Group or ConnectGroup"),
        ):
            assert await w.call("POST", "/v1/groups", json=base | changes) == (
                400,
                invalid(message),
            )
        assert (await w.call("POST", "/v1/groups", json=base | {"members": ["+919000000001"] * 3}))[
            0
        ] == 200
        assert len(w.emu.app.world.groups) == 1

    run_wire(test, max_group_members=3)


def test_the_caller_lists_and_reads_the_groups_it_belongs_to() -> None:
    async def test(w: Wire) -> None:
        mine = w.group()
        theirs = w.group()
        w.emu.app.world.groups[theirs].members = {"+919000000009": "Admin"}
        status, listed = await w.call("GET", "/v1/groups")
        assert (status, [g["groupId"] for g in listed["groups"]]) == (200, [mine])
        assert listed["groups"][0] == w.emu.app.world.groups[mine].as_json(MOBILE)
        assert await w.call("GET", f"/v1/groups/{mine}") == (
            200, {"groups": [w.emu.app.world.groups[mine].as_json(MOBILE)]},
        )  # fmt: skip
        assert (await w.call("GET", f"/v1/groups/{theirs}"))[0] == 404

    run_wire(test)


def test_sub_groups_are_created_attached_listed_in_id_order_and_detached_with_their_events() -> (
    None
):
    async def test(w: Wire) -> None:
        parent = w.group()
        status, body = await w.call("POST", f"/v1/groups/{parent}/subGroups",
                                    json={"groupName": "Child", "addUserToGroup": "false"})  # fmt: skip
        assert (
            status == 200 and set(body) == {"groupId", "groupName"} and body["groupName"] == "Child"
        )
        child = w.emu.app.world.groups[body["groupId"]]
        assert MOBILE not in child.members  # not added, yet managed through the parent
        assert child.parents == {parent} and w.emu.app.world.groups[parent].children == {
            child.group_id
        }
        assert child.tenant == w.emu.app.world.groups[parent].tenant
        data = {
            "groupId": child.group_id,
            "groupName": "Child",
            "groupPicUrl": "",
            "groupType": "Group",
        }
        assert w.events == [(parent, "GroupAdded", data, MOBILE)]
        status, body = await w.call(
            "POST", f"/v1/groups/{parent}/subGroups", json={"name": "Named", "groupName": "x"}
        )
        named = w.emu.app.world.groups[body["groupId"]]
        assert named.name == "Named" and named.members == {MOBILE: "Admin"}
        assert named.welcome_message == ""  # a sub-group needs none
        loose = w.group()
        assert await w.call(
            "PUT", f"/v1/groups/{parent}/subGroups", json={"subGroups": [loose]}
        ) == (200, {"result": True})
        status, listed = await w.call("GET", f"/v1/groups/{parent}/subGroups")
        assert status == 200
        assert [g["groupId"] for g in listed["subGroups"]] == sorted(
            [child.group_id, named.group_id, loose]
        )
        assert listed["groupId"] == parent
        for ids, message in (([], "subGroups must be a non-empty list of group ids"),
                             ("x", "subGroups must be a non-empty list of group ids"),
                             (["nope"], "subGroups: nope is not a group that can be attached"),
                             ([parent], f"subGroups: {parent} is not a group that can be attached")):  # fmt: skip
            assert await w.call(
                "PUT", f"/v1/groups/{parent}/subGroups", json={"subGroups": ids}
            ) == (400, invalid(message))
        w.events.clear()
        path = f"/v1/groups/{parent}/subGroups/{loose}"
        assert await w.call("DELETE", path) == (200, {"result": True})
        assert loose not in w.emu.app.world.groups[parent].children
        assert parent not in w.emu.app.world.groups[loose].parents
        assert [(e[0], e[1], e[2]["groupId"]) for e in w.events] == [
            (parent, "GroupRemoved", loose)
        ]
        status, body = await w.call("DELETE", path)
        assert (status, body["message"]) == (404, f"sub-group {loose} not found")
        status, body = await w.call("DELETE", f"/v1/groups/{parent}/subGroups/nope")
        assert (status, body["message"]) == (404, "sub-group nope not found")

    run_wire(test)
