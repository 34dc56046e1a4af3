"""Emulator features end to end: webhooks on loopback, faults, members, sub-groups, subscribers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from kaizala_async import (
    AnnouncementAction,
    BadRequestError,
    Credentials,
    ImageAction,
    JobAction,
    JobResponseBody,
    KaizalaClient,
    NotFoundError,
    RateLimits,
    ServerError,
    TransportError,
)
from kaizala_async._asgi import read_body
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault
from tests.vtime import run_virtual

from .helpers import MOBILE, client_for, loopback_emulator, new_group, recording_receiver, serve


class Receiver:
    """A webhook receiver: echoes validation tokens, records deliveries."""

    def __init__(self) -> None:
        self.validations: list[str] = []
        self.events: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = await read_body(receive)
        if scope["method"] == "GET":
            token = scope["query_string"].decode().partition("validationToken=")[2]
            self.validations.append(token)
            answer = token.encode()
        else:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.events.append((headers, json.loads(body)))
            answer = b""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": answer})


def test_webhook_round_trip_on_loopback() -> None:
    receiver = Receiver()

    async def main() -> None:
        async with serve(receiver) as url, Emulator() as emu, client_for(emu) as client:
            group = await new_group(client, {"name": "Ops", "welcomeMessage": "Hi"})
            hook = await client.request(
                "POST",
                "/webhook",
                json={
                    "objectId": group,
                    "objectType": "Group",
                    "eventTypes": ["TextMessageCreated", "MemberAdded"],
                    "callBackUrl": url + "/hook",
                    "callBackToken": "tok-123",
                    "callBackContext": "ctx",
                },
            )
            assert hook.json()["webhookId"]
            assert len(receiver.validations) == 1
            await client.request("POST", f"/groups/{group}/messages", json={"message": "hello"})
            await client.request(
                "PUT", f"/groups/{group}/members", json={"members": ["+919999999999"]}
            )
            await emu.drain_webhooks()
            listed = await client.request(
                "GET", "/webhook", params={"objectId": group, "objectType": "Group"}
            )
            assert listed.json()["webhooks"][0]["callbackUrl"] == url + "/hook"

    asyncio.run(main())
    kinds = [event["eventType"] for _, event in receiver.events]
    assert sorted(kinds) == ["MemberAdded", "TextMessageCreated"]
    headers, event = next(e for e in receiver.events if e[1]["eventType"] == "TextMessageCreated")
    assert headers["kz-callback-token"] == "tok-123"
    assert event["data"]["text"] == "hello"
    assert event["data"]["isReply"] is False
    assert event["data"]["messageId"]
    assert event["context"] == "ctx"
    assert event["fromUser"] == MOBILE
    assert event["eventId"]


def test_webhook_registration_fails_when_the_receiver_does_not_echo() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="something else")

    async def main() -> None:
        async with (
            Emulator(webhook_transport=httpx.MockTransport(handler)) as emu,
            client_for(emu) as client,
        ):
            group = await new_group(client, {"name": "Ops", "welcomeMessage": "Hi"})
            body = {
                "objectId": group,
                "objectType": "Group",
                "eventTypes": ["TextMessageCreated"],
                "callBackUrl": "https://r.example/h",
            }
            with pytest.raises(BadRequestError, match="validation"):
                await client.request("POST", "/webhook", json=body)

    run_virtual(main)


def test_failed_deliveries_are_retried_then_the_webhook_disabled() -> None:
    attempts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, text=request.url.params["validationToken"])
        attempts.append(request.method)
        return httpx.Response(500)

    async def main() -> None:
        config = EmulatorConfig(webhook_retry_unit=1.0)
        async with (
            Emulator(config, webhook_transport=httpx.MockTransport(handler)) as emu,
            client_for(emu) as client,
        ):
            group = await new_group(client, {"name": "Ops", "welcomeMessage": "Hi"})
            body = {
                "objectId": group,
                "objectType": "Group",
                "eventTypes": ["TextMessageCreated"],
                "callBackUrl": "https://r.example/h",
            }
            await client.request("POST", "/webhook", json=body)
            await client.request("POST", f"/groups/{group}/messages", json={"message": "x"})
            await emu.drain_webhooks()
            listed = await client.request(
                "GET", "/webhook", params={"objectId": group, "objectType": "Group"}
            )
            assert listed.json()["webhooks"][0]["active"] is False

    run_virtual(main)
    assert len(attempts) == 7  # the first try and 6 retries


def test_members_subgroups_and_subscribers() -> None:
    async def main() -> None:
        async with Emulator() as emu, client_for(emu) as client:
            parent = await new_group(client, {"name": "Parent", "welcomeMessage": "Hi"})
            await client.request(
                "PUT", f"/groups/{parent}/members", json={"members": ["+919000000001"]}
            )
            members = (await client.request("GET", f"/groups/{parent}/members")).json()["members"]
            assert {m["mobileNumber"] for m in members} == {MOBILE, "+919000000001"}
            other = next(m for m in members if m["mobileNumber"] != MOBILE)
            await client.request("DELETE", f"/groups/{parent}/members/{other['id']}")
            assert (
                len((await client.request("GET", f"/groups/{parent}/members")).json()["members"])
                == 1
            )

            child = (
                await client.request(
                    "POST", f"/groups/{parent}/subgroups", json={"groupName": "Child"}
                )
            ).json()
            tree = (await client.request("GET", f"/groups/{parent}/subGroups")).json()
            assert [g["groupName"] for g in tree["subGroups"]] == ["Child"]
            await client.request("DELETE", f"/groups/{parent}/subGroups/{child['groupId']}")
            assert (await client.request("GET", f"/groups/{parent}/subGroups")).json()[
                "subGroups"
            ] == []

            public = await new_group(
                client, {"name": "Public", "welcomeMessage": "Hi", "groupType": "ConnectGroup"}
            )
            numbers = [f"+9190000{i:05d}" for i in range(120)]
            added = (
                await client.request(
                    "PUT",
                    f"/groups/{public}/subscribers/add",
                    json={"subscribers": [*numbers, "bad"]},
                )
            ).json()
            assert added["result"]["bad"]["isAdded"] is False
            seen, cursor = [], None
            while True:
                body = {"count": 50} | ({"cursor": cursor} if cursor else {})
                page = (
                    await client.request("POST", f"/groups/{public}/subscribers", json=body)
                ).json()
                seen += [s["mobileNumber"] for s in page["subscribers"]]
                cursor = page.get("cursor")
                if cursor is None:
                    break
            assert seen == sorted(numbers)
            with pytest.raises(NotFoundError):
                await client.request("GET", "/groups/no-such-group")

    run_virtual(main)


def test_injected_5xx_and_resets_reach_the_client_as_typed_errors() -> None:
    async def main() -> None:
        async with (
            Emulator(EmulatorConfig(seed=1)) as emu,
            client_for(emu, max_retries=0) as client,
        ):
            group = await new_group(client, {"name": "Ops", "welcomeMessage": "Hi"})
            emu.inject(Fault(route="POST /v1/groups/*/messages", error_rate=1.0))
            with pytest.raises(ServerError):
                await client.request("POST", f"/groups/{group}/messages", json={"message": "x"})
            emu.clear_faults()
            emu.inject(
                Fault(route="POST /v1/groups/*/messages", reset_rate=1.0, reset_phase="after")
            )
            with pytest.raises(TransportError) as info:
                await client.request("POST", f"/groups/{group}/messages", json={"message": "x"})
            assert info.value.request_sent is True
            assert emu.stats()["messagesPerGroup"][group] == 1  # processed, answer lost

    run_virtual(main)


def test_module_runs_a_loopback_server() -> None:
    with loopback_emulator("--connector-limit", "10/6") as (creds, root):
        assert root.startswith("http://127.0.0.1:")

        async def main() -> dict[str, Any]:
            client = KaizalaClient(
                Credentials(
                    creds["applicationId"], creds["applicationSecret"], creds["refreshToken"]
                ),
                api_root=root,
                limits=RateLimits.unlimited(),
            )
            async with client:
                await client.request(
                    "POST",
                    "/groups",
                    json={"name": "Loop", "welcomeMessage": "Hi"},
                )
                async with httpx.AsyncClient() as http:
                    return (await http.get(root + "/_emulator/stats")).json()  # type: ignore[no-any-return]

        stats = asyncio.run(main())
        assert stats["connectors"][creds["applicationId"]]["calls"] == 2


def test_actions_responses_and_subgroups_raise_their_events_and_latency_is_injected() -> None:
    delivered: list[dict[str, Any]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, text=request.url.params["validationToken"])
        delivered.append(json.loads(request.content))
        return httpx.Response(200)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        async with (
            Emulator(webhook_transport=httpx.MockTransport(receiver)) as emu,
            client_for(emu) as client,
        ):
            group = await new_group(client, {"name": "G", "welcomeMessage": "Hi"})
            await client.request(
                "POST",
                "/webhook",
                json={
                    "objectId": group,
                    "objectType": "Group",
                    "eventTypes": [
                        "SurveyCreated",
                        "ActionCreated",
                        "SurveyResponse",
                        "ActionResponse",
                        "GroupAdded",
                    ],
                    "callBackUrl": "https://receiver.example/h",
                },
            )
            survey = (
                await client.request(
                    "POST",
                    f"/groups/{group}/actions",
                    json={
                        "actionType": "Survey",
                        "actionBody": {"title": "S", "questions": [{"title": "q", "type": "Text"}]},
                    },
                )
            ).json()["actionId"]
            await client.request(
                "POST",
                f"/groups/{group}/actions/{survey}/responses",
                json={"actionType": "Survey", "actionBody": {"answers": ["a"]}},
            )
            await client.request(
                "POST",
                f"/groups/{group}/subGroups",
                json={"name": "Child", "welcomeMessage": "Hi"},
            )
            await emu.drain_webhooks()
            emu.inject(Fault(route="GET /v1/groups", latency=2.5))
            start = loop.time()
            await client.request("GET", "/groups")
            return loop.time() - start

    took = run_virtual(main)
    assert 2.5 <= took < 2.6
    kinds = sorted(event["eventType"] for event in delivered)
    assert kinds == [
        "ActionCreated",
        "ActionResponse",
        "GroupAdded",
        "SurveyCreated",
        "SurveyResponse",
    ]
    created = next(e for e in delivered if e["eventType"] == "SurveyCreated")
    assert created["data"]["actionId"] and created["data"]["surveyTitle"] == "S"
    added = next(e for e in delivered if e["eventType"] == "GroupAdded")
    assert added["data"]["groupName"] == "Child"


async def test_the_validation_handshake_keeps_the_callback_urls_own_query() -> None:
    """K1: a callback URL with a query of its own (a tenant, a key) gets it back with the
    validationToken; httpx's params= used to replace it."""
    seen: list[str] = []

    async def receiver(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        query = scope["query_string"].decode()
        seen.append(query)
        token = dict(pair.split("=", 1) for pair in query.split("&")).get("validationToken", "")
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})  # fmt: skip
        await send({"type": "http.response.body", "body": token.encode()})

    transport = httpx.ASGITransport(app=receiver)
    async with Emulator(EmulatorConfig.fast(), webhook_transport=transport) as emu:
        group = emu.create_groups(1)[0]
        async with emu.client() as client:
            await client.webhooks.register(
                group, "Group", ["TextMessageCreated"], "https://hooks.example.com/k?tenant=abc",
                callback_token="a-long-random-value",
            )  # fmt: skip
    assert seen and "tenant=abc" in seen[0] and "validationToken=" in seen[0]


