"""Likes and comments (R1-R4)."""

from __future__ import annotations

from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._wire import Answer, ok

__all__ = ["ROUTES"]

routes = RouteSet(permission="reaction")


@routes.add("R1", "POST", "/v1/groups/{groupId}/reaction")
async def react(call: Call) -> Answer:
    call.group()
    known = {m.reference_id for g in call.world.groups.values() for m in g.messages}
    user_id = call.world.user_id(call.caller)
    return ok(call.content.react(call.body(), user_id, known, call.app.wall()))


# R3 before R4: "summary" is a literal there, not a reference id.
@routes.add("R3", "GET", "/v1/groups/{groupId}/reaction/summary")
async def group_summary(call: Call) -> Answer:
    call.group()
    return ok(call.content.group_summary(call.request.query))


@routes.add("R2", "GET", "/v1/groups/{groupId}/reaction/{referenceId}/summary")
async def item_summary(call: Call) -> Answer:
    call.group()
    return ok(call.content.item_summary(call.params["referenceId"], call.request.query))


@routes.add("R4", "GET", "/v1/groups/{groupId}/reaction/{referenceId}")
async def details(call: Call) -> Answer:
    call.group()
    return ok(call.content.reaction_details(call.params["referenceId"], call.request.query))


ROUTES = routes.routes
