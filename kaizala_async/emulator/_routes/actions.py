"""Actions: send (C1), list (C2), details (C3), respond (C4)."""

from __future__ import annotations

from kaizala_async.emulator._actions import Action
from kaizala_async.emulator._content import ContentError
from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._state import Message
from kaizala_async.emulator._wire import Answer, ok

__all__ = ["ROUTES"]

routes = RouteSet(permission="action")


def _action(call: Call) -> Action:
    group, action_id = call.group(), call.params["actionId"]
    found = call.app.actions.actions.get(action_id)
    if found is None or found.group_id != group.group_id:
        raise ContentError(404, f"action {action_id} not found", "NotFound")
    return found


@routes.add("C1", "POST", "/v1/groups/{groupId}/actions")
async def send_action(call: Call) -> Answer:
    group = call.group()
    action, events = call.app.actions.send(
        group.group_id, call.body(), call.caller, call.app.wall()
    )
    group.messages.append(
        Message(action.reference_id, f"[{action.action_type}]", call.caller, action.sent_at)
    )
    for event_type, data in events:
        call.app.emit(group, event_type, data, call.caller)
    return ok({"referenceId": action.reference_id, "actionId": action.action_id})


@routes.add("C2", "GET", "/v1/groups/{groupId}/actions")
async def list_actions(call: Call) -> Answer:
    return ok(call.app.actions.of_type(call.group().group_id, call.request.query))


@routes.add("C3", "GET", "/v1/groups/{groupId}/actions/{actionId}")
async def details(call: Call) -> Answer:
    with_responses = call.request.query.get("getdetails", "false").lower() == "true"
    return ok(call.app.actions.details(_action(call), with_responses))


@routes.add("C4", "POST", "/v1/groups/{groupId}/actions/{actionId}/responses")
async def respond(call: Call) -> Answer:
    action = _action(call)
    response_id, events = call.app.actions.respond(action, call.body(), call.caller)
    group = call.world.groups[action.group_id]
    for event_type, data in events:
        call.app.emit(group, event_type, data, call.caller)
    return ok({"responseId": response_id})


ROUTES = routes.routes
