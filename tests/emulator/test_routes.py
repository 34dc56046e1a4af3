"""The emulator's route table: every endpoint of the API reference once, each handler tested under
its id (``test_route[T1]``), over raw httpx (not through the SDK)."""

from __future__ import annotations

import base64
import json
import pathlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import httpx
import pytest

from kaizala_async.emulator import Emulator
from kaizala_async.emulator._routes import ROUTES

from .helpers import MOBILE

MOBILE_2 = "+919999900001"
MOBILE_3 = "+919999900002"
DOCS = pathlib.Path(__file__).parents[2] / "docs" / "service-api.md"
_ROW = re.compile(r"^\| ([A-Z][0-9]) \| (GET|POST|PUT|DELETE) \| `([^`]+)` \|", re.MULTILINE)


def reference_endpoints() -> dict[str, tuple[str, str]]:
    """id -> (method, path) from the docs' own page on the service's API (outbound K1/K2 aside)."""
    found = {}
    for route_id, method, url in _ROW.findall(DOCS.read_text()):
        if route_id.startswith("K"):
            continue
        path = re.sub(r"^(\{api\}|\{ep\}|https://ds\.kaiza\.la)", "", url)
        found[route_id] = (method, path)
    return found


def test_the_table_lists_every_endpoint_of_the_reference_exactly_once() -> None:
    endpoints = reference_endpoints()
    assert len(endpoints) == 41
    service_routes = [r for r in ROUTES.routes if r.kind != "control"]
    assert sorted(r.id for r in service_routes) == sorted(endpoints)  # each id once
    for route in service_routes:
        method, path = endpoints[route.id]
        assert (route.method, route.template.lower()) == (method, path.lower()), route.id


def test_a_path_the_table_does_not_know_is_404_and_a_known_path_with_another_method_405() -> None:
    assert ROUTES.match("resource", "GET", "/v1/nothing") == (None, {})
    assert ROUTES.match("token", "POST", "/v1/accessToken") == (None, {"": "method"})
    route, params = ROUTES.match("resource", "GET", "/v1/GROUPS/g-1/Reaction/summary")
    assert route is not None and route.id == "R3" and params == {"groupId": "g-1"}


# -- one scenario per handler ---------------------------------------------------------------------


@attrs.define
class World:
    """What the scenarios act on: a group with a message, a survey and a job; a public group with
    a subscriber; a sub-group; a bot; a webhook; and the HTTP clients (root and endpoint)."""

    emu: Emulator
    root: httpx.AsyncClient
    api: httpx.AsyncClient
    app_id: str
    secret: str
    refresh: str
    ids: dict[str, str] = attrs.field(factory=dict)

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.api.request(method, path.format(**self.ids), json=body, **kw)


def _echo_validation(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=request.url.params.get("validationToken", ""))


