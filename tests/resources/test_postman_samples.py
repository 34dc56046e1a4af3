"""Each Postman request sample of the service, made through the typed method: the request equals
the sample's method, path, auth header names, query keys and body keys, or differs only where
the docs' "Requests compared with the service's Postman samples" section says why."""

from __future__ import annotations

import contextlib
import json
import pathlib
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

import kaizala_async as k
from tests.conftest import make_client
from tests.fake_service import APP_ID, FakeKaizala

ROOT = pathlib.Path(__file__).parents[2]
SAMPLES = json.loads((ROOT / "tests" / "data" / "postman_samples.json").read_text())["samples"]
IDS = {"groupId": "df91cb37-97bf-4ccd-a8c2-b2a3ba5eac62@1", "botUserId": "f9d3a907-eef6-4bd7",
       "memberId": "364388bc-5b7f-4857", "subGroupId": "d15fce78-d5c5-410f", "webhookId": "dac6fccf-f2e9"}  # fmt: skip
G, B, M, S, W = (IDS[n] for n in ("groupId", "botUserId", "memberId", "subGroupId", "webhookId"))
A = "f260dc09-f1f3-4305-84f6-6edbedb82fb7"
NUMBER = "+911199999999"
MEDIA = "eyJBY3Rpb25UeXBlIjo1fQ=="
HOOK = "https://hooks.example.com/kaizala"
AUTH_HEADERS = {
    "accesstoken",
    "authorization",
    "applicationid",
    "applicationsecret",
    "refreshtoken",
}
ALL_EVENTS = ["ActionCreated", "ActionResponse"]

Call = Callable[[k.KaizalaClient], Awaitable[Any]]


def _token_service(call: Callable[..., Awaitable[Any]]) -> Call:
    async def run(client: k.KaizalaClient) -> Any:
        fake = client._fake  # type: ignore[attr-defined]
        return await call(api_root="https://api.kaiza.la", transport=httpx.ASGITransport(app=fake))

    return run


CALLS: dict[str, Call] = {
    "Authentication/accessToken": lambda c: c.users.me(),
    "Authentication/generatePin": _token_service(
        lambda **kw: k.request_pin(APP_ID, NUMBER, **kw)),
    "Authentication/loginWithPinAndApplicationId": _token_service(
        lambda **kw: k.exchange_pin(APP_ID, NUMBER, 4321, **kw)),
    "Authentication/me": lambda c: c.users.me(),
    "Bots/createBot": lambda c: c.bots.create("Test Bot", profile_pic=MEDIA),
    "Bots/deleteBot": lambda c: c.bots.delete(B),
    "Bots/generateBotToken": lambda c: c.bots.access_token(B),
    "Bots/getBot": lambda c: c.bots.list().collect(),
    "Bots/updateBot": lambda c: c.bots.update(B, name="Renamed"),
    "Content Creation APIs/sendAudio": lambda c: c.actions.send(G, k.AudioAction(media_resource=MEDIA, caption="a")),
    "Content Creation APIs/sendDocument": lambda c: c.actions.send(G, k.DocumentAction(media_resource=MEDIA, caption="d")),
    "Content Creation APIs/sendImage": lambda c: c.actions.send(G, k.ImageAction(media_resource=MEDIA, caption="i")),
    "Content Creation APIs/sendMessage": lambda c: c.messages.send(G, "Test message via API"),
    "Content Creation APIs/sendVideo": lambda c: c.actions.send(G, k.VideoAction(media_resource=MEDIA, caption="v")),
    "Group management/addMembers": lambda c: c.members.add(G, [NUMBER]),
    "Group management/addSubGroup": lambda c: c.subgroups.attach(G, [S]),
    "Group management/createGroup": lambda c: c.groups.create(
        "Kaizala Test group", "Welcome", group_type="Group",
        short_description="Short description", long_description="Long description"),
    "Group management/createManagedHub": lambda c: c.groups.create(
        "Public", "Welcome", members=[NUMBER], group_type="ConnectGroup"),
    "Group management/createSubGroup": lambda c: c.subgroups.create(
        G, "Sub", "Welcome", members=[NUMBER], group_type="Group"),
    "Group management/fetchGroupDetails": lambda c: c.groups.get(G, application_id=APP_ID),
    "Group management/fetchGroupDirect": lambda c: c.groups.list().collect(),
    "Group management/fetchGroupSubGroups": lambda c: c.groups.list(fetch_all=True, show_detail=True).collect(),
    "Group management/fetchSubGroup": lambda c: c.subgroups.list(G).collect(),
    "Group management/getSubscribers": lambda c: c.tenant.find_groups("wit", limit=10).collect(),
    "Group management/queryMembers": lambda c: c.members.list(G).collect(),
    "Group management/removeMembers": lambda c: c.members.remove(G, M),
    "Group management/removeSubGroup": lambda c: c.subgroups.detach(G, S),
    "Group management/removeSubscribers": lambda c: c.subscribers.remove(G, ["+91109999999"]),
    "Upload Media/media": lambda c: c.media.upload(b"\x89PNG....", filename="test.png"),
    "Upload Media/mediaUrl": lambda c: c.media.upload_url("https://manage.kaiza.la/Images/main-page-1.png"),
    "Subscriptions APIs (webhooks)/getWebhooks": lambda c: c.webhooks.list(G, "Group").collect(),
    "Subscriptions APIs (webhooks)/subscribeEventsAction": lambda c: c.webhooks.register(
        A, "Action", ALL_EVENTS, HOOK, callback_token="tokenToBeVerifiedByCallback", callback_context="ctx"),
    "Subscriptions APIs (webhooks)/subscribeEventsGroup": lambda c: c.webhooks.register(
        G, "Group", [*ALL_EVENTS, "TextMessageCreated"], HOOK,
        callback_token="tokenToBeVerifiedByCallback", callback_context="ctx"),
    "Subscriptions APIs (webhooks)/unsubscribeWebhook": lambda c: c.webhooks.delete(W),
}  # fmt: skip

