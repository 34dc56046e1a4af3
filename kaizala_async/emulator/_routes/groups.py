"""Groups (G1-G3) and sub-groups (S1-S4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._state import Group
from kaizala_async.emulator._wire import MOBILE, Answer, bad, not_found, ok, truthy

if TYPE_CHECKING:
    from kaizala_async.emulator._app import EmulatorApp

__all__ = ["ROUTES", "attach", "create_group", "group_data"]

routes = RouteSet(permission="groupinfo")


def create_group(
    app: EmulatorApp,
    data: dict[str, Any],
    caller: str,
    tenant: str,
    *,
    add_caller: bool = True,
    require_welcome: bool = False,
) -> dict[str, Any]:
    """Validate a G1/S2 body (lower-cased keys) and store the group."""
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad("name is required")
    welcome = data.get("welcomemessage")
    if require_welcome and (not isinstance(welcome, str) or not welcome.strip()):
        raise bad("welcomeMessage is required")
    members = data.get("members") or []
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise bad("members must be a list of phone numbers")
    if len(members) > app.config.max_group_members:
        raise bad(f"at most {app.config.max_group_members} members")
    group_type = str(data.get("grouptype") or "Group")
    if group_type.lower() not in {"group", "connectgroup"}:
        raise bad("groupType must be Group or ConnectGroup")
    valid = [m for m in members if MOBILE.match(m)]
    roster = dict.fromkeys(valid, "Member")
    if add_caller:
        roster[caller] = "Admin"  # the caller administers the group it made
    # addUserToGroup false: the caller stays out of the roster; it still manages the sub-group
    # as an admin of its parent (World.can_see).
    group = Group(
        group_id=app.world.new_id(),
        name=name,
        tenant=tenant,
        welcome_message=str(welcome or ""),
        group_type="ConnectGroup" if group_type.lower() == "connectgroup" else "Group",
        image_url=str(data.get("groupimageurl") or ""),
        members=roster,
        short_description=str(data.get("shortdescriptionstring") or ""),
        long_description=str(data.get("longdescriptionstring") or ""),
    )
    app.world.groups[group.group_id] = group
    return {
        "groupId": group.group_id,
        "groupName": name,
        "membersAdded": len(valid) == len(members),
    }


def group_data(group: Group) -> dict[str, str]:
    """The GroupAdded/GroupRemoved event's data: the sub-group (seed 004's schema)."""
    return {
        "groupId": group.group_id,
        "groupName": group.name,
        "groupPicUrl": group.image_url,
        "groupType": group.group_type,
    }


def attach(app: EmulatorApp, parent: Group, child: Group, caller: str) -> None:
    parent.children.add(child.group_id)
    child.parents.add(parent.group_id)
    app.emit(parent, "GroupAdded", group_data(child), caller)


@routes.add("G1", "POST", "/v1/groups")
async def create(call: Call) -> Answer:
    # welcomeMessage is required by the docs and the swagger (400 without it).
    tenant = call.grant.connector.tenant.name if call.grant else ""
    return ok(create_group(call.app, call.body(), call.caller, tenant, require_welcome=True))


@routes.add("G2", "GET", "/v1/groups")
async def list_groups(call: Call) -> Answer:
    caller = call.caller
    return ok(
        {"groups": [g.as_json(caller) for g in call.world.groups.values() if caller in g.members]}
    )


@routes.add("G3", "GET", "/v1/groups/{groupId}")
async def details(call: Call) -> Answer:
    return ok({"groups": [call.group().as_json(call.caller)]})


@routes.add("S1", "GET", "/v1/groups/{groupId}/subGroups")
async def list_subgroups(call: Call) -> Answer:
    group, world, caller = call.group(), call.world, call.caller
    children = [world.groups[c].as_json(caller) for c in sorted(group.children)]
    return ok(group.as_json(caller) | {"subGroups": children})


@routes.add("S2", "POST", "/v1/groups/{groupId}/subGroups")
async def create_subgroup(call: Call) -> Answer:
    group = call.group()
    data = call.body()
    if "name" not in data and "groupname" in data:  # the docs' spelling (API reference S2)
        data["name"] = data["groupname"]
    add_caller = truthy(data.get("addusertogroup", True))
    created = create_group(call.app, data, call.caller, group.tenant, add_caller=add_caller)
    attach(call.app, group, call.world.groups[created["groupId"]], call.caller)
    return ok({"groupId": created["groupId"], "groupName": created["groupName"]})


@routes.add("S3", "PUT", "/v1/groups/{groupId}/subGroups")
async def attach_subgroups(call: Call) -> Answer:
    group = call.group()
    ids = call.body().get("subgroups")
    if not isinstance(ids, list) or not ids:
        raise bad("subGroups must be a non-empty list of group ids")
    for child_id in ids:
        child = call.world.groups.get(str(child_id))
        if child is None or child is group:
            raise bad(f"subGroups: {child_id} is not a group that can be attached")
        attach(call.app, group, child, call.caller)
    return ok({"result": True})


@routes.add("S4", "DELETE", "/v1/groups/{groupId}/subGroups/{subGroupId}")
async def detach_subgroup(call: Call) -> Answer:
    group = call.group()
    child = call.world.groups.get(call.params["subGroupId"])
    if child is None or child.group_id not in group.children:
        raise not_found(f"sub-group {call.params['subGroupId']}")
    group.children.discard(child.group_id)
    child.parents.discard(group.group_id)
    call.app.emit(group, "GroupRemoved", group_data(child), call.caller)
    return ok({"result": True})


ROUTES = routes.routes
