"""The emulator's profile and tenant search routes (U1, X1), call by call on the wire."""

from __future__ import annotations

from .helpers import MOBILE, Wire, run_wire


def test_the_profile_is_the_callers() -> None:
    async def test(w: Wire) -> None:
        assert await w.call("GET", "/v1/users/me") == (200, {
            "id": w.emu.app.world.user_id(MOBILE), "mobileNumber": MOBILE, "name": MOBILE, "profilePic": ""})  # fmt: skip

    run_wire(test)


def test_the_search_is_the_tenants_groups_by_name_in_name_order_a_page_at_a_time() -> None:
    async def test(w: Wire) -> None:
        world = w.emu.app.world
        names = ["Store B", "store A", "Office", "Store C"]
        for name in names:
            world.groups[w.group()].name = name
        elsewhere = w.emu.create_groups(1, mobile_number=MOBILE, tenant="fabrikam")[0]
        world.groups[elsewhere].name = "Store Z"

        async def found(**params: str) -> list[str]:
            status, body = await w.call("GET", "/v1/tenant/findGroupsByQuery", params=params)
            assert status == 200
            return [g["groupName"] for g in body["groups"]]

        assert await found(query="STORE") == ["Store B", "Store C", "store A"]
        assert await found(query="store", resultsOffset="1", pageSize="1") == ["Store C"]
        assert await found(query="store", pageSize="0") == ["Store B"]  # at least one
        assert await found() == ["Office", "Store B", "Store C", "store A"]
        assert len(await found(query="")) == 4
        many = [w.group() for _ in range(12)]
        assert len(many) == 12 and len(await found(query="group")) == 10  # ten by default
        status, body = await w.call(
            "GET", "/v1/tenant/findGroupsByQuery", params={"pageSize": "ten"}
        )
        assert (status, body["message"]) == (400, "resultsOffset and pageSize must be numbers")

    run_wire(test)