async def test_announcement_and_attachment_events_say_where_and_carry_media() -> None:
    """K2: like the text-message event, Announcement and AttachmentCreated carry groupId,
    sourceGroupId and messageId; an announcement's media are in its event."""
    deliveries: list[dict[str, Any]] = []
    transport = recording_receiver(deliveries)
    async with Emulator(EmulatorConfig.fast(), webhook_transport=transport) as emu:
        group = emu.create_groups(1)[0]
        async with emu.client() as client:
            await client.webhooks.register(group, "Group", ["Announcement", "AttachmentCreated"],
                                           "https://hooks.example.com/k",
                                           callback_token="a-long-random-value")  # fmt: skip
            media = await client.media.upload(b"\x89PNG fake", filename="door.png")
            sent = await client.actions.send(
                group, AnnouncementAction(message="Doors open", title="Today",
                                          media_resources=[media.media_resource]),
            )  # fmt: skip
            await client.actions.send(group, ImageAction(media_resource=media.media_resource))
        await emu.drain_webhooks()
    by_type = {d["eventType"]: d["data"] for d in deliveries}
    announcement, attachment = by_type["Announcement"], by_type["AttachmentCreated"]
    for data in (announcement, attachment):
        assert data["groupId"] == data["sourceGroupId"] == group
        assert data["messageId"]
    assert announcement["messageId"] == sent.reference_id
    # As the service's Announcement sample shows them (issue 28): {url, fileName} per file.
    (item,) = announcement["media"]
    assert item["fileName"] == "door.png"
    assert item["url"].startswith("https://media.kaizala.emulator/")


