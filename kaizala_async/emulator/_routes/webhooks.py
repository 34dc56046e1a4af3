"""Webhook management (W1-W4); the handshake and deliveries are the hub's (K1, K2)."""

from __future__ import annotations

import uuid
from typing import Any

from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._webhooks import EVENT_TYPES, OBJECT_TYPES, Webhook
from kaizala_async.emulator._wire import Answer, bad, not_found, ok, truthy

__all__ = ["ROUTES"]

routes = RouteSet(permission="webhook")


def _object_known(call: Call, object_type: str, object_id: str) -> bool:
    """A Group must be one the caller sees; an Action one sent to such a group. Action packages
    are not modelled (any id is accepted, as the service cannot be asked which exist)."""
    world = call.world
    if object_type == "Group":
        group = world.groups.get(object_id)
        return group is not None and world.can_see(group, call.caller)
    if object_type == "Action":
        action = call.app.actions.actions.get(object_id)
        group = world.groups.get(action.group_id) if action is not None else None
        return group is not None and world.can_see(group, call.caller)
    return True


@routes.add("W1", "POST", "/v1/webhook")
async def register(call: Call) -> Answer:
    assert call.grant is not None
    data = call.body()
    object_id = data.get("objectid")
    object_type = str(data.get("objecttype") or "")
    events = data.get("eventtypes")
    url = data.get("callbackurl")
    if not isinstance(object_id, str) or not object_id:
        raise bad("objectId is required")
    matched = [t for t in OBJECT_TYPES if t.lower() == object_type.lower()]
    if not matched:
        raise bad("objectType must be Group, Action or ActionPackage")
    if not isinstance(events, list) or not events:
        raise bad("eventTypes must be a non-empty list")
    canonical = {e.lower(): e for e in EVENT_TYPES}
    unknown = [e for e in events if str(e).lower() not in canonical]
    if unknown:
        raise bad(f"unknown event types: {unknown}")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise bad("callBackUrl must be an http(s) URL")
    if not _object_known(call, matched[0], object_id):
        raise not_found(f"{matched[0].lower()} {object_id}")
    problem = await call.app.hub.validate(url)
    if problem:
        raise bad(problem)
    now = call.app.wall_ms()
    validity = data.get("validity")
    hook = Webhook(
        id=str(uuid.uuid4()),
        object_id=object_id,
        object_type=matched[0],
        events=[canonical[str(e).lower()] for e in events],
        callback_url=url,
        callback_token=str(data.get("callbacktoken") or ""),
        callback_context=str(data.get("callbackcontext") or ""),
        ts=now,
        validity=int(validity) if validity is not None else now + 2 * 365 * 86_400_000,
        owner=call.grant.connector.application_id,
    )
    call.app.hub.hooks[hook.id] = hook
    return ok({"webhookId": hook.id})


@routes.add("W2", "GET", "/v1/webhook")
async def list_hooks(call: Call) -> Answer:
    query = call.request.query
    object_id, object_type = query.get("objectid"), query.get("objecttype", "").lower()
    hooks = [
        h.as_json()
        for h in call.app.hub.hooks.values()
        if h.object_id == object_id and h.object_type.lower() == object_type
    ]
    return ok({"webhooks": hooks})


def _hook(call: Call) -> Webhook:
    hook = call.app.hub.hooks.get(call.params["webhookId"])
    if hook is None:
        raise not_found(f"webhook {call.params['webhookId']}")
    return hook


async def _update(call: Call, hook: Webhook, data: dict[str, Any]) -> None:
    url = data.get("callbackurl")
    if isinstance(url, str) and url != hook.callback_url:
        problem = await call.app.hub.validate(url)  # re-validated when it changes (API G-12)
        if problem:
            raise bad(problem)
        hook.callback_url = url
    if "eventtypes" in data:
        hook.events = [str(e) for e in data["eventtypes"]]
    if "callbacktoken" in data:
        hook.callback_token = str(data["callbacktoken"] or "")
    if "callbackcontext" in data:
        hook.callback_context = str(data["callbackcontext"] or "")
    if "validity" in data:
        hook.validity = int(data["validity"])
    if "active" in data:
        hook.active = truthy(data["active"])


@routes.add("W3", "PUT", "/v1/webhook/{webhookId}")
async def update(call: Call) -> Answer:
    await _update(call, _hook(call), call.body())
    return ok({"result": True})


@routes.add("W4", "DELETE", "/v1/webhook/{webhookId}")
async def delete(call: Call) -> Answer:
    del call.app.hub.hooks[_hook(call).id]
    return ok({"result": True})


ROUTES = routes.routes
