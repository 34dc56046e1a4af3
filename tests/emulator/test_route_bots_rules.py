"""The emulator's bot routes (B1-B6), call by call on the wire."""

from __future__ import annotations

from .helpers import MOBILE, Wire, run_wire


def test_a_bot_is_created_listed_updated_given_a_token_added_to_a_group_and_deleted() -> None:
    async def test(w: Wire) -> None:
        status, body = await w.call("POST", "/v1/bot", json={"name": "Helper", "profilePic": "p"})
        assert status == 200
        bot_id = body["botUserId"]
        bot = w.emu.app.content.bots[bot_id]
        assert (bot.tenant, bot.creator) == ("contoso", MOBILE)
        status, listed = await w.call("GET", "/v1/bot")
        assert listed == {"bots": [bot.as_json(w.emu.app.world.user_id(MOBILE))]}
        w.emu.app.content.create_bot({"name": "Theirs"}, "contoso", "+919000000009")
        assert len((await w.call("GET", "/v1/bot"))[1]["bots"]) == 1  # only the caller's
        assert await w.call("PUT", f"/v1/bot/{bot_id}", json={"name": "Renamed"}) == (
            200,
            {"result": True},
        )
        assert (bot.name, bot.profile_pic) == ("Renamed", "p")
        assert await w.call("PUT", f"/v1/bot/{bot_id}", json={"profilePic": "q", "name": ""}) == (
            200,
            {"result": True},
        )
        assert (bot.name, bot.profile_pic) == ("Renamed", "q")
        status, token = await w.call("GET", f"/v1/bot/accessToken/{bot_id}")
        assert status == 200 and token["scope"] == "bot"
        grant = w.emu.app.world.access[token["accessToken"]]
        assert (grant.mobile_number, grant.connector) == (f"bot:{bot_id}", w.connector)
        group = w.group()
        assert await w.call("POST", f"/v1/groups/{group}/bot", json={"botUserId": bot_id}) == (
            200,
            {"result": True},
        )
        assert bot.groups == {group}
        assert w.emu.app.world.groups[group].members[f"bot:{bot_id}"] == "Member"
        status, missing = await w.call("POST", f"/v1/groups/{group}/bot", json={})
        assert (status, missing["message"]) == (404, "bot  not found")
        assert await w.call("DELETE", f"/v1/bot/{bot_id}") == (200, {"result": True})
        assert bot_id not in w.emu.app.content.bots
        for method, path in (("PUT", f"/v1/bot/{bot_id}"), ("DELETE", f"/v1/bot/{bot_id}"),
                             ("GET", f"/v1/bot/accessToken/{bot_id}")):  # fmt: skip
            status, body = await w.call(method, path, json={} if method == "PUT" else None)
            assert (status, body["message"]) == (404, f"bot {bot_id} not found")

    run_wire(test)
