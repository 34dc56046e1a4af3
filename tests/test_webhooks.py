"""Webhook events and the receiver: every SPEC event sample and every seed 004 trigger schema
decodes into a typed event; the receiver's handshake, token check, dedupe and handler isolation;
and the emulator delivering to a receiver served on loopback."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import kaizala_async as k
from kaizala_async.emulator import Emulator
from tests.emulator.helpers import client_for, serve

ENVELOPE = {
    "objectId": "8c2050-9be8-45d6-97f5-bb7013930027",
    "objectType": "Group",
    "eventId": "55ed01-02b5-491e-8e7e-484726da976b",
    "context": "Any data which is required to be returned in callback",
    "fromUser": "+91xxxxxxxx",
    "fromUserId": "72e91-f3-4e7b-84eb-4e228406fb9b",
    "fromUserName": "Robin Richard",
    "fromUserProfilePic": "https://mobileonlyapps.blob.core.windows.net/c34a.jpg",
}

# (eventType, data) from SPEC K2 "data per event".
SPEC_SAMPLES: list[tuple[str, dict[str, Any], type[k.WebhookEvent], Any]] = [
    ("TextMessageCreated", {"text": "Test Message"}, k.TextMessageCreatedEvent,
     lambda d: d.body == "Test Message"),
    ("AttachmentCreated",
     {"media": [{"mediaUrl": "https://cdn/0ad1.jpg?sv=1", "mediaFileName": "IMG_1.jpg"}],
      "actionType": "Image", "caption": "Testing."},
     k.AttachmentCreatedEvent,
     lambda d: d.media == (k.MediaItem(url="https://cdn/0ad1.jpg?sv=1", file_name="IMG_1.jpg"),)),
    ("Announcement",
     {"text": "Caption :Testing.", "title": "Sent by Robin Richard",
      "media": [{"url": "https://cdn/beb2.jpeg", "fileName": "e3c1.jpeg"}]},
     k.AnnouncementEvent,
     lambda d: d.media[0].file_name == "e3c1.jpeg" and d.title == "Sent by Robin Richard"),
    ("JobCreated",
     {"assignedTo": ["+919740797266"], "title": "Test Job", "dueDate": "2018-03-22T18:29:59Z",
      "actionId": "aeb012-31a0-477a-a131-8a1e2791b36e", "groupId": "8c291050-9be8-6-97f5-bb7013930027"},
     k.JobCreatedEvent,
     lambda d: d.due_date == datetime(2018, 3, 22, 18, 29, 59, tzinfo=UTC)),
    ("JobResponse",
     {"actionId": "2ce34820-3d67-4807-9a1d-7cf099c2e7ae", "groupId": "8c291050",
      "responseId": "80a883ec-e6c7-4dc8-979d-d268bbeeee8b",
      "responseDetails": {"response": {"assignee": "+91xxxxxxxx", "assigneeName": "Robin Richard",
                                       "assigneeProfilePic": "https://x.jpg", "isCompleted": True}}},
     k.JobResponseEvent,
     lambda d: d.response.is_completed is True and d.response.assignee_name == "Robin Richard"),
    ("SurveyResponse",
     {"actionId": "920f9802-62dafb-9bc2-8d3ba5c43609", "groupId": "8c291050",
      "responseId": "420e9ef0-2a6d-405-a2bf-2688648ce79a", "isUpdateResponse": False,
      "responder": "+91xxxxxxxxx", "responderName": "Robin Richard",
      "responderProfilePic": "https://x.jpg", "isAnonymous": False,
      "responseDetails": {"responseWithQuestions": [
          {"title": "1", "type": "Text", "options": [], "answer": "1"},
          {"isInvisible": True, "title": "ResponseTime", "type": "DateTime", "options": [],
           "answer": 1521800782956}]}},
     k.SurveyResponseEvent,
     lambda d: [a.answer for a in d.answers] == ["1", 1521800782956] and d.answers[1].is_invisible),
    ("ActionResponse",
     {"actionId": "a-1", "responseId": "r-1", "responder": "+91x",
      "responseDetails": {"responseWithQuestions": []}},
     k.ActionResponseEvent, lambda d: d.response_id == "r-1"),
    ("ActionCreated", {"actionId": "a-1", "groupId": "g-1", "actionType": "Poll", "title": "T",
                       "actionTitle": "T"},
     k.ActionCreatedEvent, lambda d: d.action_title == "T"),
    ("SurveyCreated", {"actionId": "a-1", "groupId": "g-1", "surveyTitle": "S"},
     k.SurveyCreatedEvent, lambda d: d.survey_title == "S"),
    ("MemberAdded", {"member": "+91xxxxxxxx", "memberName": "Jan Decker",
                     "memberProfilePic": "https://x.jpg", "type": "Member"},
     k.MemberAddedEvent, lambda d: d.member_name == "Jan Decker" and d.type == "Member"),
    ("MemberRemoved", {"member": "+91xxxxxxxx", "memberName": "Jan Decker", "type": "Member"},
     k.MemberRemovedEvent, lambda d: d.member == "+91xxxxxxxx"),
    ("GroupAdded", {"groupId": "g-2", "groupName": "Sub", "groupPicUrl": "", "groupType": "Group"},
     k.GroupAddedEvent, lambda d: d.group_name == "Sub"),
    ("GroupRemoved", {"groupId": "g-2", "groupName": "Sub", "groupType": "Group"},
     k.GroupRemovedEvent, lambda d: d.group_id == "g-2"),
    ("PollCreated", {"actionId": "a-1", "groupId": "g-1", "question": "Lunch?"},
     k.PollCreatedEvent, lambda d: d.question == "Lunch?"),
    ("LetsMeetCreated", {"actionId": "a-1", "groupId": "g-1", "title": "Standup"},
     k.LetsMeetCreatedEvent, lambda d: d.title == "Standup"),
    ("PollResponse", {"actionId": "a-1", "responseId": "r-1"},
     k.PollResponseEvent, lambda d: d.action_id == "a-1"),
    ("LetsMeetResponse", {"actionId": "a-1", "responseId": "r-2"},
     k.LetsMeetResponseEvent, lambda d: d.response_id == "r-2"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event_type", "data", "cls", "check"), SPEC_SAMPLES, ids=[s[0] for s in SPEC_SAMPLES]
)
def test_every_spec_event_sample_decodes(
    event_type: str, data: dict[str, Any], cls: type[k.WebhookEvent], check: Any
) -> None:
    payload = {**ENVELOPE, "eventType": event_type, "data": data}
    event = k.decode_event(payload)
    assert type(event) is cls
    assert event.event_type == event_type
    assert event.from_user_name == "Robin Richard"
    assert event.event_id == ENVELOPE["eventId"]
    assert event.raw is payload
    assert check(event.data)  # type: ignore[attr-defined]


def test_the_seventeen_event_types_all_have_a_class() -> None:
    assert set(k.EVENT_TYPES) == {s[0] for s in SPEC_SAMPLES}
    assert len(k.EVENT_TYPES) == 17


# Seed 004's Power Automate trigger outputs: flattened objects (data fields at the top level).
SEED_004 = {
    "ActionCreated": ("ActionCreated", {"actionTitle": "T", "fromUser": "+91", "fromUserName": "N",
        "fromUserProfilePic": "p", "groupId": "g", "actionId": "a", "fromUserId": "u"}),
    "SurveyCreated": ("SurveyCreated", {"surveyTitle": "S", "fromUser": "+91", "fromUserName": "N",
        "fromUserProfilePic": "p", "groupId": "g", "actionId": "a", "fromUserId": "u"}),
    "TextMessageCreated": ("TextMessageCreated", {"textMessage": "hi", "fromUser": "+91",
        "fromUserName": "N", "fromUserProfilePic": "p", "groupId": "g", "sourceGroupId": "g",
        "messageId": "m", "isReply": True, "originalMessageId": "o", "fromUserId": "u"}),
    "Announcement": ("Announcement", {"text": "t", "title": "T", "media": ["https://m/1.jpg"],
        "mediaContent": ["..."], "fromUser": "+91", "fromUserName": "N", "fromUserProfilePic": "p",
        "groupId": "g", "sourceGroupId": "g", "messageId": "m", "fromUserId": "u"}),
    "Attachment": ("AttachmentCreated", {"caption": "c", "actionType": "Image",
        "media": ["https://m/1.jpg"], "mediaContent": ["..."], "fromUser": "+91",
        "fromUserName": "N", "fromUserProfilePic": "p", "groupId": "g", "sourceGroupId": "g",
        "messageId": "m", "fromUserId": "u"}),
    "MemberAdded": ("MemberAdded", {"member": "+92", "memberName": "M", "memberProfilePic": "mp",
        "type": "Member", "fromUser": "+91", "fromUserName": "N", "fromUserProfilePic": "p"}),
    "MemberRemoved": ("MemberRemoved", {"member": "+92", "memberName": "M",
        "memberProfilePic": "mp", "type": "Member", "fromUser": "+91", "fromUserName": "N",
        "fromUserProfilePic": "p"}),
    "GroupAdded": ("GroupAdded", {"groupId": "g2", "groupName": "Sub", "groupPicUrl": "u",
        "groupType": "Group", "fromUser": "+91", "fromUserName": "N", "fromUserProfilePic": "p"}),
    "GroupRemoved": ("GroupRemoved", {"groupId": "g2", "groupName": "Sub", "groupPicUrl": "u",
        "groupType": "Group", "fromUser": "+91", "fromUserName": "N", "fromUserProfilePic": "p"}),
    # The user-joined trigger's event name is unknown (SPEC G-8): kept as an UnknownEvent.
    "UserJoined": ("UserJoined", {"fromUser": "+91", "fromUserName": "N",
        "fromUserProfilePic": "p", "fromUserId": "u", "groupId": "g"}),
}  # fmt: skip


@pytest.mark.parametrize("schema", sorted(SEED_004))
def test_every_seed_004_trigger_schema_decodes(schema: str) -> None:
    event_type, flat = SEED_004[schema]
    event = k.decode_event({"eventType": event_type, **flat})
    assert event.from_user == "+91"
    assert event.from_user_name == "N"
    data: Any = event.data  # type: ignore[attr-defined]
    envelope_keys = {"fromUser", "fromUserName", "fromUserProfilePic", "fromUserId"}
    for key, value in flat.items():
        if key in envelope_keys or key == "mediaContent":
            continue
        if isinstance(event, k.UnknownEvent):
            assert data[key] == value
            continue
        attribute = {"media": "media", "textMessage": "text_message"}.get(key)
        name = attribute or "".join("_" + c.lower() if c.isupper() else c for c in key)
        got = getattr(data, name)
        if key == "media":
            got = [m.url for m in got]
        assert got == value, key
    if schema == "TextMessageCreated":
        assert isinstance(event, k.TextMessageCreatedEvent) and event.data.body == "hi"
    assert isinstance(event, k.UnknownEvent) == (schema == "UserJoined")


def test_unknown_types_and_undecodable_data_never_raise() -> None:
    unknown = k.decode_event({"eventType": "GroupRenamed", "data": {"name": "x"}})
    bad = k.decode_event({"eventType": "JobCreated", "data": {"dueDate": "not a date"}})
    empty = k.decode_event({})
    assert isinstance(unknown, k.UnknownEvent) and unknown.data == {"name": "x"}
    assert isinstance(bad, k.UnknownEvent) and bad.event_type == "JobCreated"
    assert isinstance(empty, k.UnknownEvent) and empty.event_type == ""


def _delivery(event_type: str = "TextMessageCreated", event_id: str = "e-1") -> bytes:
    return json.dumps({**ENVELOPE, "eventType": event_type, "eventId": event_id,
                       "data": {"text": "hi"}}).encode()  # fmt: skip


async def test_receiver_handshake_token_check_dedupe_and_handler_isolation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = k.WebhookReceiver(callback_token="tok-secret-1")
    got: list[str] = []

    @receiver.on(k.TextMessageCreatedEvent)
    async def broken(event: k.TextMessageCreatedEvent) -> None:
        raise RuntimeError("handler bug")

    @receiver.on(k.TextMessageCreatedEvent)
    async def typed(event: k.TextMessageCreatedEvent) -> None:
        got.append("typed:" + event.data.body)

    @receiver.on(k.WebhookEvent)
    async def everything(event: k.WebhookEvent) -> None:
        got.append("any:" + event.event_type)

    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="https://hooks.example") as http:
        shake = await http.get("/kz", params={"validationToken": "3f1c2a"})
        no_token = await http.post("/kz", content=_delivery())
        wrong = await http.post("/kz", content=_delivery(), headers={"kz-callback-token": "tok-x"})
        good = {"kz-callback-token": "tok-secret-1"}
        with caplog.at_level(logging.ERROR, logger="kaizala_async.webhooks"):
            first = await http.post("/kz", content=_delivery(), headers=good)
        again = await http.post("/kz", content=_delivery(), headers=good)
        other = await http.post("/kz", content=_delivery("MemberAdded", "e-2"), headers=good)
        not_json = await http.post("/kz", content=b"{", headers=good)
        huge = await http.post("/kz", content=b"[" + b"1," * 600_000 + b"1]", headers=good)
        put = await http.put("/kz", content=b"{}", headers=good)
    assert (shake.status_code, shake.text) == (200, "3f1c2a")
    assert shake.headers["content-type"].startswith("text/plain")
    assert [no_token.status_code, wrong.status_code] == [401, 401]
    assert [first.status_code, again.status_code, other.status_code] == [200, 200, 200]
    assert [not_json.status_code, huge.status_code, put.status_code] == [400, 413, 405]
    assert sorted(got) == ["any:MemberAdded", "any:TextMessageCreated", "typed:hi"]
    assert receiver.stats.duplicates == 1
    assert receiver.stats.handler_errors == 1
    assert receiver.stats.rejected == 4
    assert "handler bug" in caplog.text
    assert "tok-secret-1" not in caplog.text and "tok-secret-1" not in repr(receiver)


def test_end_to_end_the_emulator_delivers_to_a_receiver_on_loopback() -> None:
    import asyncio

    receiver = k.WebhookReceiver(callback_token="loop-token")
    events: list[k.WebhookEvent] = []

    async def collect(event: k.WebhookEvent) -> None:
        events.append(event)

    receiver.add_handler(k.WebhookEvent, collect)

    async def main() -> str:
        async with serve(receiver) as origin, Emulator() as emu, client_for(emu) as client:
            gid = (await client.groups.create("Ops", "Hi")).group_id
            await client.webhooks.register(
                gid,
                "Group",
                ["TextMessageCreated", "MemberAdded", "JobCreated", "GroupAdded"],
                origin + "/kaizala",
                callback_token="loop-token",
            )
            sent = await client.messages.send(gid, "hello over loopback")
            await client.members.add(gid, ["+919652000001"])
            await client.actions.send(
                gid, k.JobAction(title="Count", assigned_to=["+919652000001"])
            )
            child = await client.groups.create("Child", "Hi")
            await client.subgroups.attach(gid, [child.group_id])
            await emu.drain_webhooks()
            return sent.reference_id

    reference = asyncio.run(main())
    kinds = {type(e) for e in events}
    assert kinds == {
        k.TextMessageCreatedEvent,
        k.MemberAddedEvent,
        k.JobCreatedEvent,
        k.GroupAddedEvent,
    }
    text = next(e for e in events if isinstance(e, k.TextMessageCreatedEvent))
    assert text.data.body == "hello over loopback"
    assert text.data.message_id == reference
    member = next(e for e in events if isinstance(e, k.MemberAddedEvent))
    assert member.data.member == "+919652000001"
    assert receiver.stats.handshakes == 1 and receiver.stats.rejected == 0


def test_the_service_text_message_event_fills_text_message_too() -> None:
    """The service sends ``text``; Power Automate's schema names it ``textMessage``: both
    attributes hold the text whichever key came (``text_message`` used to stay None)."""
    service = k.decode_event({"eventType": "TextMessageCreated", "data": {"text": "hi"}})
    flattened = k.decode_event({"eventType": "TextMessageCreated", "textMessage": "hi"})
    for event in (service, flattened):
        assert isinstance(event, k.TextMessageCreatedEvent)
        assert (event.data.text, event.data.text_message, event.data.body) == ("hi", "hi", "hi")
