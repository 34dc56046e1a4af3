"""Bot users (B1-B5) and adding one to a group (B6)."""

from __future__ import annotations

from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._wire import Answer, ok

__all__ = ["ROUTES"]

routes = RouteSet()


@routes.add("B1", "POST", "/v1/bot")
async def create(call: Call) -> Answer:
    assert call.grant is not None
    return ok(call.content.create_bot(call.body(), call.grant.connector.tenant.name, call.caller))


@routes.add("B2", "GET", "/v1/bot")
async def list_bots(call: Call) -> Answer:
    creator_id = call.world.user_id(call.caller)
    mine = [b.as_json(creator_id) for b in call.content.bots.values() if b.creator == call.caller]
    return ok({"bots": mine})


@routes.add("B3", "PUT", "/v1/bot/{botUserId}")
async def update(call: Call) -> Answer:
    bot = call.content.bot(call.params["botUserId"], call.caller)
    data = call.body()
    bot.name = str(data.get("name") or bot.name)
    bot.profile_pic = str(data.get("profilepic") or bot.profile_pic)
    return ok({"result": True})


@routes.add("B4", "DELETE", "/v1/bot/{botUserId}")
async def delete(call: Call) -> Answer:
    bot = call.content.bot(call.params["botUserId"], call.caller)
    del call.content.bots[bot.bot_user_id]
    return ok({"result": True})


@routes.add("B5", "GET", "/v1/bot/accessToken/{botUserId}")
async def access_token(call: Call) -> Answer:
    assert call.grant is not None
    bot = call.content.bot(call.params["botUserId"], call.caller)
    answer = call.app.issue_access_token(call.grant.connector, f"bot:{bot.bot_user_id}")
    return ok(answer | {"scope": "bot"})


@routes.add("B6", "POST", "/v1/groups/{groupId}/bot", permission="groupinfo")
async def add_to_group(call: Call) -> Answer:
    group = call.group()
    bot = call.content.bot(str(call.body().get("botuserid") or ""), call.caller)
    bot.groups.add(group.group_id)
    group.members[f"bot:{bot.bot_user_id}"] = "Member"
    return ok({"result": True})


ROUTES = routes.routes
