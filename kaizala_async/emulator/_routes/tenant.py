"""The user's own profile (U1) and the tenant's group search (X1)."""

from __future__ import annotations

from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._wire import Answer, bad, ok

__all__ = ["ROUTES"]

routes = RouteSet()


@routes.add("U1", "GET", "/v1/users/me", permission="profile")
async def me(call: Call) -> Answer:
    caller = call.caller
    return ok(
        {"id": call.world.user_id(caller), "mobileNumber": caller, "name": caller, "profilePic": ""}
    )


@routes.add("X1", "GET", "/v1/tenant/findGroupsByQuery", permission="tenant")
async def find_groups(call: Call) -> Answer:
    query = call.request.query
    text = query.get("query", "").lower()
    try:
        offset = int(query.get("resultsoffset") or 0)
        size = int(query.get("pagesize") or 10)
    except ValueError:
        raise bad("resultsOffset and pageSize must be numbers") from None
    assert call.grant is not None
    tenant = call.grant.connector.tenant.name
    found = sorted(
        (g for g in call.world.groups.values() if g.tenant == tenant and text in g.name.lower()),
        key=lambda g: g.name,
    )
    page = found[offset : offset + max(1, size)]
    return ok({"groups": [g.as_json(call.caller) for g in page]})


ROUTES = routes.routes