@pytest.fixture
async def world() -> AsyncIterator[World]:
    emu = Emulator(webhook_transport=httpx.MockTransport(_echo_validation))
    conn = emu.create_connector()
    refresh = emu.issue_refresh_token(conn, MOBILE)
    transport = emu.transport()
    root = httpx.AsyncClient(transport=transport, base_url=emu.api_root)
    token = (
        await root.get(
            "/v1/accessToken",
            headers={
                "applicationId": conn.application_id,
                "applicationSecret": conn.application_secret,
                "refreshToken": refresh,
            },
        )
    ).json()
    api = httpx.AsyncClient(
        transport=transport,
        base_url=token["endpointUrl"],
        headers={"accessToken": token["accessToken"]},
    )
    w = World(emu, root, api, conn.application_id, conn.application_secret, refresh)

    async def made(method: str, path: str, body: Any, key: str) -> str:
        answer = await w.call(method, path, body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()[key])

    ids = w.ids
    ids["g"] = await made("POST", "/v1/groups", {"name": "G", "welcomeMessage": "Hi", "members": [MOBILE_2]}, "groupId")  # fmt: skip
    ids["p"] = await made("POST", "/v1/groups", {"name": "P", "welcomeMessage": "Hi", "groupType": "ConnectGroup"}, "groupId")  # fmt: skip
    ids["spare"] = await made("POST", "/v1/groups", {"name": "Spare", "welcomeMessage": "Hi"}, "groupId")  # fmt: skip
    ids["sub"] = await made("POST", "/v1/groups/{g}/subGroups", {"name": "S", "welcomeMessage": "Hi"}, "groupId")  # fmt: skip
    await made("PUT", "/v1/groups/{p}/subscribers/add", {"subscribers": [MOBILE_3]}, "result")
    ids["message"] = await made("POST", "/v1/groups/{g}/messages", {"message": "hello"}, "referenceId")  # fmt: skip
    survey = {"actionType": "Survey", "actionBody": {"title": "S?", "questions": [{"title": "Why", "type": "Text"}]}}  # fmt: skip
    ids["survey"] = await made("POST", "/v1/groups/{g}/actions", survey, "actionId")
    ids["bot"] = await made("POST", "/v1/bot", {"name": "Robo"}, "botUserId")
    hook = {"objectId": ids["g"], "objectType": "Group", "eventTypes": ["TextMessageCreated"], "callBackUrl": "https://hooks.example/k"}  # fmt: skip
    ids["hook"] = await made("POST", "/v1/webhook", hook, "webhookId")
    ids["member"] = emu.app.world.user_id(MOBILE_2)
    try:
        yield w
    finally:
        await api.aclose()
        await root.aclose()
        await emu.aclose()


Check = Callable[[World, httpx.Response], bool]


@attrs.frozen
class Case:
    id: str
    method: str
    path: str
    body: Any = None
    query: dict[str, str] | None = None
    check: Check = lambda w, r: True
    headers: Callable[[World], dict[str, str]] | None = None
    on_root: bool = False


def _pin_sent(w: World, r: httpx.Response) -> bool:
    return r.json() == {} and w.emu.outbox()[-1]["mobileNumber"] == MOBILE_2


def _media_form(w: World) -> dict[str, Any]:
    return {"files": {"files": ("pic.png", b"\x89PNG....", "image/png")}}


