"""Text messages (T1) and media uploads (D1, D2)."""

from __future__ import annotations

import uuid
from typing import Any

from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._state import Message
from kaizala_async.emulator._wire import Answer, bad, ok, truthy

__all__ = ["ROUTES"]

routes = RouteSet()


@routes.add("T1", "POST", "/v1/groups/{groupId}/messages", permission="textmessage")
async def send_text(call: Call) -> Answer:
    group, data, limit = call.group(), call.body(), call.app.config.max_message_length
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        raise bad("message is required")
    if len(text) > limit:
        raise bad(f"message is longer than {limit} characters")
    answer: dict[str, Any] = {}
    subscribers = data.get("subscribers")
    if truthy(data.get("sendtoallsubscribers", False)) or subscribers:
        if group.group_type != "ConnectGroup":
            raise bad(
                "sendToAllSubscribers and subscribers apply only to public (ConnectGroup) groups"
            )
        if isinstance(subscribers, list):
            failed = [
                {
                    "subscriber": s,
                    "subscriberId": "",
                    "errorReason": "Not a subscriber",
                    "errorCode": "NotFound",
                }
                for s in subscribers
                if s not in group.subscribers
            ]
            if failed:
                answer["failedResult"] = failed
    message = Message(str(uuid.uuid4()), text, call.caller, call.app.wall())
    group.messages.append(message)
    reply_to = data.get("replytoreferenceid")
    event = {
        "text": text,
        "groupId": group.group_id,
        "sourceGroupId": group.group_id,
        "messageId": message.reference_id,
        "isReply": bool(reply_to),
    }
    if reply_to:
        event["originalMessageId"] = str(reply_to)
    call.app.emit(group, "TextMessageCreated", event, call.caller)
    answer["referenceId"] = message.reference_id
    return ok(answer)


@routes.add("D1", "POST", "/v1/media", permission="media")
async def upload(call: Call) -> Answer:
    request = call.request
    return ok(call.content.upload(request.headers.get("content-type", ""), request.body))


@routes.add("D2", "POST", "/v1/media/url", permission="media")
async def upload_url(call: Call) -> Answer:
    return ok(call.content.upload_url(call.body()))


ROUTES = routes.routes
