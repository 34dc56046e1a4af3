"""Members (M1-M3) and the subscribers of public groups (P1-P3)."""

from __future__ import annotations

from typing import Any

from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._state import Group
from kaizala_async.emulator._wire import MOBILE, Answer, bad, not_found, numbers, ok

__all__ = ["ROUTES"]

routes = RouteSet(permission="groupmember")


def member_data(number: str, role: str) -> dict[str, str]:
    """The MemberAdded/MemberRemoved event's data (API reference K2)."""
    return {"member": number, "memberName": number, "memberProfilePic": "", "type": role}


@routes.add("M1", "GET", "/v1/groups/{groupId}/members")
async def list_members(call: Call) -> Answer:
    group, world = call.group(), call.world
    members = [
        {"id": world.user_id(m), "role": role, "mobileNumber": m, "isProvisioned": True}
        for m, role in group.members.items()
    ]
    return ok({"members": members})


@routes.add("M2", "PUT", "/v1/groups/{groupId}/members")
async def add_members(call: Call) -> Answer:
    group = call.group()
    wanted = numbers(call.body(), "members")
    added = [m for m in wanted if MOBILE.match(m)]
    for number in added:
        if number not in group.members:
            group.members[number] = "Member"
            call.app.emit(group, "MemberAdded", member_data(number, "Member"), call.caller)
    return ok({"result": len(added) == len(wanted)})


@routes.add("M3", "DELETE", "/v1/groups/{groupId}/members/{memberId}")
async def remove_member(call: Call) -> Answer:
    group, member = call.group(), call.params["memberId"]
    for number in list(group.members):
        if call.world.user_id(number) == member or number == member:
            role = group.members.pop(number)
            call.app.emit(group, "MemberRemoved", member_data(number, role), call.caller)
            return ok({"result": True})
    raise not_found(f"member {member}")


@routes.add("P1", "POST", "/v1/groups/{groupId}/subscribers")
async def list_subscribers(call: Call) -> Answer:
    group, data = call.group(), call.body()
    try:
        count = int(data.get("count", 50))
        start = int(data.get("cursor") or 0)
    except (TypeError, ValueError):
        raise bad("count must be a number and cursor a value from a previous page") from None
    count = max(1, min(50, count))
    listed = sorted(group.subscribers)
    page = listed[start : start + count]
    answer: dict[str, Any] = {
        "subscribers": [
            {
                "id": group.subscribers[n],
                "mobileNumber": n,
                "name": "",
                "profilePic": "",
                "isProvisioned": True,
            }
            for n in page
        ]
    }
    if start + count < len(listed):
        answer["cursor"] = str(start + count)
    return ok(answer)


def _public(call: Call) -> tuple[Group, list[str]]:
    group = call.group()
    if group.group_type.lower() != "connectgroup":
        raise bad("subscribers exist only in public (ConnectGroup) groups")
    return group, numbers(call.body(), "subscribers")


_INVALID = {"errorReason": "Invalid phone number", "errorCode": "InvalidParameters"}


@routes.add("P2", "PUT", "/v1/groups/{groupId}/subscribers/add")
async def add_subscribers(call: Call) -> Answer:
    group, wanted = _public(call)
    result: dict[str, dict[str, Any]] = {}
    for number in wanted:
        if not MOBILE.match(number):
            result[number] = {"isAdded": False, **_INVALID}
        else:
            group.subscribers[number] = call.world.user_id(number)
            result[number] = {"isAdded": True}
    return ok({"result": result})


@routes.add("P3", "PUT", "/v1/groups/{groupId}/subscribers/remove")
async def remove_subscribers(call: Call) -> Answer:
    group, wanted = _public(call)
    result: dict[str, dict[str, Any]] = {}
    for number in wanted:
        if not MOBILE.match(number):
            result[number] = {"isRemoved": False, **_INVALID}
            continue
        found = group.subscribers.pop(number, None) is not None
        result[number] = {"isRemoved": found} | (
            {} if found else {"errorReason": "Not a subscriber", "errorCode": "NotFound"}
        )
    return ok({"result": result})


ROUTES = routes.routes