CASES = [
    Case("A1", "POST", "/v1/generatePin", on_root=True, check=_pin_sent,
         body=lambda w: {"mobileNumber": MOBILE_2, "applicationId": w.app_id}),
    Case("A2", "POST", "/v1/loginWithPinAndApplicationId", on_root=True,
         body=lambda w: {"mobileNumber": MOBILE_2, "applicationId": w.app_id, "pin": "0000"},
         check=lambda w, r: r.status_code == 401 and r.json()["errorCode"] == "Unauthenticated"),
    Case("A3", "GET", "/v1/accessToken", on_root=True,
         headers=lambda w: {"applicationId": w.app_id, "applicationSecret": w.secret,
                            "refreshToken": w.refresh},
         check=lambda w, r: r.json()["accessToken"].count(".") == 2
         and r.json()["endpointUrl"].startswith("http")),
    Case("A4", "GET", "/api/Oauth/Authorize", on_root=True,
         query={"redirect_uri": "https://app.example/cb"},
         check=lambda w, r: r.status_code == 400),  # no client_id: refused
    Case("A5", "POST", "/api/oauth/token", on_root=True,
         check=lambda w, r: r.status_code == 401 and r.json()["errorCode"] == "Unauthenticated"),
    Case("U1", "GET", "/v1/users/me", check=lambda w, r: r.json()["mobileNumber"] == MOBILE),
    Case("G1", "POST", "/v1/groups", body={"name": "New", "welcomeMessage": "Hi"},
         check=lambda w, r: r.json()["groupName"] == "New" and r.json()["membersAdded"] is True),
    Case("G2", "GET", "/v1/groups",
         check=lambda w, r: {g["groupId"] for g in r.json()["groups"]}
         >= {w.ids["g"], w.ids["p"], w.ids["sub"]}),
    Case("G3", "GET", "/v1/groups/{g}",
         check=lambda w, r: r.json()["groups"][0]["groupId"] == w.ids["g"]),
    Case("S1", "GET", "/v1/groups/{g}/subGroups",
         check=lambda w, r: [s["groupId"] for s in r.json()["subGroups"]] == [w.ids["sub"]]),
    Case("S2", "POST", "/v1/groups/{g}/subGroups", body={"name": "S2", "welcomeMessage": "Hi"},
         check=lambda w, r: r.json()["groupId"] in w.emu.app.world.groups[w.ids["g"]].children),
    Case("S3", "PUT", "/v1/groups/{g}/subGroups", body=lambda w: {"subGroups": [w.ids["spare"]]},
         check=lambda w, r: w.ids["spare"] in w.emu.app.world.groups[w.ids["g"]].children),
    Case("S4", "DELETE", "/v1/groups/{g}/subGroups/{sub}",
         check=lambda w, r: not w.emu.app.world.groups[w.ids["g"]].children),
    Case("M1", "GET", "/v1/groups/{g}/members",
         check=lambda w, r: {m["mobileNumber"] for m in r.json()["members"]} == {MOBILE, MOBILE_2}),
    Case("M2", "PUT", "/v1/groups/{g}/members", body={"members": [MOBILE_3]},
         check=lambda w, r: MOBILE_3 in w.emu.app.world.groups[w.ids["g"]].members),
    Case("M3", "DELETE", "/v1/groups/{g}/members/{member}",
         check=lambda w, r: MOBILE_2 not in w.emu.app.world.groups[w.ids["g"]].members),
    Case("P1", "POST", "/v1/groups/{p}/subscribers", body={"count": 10},
         check=lambda w, r: [s["mobileNumber"] for s in r.json()["subscribers"]] == [MOBILE_3]),
    Case("P2", "PUT", "/v1/groups/{p}/subscribers/add", body={"subscribers": [MOBILE_2, "x"]},
         check=lambda w, r: r.json()["result"][MOBILE_2] == {"isAdded": True}
         and r.json()["result"]["x"]["isAdded"] is False),
    Case("P3", "PUT", "/v1/groups/{p}/subscribers/remove", body={"subscribers": [MOBILE_3]},
         check=lambda w, r: r.json()["result"][MOBILE_3] == {"isRemoved": True}),
    Case("T1", "POST", "/v1/groups/{g}/messages", body={"message": "hi"},
         check=lambda w, r: len(w.emu.app.world.groups[w.ids["g"]].messages) == 3),
    Case("D1", "POST", "/v1/media", body=_media_form,
         check=lambda w, r: json.loads(base64.b64decode(r.json()["mediaResource"]))["Files"]),
    Case("D2", "POST", "/v1/media/url", body={"mediaUrl": "https://cdn.example/a.png"},
         check=lambda w, r: bool(r.json()["mediaResource"])),
    Case("C1", "POST", "/v1/groups/{g}/actions",
         body={"actionType": "Announcement", "actionBody": {"title": "T", "message": "M"}},
         check=lambda w, r: r.json()["actionId"] in w.emu.app.actions.actions),
    Case("C2", "GET", "/v1/groups/{g}/actions", query={"actionType": "Survey"},
         check=lambda w, r: [a["actionType"] for a in r.json()["actions"]] == ["Survey"]),
    Case("C3", "GET", "/v1/groups/{g}/actions/{survey}", query={"getDetails": "true"},
         check=lambda w, r: r.json()["actionType"] == "Survey"),
    Case("C4", "POST", "/v1/groups/{g}/actions/{survey}/responses",
         body={"actionType": "Survey", "actionBody": {"answers": ["because"]}},
         check=lambda w, r: bool(r.json()["responseId"])),
    Case("R1", "POST", "/v1/groups/{g}/reaction",
         body=lambda w: {"referenceId": w.ids["message"], "sourceGroupId": w.ids["g"],
                         "reactionType": "Like"},
         check=lambda w, r: bool(r.json()["reactionId"])),
    Case("R2", "GET", "/v1/groups/{g}/reaction/{message}/summary",
         query={"sourceGroupId": "{g}"},
         check=lambda w, r: r.json()["summary"][0]["reactionsCountMap"] == {"like": 0, "comment": 0}),
    Case("R3", "GET", "/v1/groups/{g}/reaction/summary", query={"sourceGroupId": "{g}"},
         check=lambda w, r: r.json()["summary"] == [] and isinstance(r.json()["cursor"], int)),
    Case("R4", "GET", "/v1/groups/{g}/reaction/{message}",
         query={"sourceGroupId": "{g}", "reactionType": "Like"},
         check=lambda w, r: r.json()["reactionDetails"] == []),
    Case("W1", "POST", "/v1/webhook",
         body=lambda w: {"objectId": w.ids["survey"], "objectType": "Action",
                         "eventTypes": ["SurveyResponse"], "callBackUrl": "https://hooks.example/a"},
         check=lambda w, r: w.emu.app.hub.hooks[r.json()["webhookId"]].object_type == "Action"),
    Case("W2", "GET", "/v1/webhook", query={"objectId": "{g}", "objectType": "Group"},
         check=lambda w, r: [h["id"] for h in r.json()["webhooks"]] == [w.ids["hook"]]),
    Case("W3", "PUT", "/v1/webhook/{hook}", body={"active": False},
         check=lambda w, r: w.emu.app.hub.hooks[w.ids["hook"]].active is False),
    Case("W4", "DELETE", "/v1/webhook/{hook}",
         check=lambda w, r: w.ids["hook"] not in w.emu.app.hub.hooks),
    Case("B1", "POST", "/v1/bot", body={"name": "Another"},
         check=lambda w, r: r.json()["botUserId"] in w.emu.app.content.bots),
    Case("B2", "GET", "/v1/bot",
         check=lambda w, r: [b["botUserId"] for b in r.json()["bots"]] == [w.ids["bot"]]),
    Case("B3", "PUT", "/v1/bot/{bot}", body={"name": "Renamed"},
         check=lambda w, r: w.emu.app.content.bots[w.ids["bot"]].name == "Renamed"),
    Case("B4", "DELETE", "/v1/bot/{bot}",
         check=lambda w, r: w.ids["bot"] not in w.emu.app.content.bots),
    Case("B5", "GET", "/v1/bot/accessToken/{bot}",
         check=lambda w, r: w.emu.app.world.access[r.json()["accessToken"]].mobile_number
         == f"bot:{w.ids['bot']}"),
    Case("B6", "POST", "/v1/groups/{g}/bot", body=lambda w: {"botUserId": w.ids["bot"]},
         check=lambda w, r: f"bot:{w.ids['bot']}" in w.emu.app.world.groups[w.ids["g"]].members),
    Case("X1", "GET", "/v1/tenant/findGroupsByQuery", query={"query": "spa"},
         check=lambda w, r: [g["groupName"] for g in r.json()["groups"]] == ["Spare"]),
]  # fmt: skip

_EXPECTED_STATUS = {"A2": 401, "A4": 400, "A5": 401}


def test_every_route_has_a_scenario() -> None:
    assert sorted(c.id for c in CASES) == sorted(r.id for r in ROUTES.routes if r.kind != "control")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_route(world: World, case: Case) -> None:
    client = world.root if case.on_root else world.api
    ids = world.ids
    query = {k: v.format(**ids) for k, v in (case.query or {}).items()}
    body = case.body(world) if callable(case.body) else case.body
    headers = case.headers(world) if case.headers else None
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if isinstance(body, dict) and "files" in body:
        kwargs["files"] = body["files"]
    elif body is not None:
        kwargs["json"] = body
    before = len(world.emu.app.calls())
    answer = await client.request(case.method, case.path.format(**ids), **kwargs)
    assert answer.status_code == _EXPECTED_STATUS.get(case.id, 200), answer.text
    assert case.check(world, answer), answer.text
    (logged,) = world.emu.app.calls()[before:]  # the call log names the route that answered
    assert (logged["route"], logged["status"]) == (case.id, answer.status_code)
