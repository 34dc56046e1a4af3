"""Every trigger and action of the Power Automate connector page that has a REST counterpart,
end to end through the SDK against the emulator: each output field the page lists is reachable
on the SDK's answer or event under its snake_case name.

Left out, with the reason: the ``SendActionReminder`` action and the ``UserJoinedOnGroup``
trigger (no REST call or event name is known for them); the ``mediaContent`` output (the file
bytes Power Automate downloads itself: the service's event carries the files' URLs, ``media``).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx

import kaizala_async as k
from kaizala_async.emulator import Emulator, EmulatorConfig

from .helpers import MOBILE

TOKEN = "a-long-random-callback-token"
MISSING = object()

#: Trigger (operation id) -> (event type, the output fields the page lists).
TRIGGERS: dict[str, tuple[str, list[str]]] = {
    "ActionCreatedOnGroup": ("ActionCreated", ["actionTitle", "fromUser", "fromUserName",
        "fromUserProfilePic", "groupId", "actionId", "fromUserId"]),
    "SurveyCreatedOnGroup": ("SurveyCreated", ["surveyTitle", "fromUser", "fromUserName",
        "fromUserProfilePic", "groupId", "actionId", "fromUserId"]),
    "TextMessageCreatedOnGroup": ("TextMessageCreated", ["textMessage", "fromUser", "fromUserName",
        "fromUserProfilePic", "groupId", "sourceGroupId", "messageId", "isReply",
        "originalMessageId", "fromUserId"]),
    "AnnouncementOnGroup": ("Announcement", ["text", "title", "media", "fromUser", "fromUserName",
        "fromUserProfilePic", "groupId", "sourceGroupId", "messageId", "fromUserId"]),
    "AttachmentOnGroup": ("AttachmentCreated", ["caption", "actionType", "media", "fromUser",
        "fromUserName", "fromUserProfilePic", "groupId", "sourceGroupId", "messageId", "fromUserId"]),
    "MemberAddedToGroup": ("MemberAdded", ["member", "memberName", "memberProfilePic", "type",
        "fromUser", "fromUserName", "fromUserProfilePic"]),
    "MemberRemovedFromGroup": ("MemberRemoved", ["member", "memberName", "memberProfilePic", "type",
        "fromUser", "fromUserName", "fromUserProfilePic"]),
    "GroupAddedToGroup": ("GroupAdded", ["groupId", "groupName", "groupPicUrl", "groupType",
        "fromUser", "fromUserName", "fromUserProfilePic"]),
    "GroupRemovedFromGroup": ("GroupRemoved", ["groupId", "groupName", "groupPicUrl", "groupType",
        "fromUser", "fromUserName", "fromUserProfilePic"]),
    # objectId = the survey / the custom action; the page shows no output fields for these two.
    "SurveyResponseOnGroup": ("SurveyResponse", ["groupId", "actionId", "responseId"]),
    "ActionResponseOnGroup": ("ActionResponse", ["groupId", "actionId", "responseId"]),
}  # fmt: skip


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def reachable(holder: Any, field: str) -> Any:
    """The field on the event (envelope) or its data, by snake_case name."""
    name = snake(field)
    for where in (holder, getattr(holder, "data", None)):
        value = getattr(where, name, MISSING)
        if value is not MISSING:
            return value
    return MISSING


async def test_every_action_and_trigger_with_a_rest_counterpart_works_end_to_end() -> None:
    receiver = k.WebhookReceiver(callback_token=TOKEN)
    events: list[k.WebhookEvent] = []

    @receiver.on(k.WebhookEvent)
    async def record(event: k.WebhookEvent) -> None:
        events.append(event)

    transport = httpx.ASGITransport(app=receiver)
    emulator = Emulator(EmulatorConfig.fast(), webhook_transport=transport)
    async with emulator as emu, emu.client() as client:

        async def subscribe(object_id: str, object_type: k.ObjectType, *types: str) -> str:
            hook = await client.webhooks.register(
                object_id, object_type, list(types), "https://flows.example/hook",
                callback_token=TOKEN,
            )  # fmt: skip
            return hook.webhook_id

        # Actions (the page's operation ids) and the fields their answers list.
        created = await client.groups.create(  # CreateGroup -> {groupId}
            "Field crew", "Welcome", members=["+919999900001"], group_type="Group",
            short_description="short", long_description="long",
        )  # fmt: skip
        group = created.group_id
        group_types = [t for _, (t, _) in TRIGGERS.items() if not t.endswith("Response")]
        hook_id = await subscribe(group, "Group", *group_types)
        public = (await client.groups.create("Hub", "Welcome", group_type="ConnectGroup")).group_id
        spare = (await client.groups.create("Spare", "Welcome")).group_id
        sub = await client.subgroups.create(group, "Sub", "Welcome")  # CreateSubgroup
        await client.subgroups.attach(group, [spare])  # AddGroupToGroup
        await client.subgroups.detach(group, spare)  # RemoveGroupFromGroup
        await client.members.add(group, ["+919999900002"])  # AddUserToGroup
        member = next(m for m in await client.members.list(group).collect()
                      if m.mobile_number == "+919999900002")  # fmt: skip
        await client.members.remove(group, member.id)  # RemoveUserFromGroup
        await client.subscribers.add(public, ["+919999900003"])  # AddSubscriberToGroup
        sent = await client.messages.send(group, "Shift starts at 6")  # SendMessage
        reply = await client.messages.send(group, "Ok", reply_to=sent.reference_id)  # SendReply
        to_all = await client.messages.send(public, "Hello all", send_to_all_subscribers=True)
        reaction = await client.reactions.like(group, sent.reference_id)  # PostReaction
        upload = await client.media.upload(
            b"\x89PNG fake", filename="site.png"
        )  # UploadMediaFileContent
        from_url = await client.media.upload_url("https://cdn.example/a.png")  # UploadMediaFromURL
        from_attachment = await client.media.upload(  # UploadMediaFromAttachment (base64)
            base64.b64decode(base64.b64encode(b"%PDF-1.4")), filename="form.pdf")  # fmt: skip
        for answer, field in [(sent, "referenceId"), (reply, "referenceId"), (to_all, "referenceId"),
                              (reaction, "ReactionId"), (upload, "mediaResource"),
                              (from_url, "mediaResource"), (from_attachment, "mediaResource"),
                              (created, "groupId"), (sub, "groupId")]:  # fmt: skip
            assert reachable(answer, field) not in (MISSING, None, ""), field
        # SendActions / SendActions_v2 -> {referenceId, actionId}
        announcement = await client.actions.send(group, k.AnnouncementAction(
            title="Safety", message="Helmets on", media_resources=[upload.media_resource]))  # fmt: skip
        await client.actions.send(group, k.ImageAction(media_resource=upload.media_resource,
                                                       caption="Site"))  # fmt: skip
        survey = await client.actions.send(group, k.SurveyAction(
            title="Ready?", questions=[k.SurveyQuestion(title="Why", type="Text")]))  # fmt: skip
        package = "com.contoso.checkin.1"
        custom = await client.actions.send(group, k.CustomAction(package_id=package, title="In"))
        for answer in (announcement, survey, custom):
            for field in ("referenceId", "actionId"):
                assert reachable(answer, field) not in (MISSING, None, ""), field
        await subscribe(survey.action_id, "Action", "SurveyResponse")  # SurveyResponseOnGroup
        await subscribe(custom.action_id, "Action", "ActionResponse")  # ActionResponseOnGroup
        await client.actions.respond(group, survey.action_id, k.SurveyResponseBody(answers=["x"]))
        await client.actions.respond(group, custom.action_id, k.SurveyResponseBody(answers=["y"]),
                                     package_id=package)  # fmt: skip
        await emu.drain_webhooks()
        await client.webhooks.delete(hook_id)  # DeleteTrigger
        assert await client.webhooks.list(group, "Group").collect() == []

    by_type: dict[str, list[k.WebhookEvent]] = {}
    for event in events:
        by_type.setdefault(event.event_type, []).append(event)
    for trigger, (event_type, fields) in TRIGGERS.items():
        assert event_type in by_type, trigger
        for field in fields:
            values = [reachable(e, field) for e in by_type[event_type]]
            assert any(v not in (MISSING, None) for v in values), (trigger, field, values)
    assert all(e.from_user == MOBILE for e in events)
    texts = by_type["TextMessageCreated"]
    assert {e.data.text_message for e in texts} >= {"Shift starts at 6", "Ok"}  # type: ignore[attr-defined]
    response_objects = {(e.object_type, e.object_id) for e in by_type["SurveyResponse"]}
    assert ("Action", survey.action_id) in response_objects