async def test_group_objects_carry_the_whole_documented_field_set() -> None:
    """G2 and X1 return every field of the reference's group object (six used to be missing)."""
    documented = {
        "groupId", "groupName", "groupImageUrl", "hasSubGroups", "hasParentGroups",
        "isMappedToTenant", "groupType", "userCount", "currentLevelUserCount", "callerRole",
        "currentLevelSubGroupCount", "currentLevelParentGroupCount", "uniqueUserCount",
        "currentLevelUnProvisionedUserCount", "unProvisionedUserCount", "isDuplicate",
        "isEditable", "isDetailsReadable",
    }  # fmt: skip
    async with Emulator(EmulatorConfig.fast()) as emu:
        emu.create_groups(1)
        async with emu.client() as client:
            listed = (await client.request("GET", "/groups")).json()["groups"]
            found = (
                await client.request("GET", "/tenant/findGroupsByQuery", params={"query": "Group"})
            ).json()["groups"]
    assert listed and found
    for group in (*listed, *found):
        assert documented <= set(group), documented - set(group)
    assert listed[0]["isEditable"] is True


async def test_action_details_answer_responses_in_lower_camel_case() -> None:
    """C3 with responses: the stored response comes back as the service spells it
    (``isCompleted``), not as the emulator stored it (``iscompleted``)."""
    async with Emulator(EmulatorConfig.fast()) as emu:
        group = emu.create_groups(1)[0]
        async with emu.client() as client:
            sent = await client.actions.send(
                group, JobAction(title="Close the store", assigned_to=[MOBILE])
            )
            await client.actions.respond(group, sent.action_id, JobResponseBody(is_completed=True))
            raw = await client.request(
                "GET", f"/groups/{group}/actions/{sent.action_id}", params={"getDetails": "true"}
            )
    responses = raw.json()["actionDetails"]["responses"]
    assert responses and responses[0]["isCompleted"] is True
    assert "iscompleted" not in responses[0]
