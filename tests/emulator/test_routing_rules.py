"""The emulator's route table (``emulator._routing``) on its own: how a template becomes a
pattern, what a route set gives each route, what the table refuses and how it matches."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from kaizala_async._ratelimit import Rate
from kaizala_async.emulator._routing import Call, Route, RouteSet, RouteTable
from kaizala_async.emulator._state import AccessGrant, Group, World
from kaizala_async.emulator._wire import Answer, HTTPError, Request, ok


async def _handler(call: Call) -> Answer:
    return ok(call.params)


def test_a_template_matches_its_path_case_insensitively_and_names_its_parts() -> None:
    route = Route("R4", "GET", "/v1/groups/{groupId}/reaction/{referenceId}", _handler)
    assert route.params("/v1/groups/g1/reaction/m2") == {"groupId": "g1", "referenceId": "m2"}
    assert route.params("/V1/GROUPS/g1/REACTION/m2") == {"groupId": "g1", "referenceId": "m2"}
    assert route.params("/v1/groups/g1/reaction") is None  # a part missing
    assert route.params("/v1/groups/g1/reaction/m2/more") is None  # one too many
    assert route.params("/v1/groups/g/1/reaction/m2") is None  # a part never spans a slash
    assert route.params("/v1/groupsX/g1/reaction/m2") is None
    # Literal parts are matched as text, not as patterns.
    dotted = Route("Z", "GET", "/v1/a.b", _handler)
    assert dotted.params("/v1/a.b") == {}
    assert dotted.params("/v1/aXb") is None
    # Slashes at either end of the template are not parts.
    assert Route("Z", "GET", "v1/groups/", _handler).params("/v1/groups") == {}
    assert route.kind == "resource" and route.permission is None


def test_a_route_set_gives_each_route_its_kind_and_its_permission_unless_the_route_names_one() -> (
    None
):
    routes = RouteSet("token", permission="groupinfo")

    @routes.add("G2", "GET", "/v1/groups/{groupId}")
    async def one(call: Call) -> Answer:
        return ok(1)

    @routes.add("G5", "PUT", "/v1/groups/{groupId}", permission="groupmember")
    async def two(call: Call) -> Answer:
        return ok(2)

    assert one.__name__ == "one"  # the decorator hands the handler back
    first, second = routes.routes
    assert (first.id, first.method, first.template, first.handler) == (
        "G2",
        "GET",
        "/v1/groups/{groupId}",
        one,
    )
    assert (first.kind, first.permission) == ("token", "groupinfo")
    assert (second.id, second.handler, second.kind, second.permission) == (
        "G5",
        two,
        "token",
        "groupmember",
    )
    assert first.params("/v1/groups/x") == {"groupId": "x"}
    plain = RouteSet()
    assert (plain.kind, plain.permission, plain.routes) == ("resource", None, [])


def test_the_table_refuses_two_routes_for_one_method_and_path() -> None:
    with pytest.raises(ValueError, match="two routes for GET /v1/Groups"):
        RouteTable([Route("A", "GET", "/v1/groups", _handler),
                    Route("B", "GET", "/v1/Groups", _handler)])  # fmt: skip
    table = RouteTable([Route("A", "GET", "/v1/groups", _handler),
                        Route("B", "POST", "/v1/groups", _handler)])  # fmt: skip
    assert [r.id for r in table.routes] == ["A", "B"]


def test_the_table_matches_in_order_by_kind_and_tells_a_wrong_method_from_no_route() -> None:
    summary = Route("R3", "GET", "/v1/groups/{groupId}/reaction/summary", _handler)
    item = Route("R4", "GET", "/v1/groups/{groupId}/reaction/{referenceId}", _handler)
    token = Route("T1", "POST", "/v1/refreshToken", _handler, "token")
    table = RouteTable([summary, item, token])
    assert table.match("resource", "GET", "/v1/groups/g/reaction/summary") == (
        summary,
        {"groupId": "g"},
    )
    assert table.match("resource", "GET", "/v1/groups/g/reaction/m") == (
        item,
        {"groupId": "g", "referenceId": "m"},
    )
    assert table.match("resource", "POST", "/v1/groups/g/reaction/m") == (None, {"": "method"})
    assert table.match("resource", "GET", "/v1/nowhere") == (None, {})
    assert table.match("token", "POST", "/v1/refreshToken") == (token, {})
    # A route of another kind is not the path's: no "wrong method" for it either.
    assert table.match("resource", "POST", "/v1/refreshToken") == (None, {})
    assert table.match("token", "GET", "/v1/refreshToken") == (None, {"": "method"})
    assert table.by_id("R4") == [item]
    assert table.by_id("R9") == []


def _call(world: World, group_id: str, caller: str) -> Call:
    app: Any = SimpleNamespace(world=world, content="content")
    grant = AccessGrant(connector=None, mobile_number=caller, expires_at=0.0)  # type: ignore[arg-type]
    return Call(app, Request("GET", "/", {}, {}, b'{"A": 1}'), {"groupId": group_id}, grant)


def test_a_call_sees_its_caller_its_body_and_only_the_groups_its_caller_may_see() -> None:
    world = World(Rate(100, 60), Rate(300, 60), "sliding-log")
    world.groups["g1"] = Group("g1", "G", "t", "", "Group", "", {"+911": "Member"})
    call = _call(world, "g1", "+911")
    assert call.caller == "+911"
    assert call.world is world
    assert call.content == "content"
    assert call.body() == {"a": 1}
    assert call.group() is world.groups["g1"]
    for group_id, caller in (("g1", "+912"), ("nope", "+911")):
        with pytest.raises(HTTPError) as caught:
            _call(world, group_id, caller).group()
        assert caught.value.status == 404
        assert caught.value.body is not None
        assert caught.value.body["message"] == f"group {group_id} not found"
    assert asyncio.run(_handler(call)) == (200, {"groupId": "g1"}, {})