#: What differs from each sample, and why (the docs section names each sample; tested below).
DOCUMENTED: dict[str, set[str]] = {
    "Group management/createGroup": {"body"},
    "Group management/createManagedHub": {"headers"},
    "Group management/createSubGroup": {"path case"},
    "Group management/fetchGroupSubGroups": {"query"},
    "Authentication/loginWithPinAndApplicationId": {"body"},
    "Upload Media/media": {"multipart body"},
}


def test_every_sample_has_a_typed_call_and_every_difference_is_documented() -> None:
    assert len(SAMPLES) == 34
    assert sorted(CALLS) == sorted(s["sample"] for s in SAMPLES)
    section = (
        (ROOT / "docs" / "service-api.md")
        .read_text()
        .split("## Requests compared with the service's Postman samples", 1)[1]
    )
    for sample in [*DOCUMENTED, "removeSubGroup", "removeSubscribers", "unsubscribeWebhook"]:
        assert f"**{sample.rsplit('/', 1)[-1]}**" in section, sample


def _differences(sample: dict[str, Any], seen: Any) -> set[str]:
    found = set()
    assert seen.method == sample["method"]
    path = sample["path"].format(**IDS)
    if seen.path != path:
        assert seen.path.lower() == path.lower(), (seen.path, path)
        found.add("path case")
    headers = {h for h in seen.headers if h in AUTH_HEADERS}
    if headers != {h.lower() for h in sample["headers"]}:
        found.add("headers")
    if set(dict(urllib.parse.parse_qsl(seen.query))) != set(sample["query"]):
        found.add("query")
    if seen.headers.get("content-type", "").startswith("multipart/"):
        found.add("multipart body")
    else:
        body = json.loads(seen.body) if seen.body else {}
        if set(body) != set(sample["body"]):
            found.add("body")
    return found


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["sample"] for s in SAMPLES])
async def test_the_typed_method_sends_the_samples_request(
    fake: FakeKaizala, sample: dict[str, Any]
) -> None:
    async with make_client(fake) as client:
        client._fake = fake  # type: ignore[attr-defined]
        with contextlib.suppress(k.KaizalaError):  # the fake's echo need not decode as the model
            await CALLS[sample["sample"]](client)
    wanted = sample["path"].format(**IDS)
    (seen,) = [c for c in fake.calls if c.path.lower() == wanted.lower()]
    assert _differences(sample, seen) == DOCUMENTED.get(sample["sample"], set())
