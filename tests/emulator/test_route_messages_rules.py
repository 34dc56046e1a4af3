"""The emulator's message and media routes (T1, D1, D2), call by call on the wire."""

from __future__ import annotations

import pytest

from .helpers import MOBILE, Wire, invalid, run_wire


def test_a_message_is_kept_answered_with_its_reference_and_raises_its_event() -> None:
    async def test(w: Wire) -> None:
        group = w.group()
        status, body = await w.call(
            "POST", f"/v1/groups/{group}/messages", json={"message": "hello"}
        )
        assert status == 200 and set(body) == {"referenceId"}
        (message,) = w.emu.app.world.groups[group].messages
        assert (message.reference_id, message.text, message.sender) == (
            body["referenceId"],
            "hello",
            MOBILE,
        )
        assert message.sent_at == pytest.approx(w.emu.app.wall(), abs=1.0)
        assert w.events == [(group, "TextMessageCreated", {
            "text": "hello", "groupId": group, "sourceGroupId": group, "messageId": body["referenceId"],
            "isReply": False}, MOBILE)]  # fmt: skip
        status, _ = await w.call("POST", f"/v1/groups/{group}/messages",
                                     json={"message": "re", "replyToReferenceId": body["referenceId"]})  # fmt: skip
        assert status == 200
        assert w.events[1][2]["isReply"] is True
        assert w.events[1][2]["originalMessageId"] == body["referenceId"]

    run_wire(test)


def test_a_message_must_be_text_within_the_length_limit() -> None:
    async def test(w: Wire) -> None:
        group = w.group()
        for body in ({}, {"message": "  "}, {"message": 5}):
            assert await w.call("POST", f"/v1/groups/{group}/messages", json=body) == (
                400, invalid("message is required"),
            )  # fmt: skip
        assert (await w.call("POST", f"/v1/groups/{group}/messages", json={"message": "x" * 10}))[
            0
        ] == 200
        assert await w.call("POST", f"/v1/groups/{group}/messages", json={"message": "x" * 11}) == (
            400, invalid("message is longer than 10 characters"),
        )  # fmt: skip
        assert len(w.emu.app.world.groups[group].messages) == 1

    run_wire(test, max_message_length=10)


def test_subscribers_apply_to_public_groups_and_unknown_ones_are_reported() -> None:
    async def test(w: Wire) -> None:
        plain = w.group()
        only_public = invalid(
            "sendToAllSubscribers and subscribers apply only to public (ConnectGroup) groups"
        )
        for extra in (
            {"sendToAllSubscribers": True},
            {"sendToAllSubscribers": "true"},
            {"subscribers": ["+91"]},
        ):
            assert await w.call("POST", f"/v1/groups/{plain}/messages", json={"message": "m", **extra}) == (
                400, only_public,
            )  # fmt: skip
        status, _ = await w.call("POST", f"/v1/groups/{plain}/messages",
                                 json={"message": "m", "sendToAllSubscribers": "false"})  # fmt: skip
        assert status == 200
        public = w.group(group_type="ConnectGroup")
        w.emu.app.world.groups[public].subscribers["+919000000001"] = "id1"
        status, body = await w.call("POST", f"/v1/groups/{public}/messages",
                                    json={"message": "m", "subscribers": ["+919000000001", "+919000000002"]})  # fmt: skip
        assert status == 200
        assert body["failedResult"] == [{"subscriber": "+919000000002", "subscriberId": "",
                                         "errorReason": "Not a subscriber", "errorCode": "NotFound"}]  # fmt: skip
        status, body = await w.call("POST", f"/v1/groups/{public}/messages",
                                    json={"message": "m", "subscribers": ["+919000000001"]})  # fmt: skip
        assert set(body) == {"referenceId"}  # none failed: no failedResult
        status, body = await w.call("POST", f"/v1/groups/{public}/messages",
                                    json={"message": "m", "sendToAllSubscribers": True})  # fmt: skip
        assert (status, set(body)) == (200, {"referenceId"})

    run_wire(test)


def test_media_uploads_go_to_the_content_store() -> None:
    async def test(w: Wire) -> None:
        files = {"file": ("a.png", b"1234", "image/png")}
        status, body = await w.call("POST", "/v1/media", files=files)
        assert status == 200 and w.emu.app.content.is_media(body["mediaResource"])
        status, body = await w.call("POST", "/v1/media", content=b"x")
        assert (status, body["errorCode"]) == (415, "UnsupportedMediaType")
        status, body = await w.call(
            "POST", "/v1/media/url", json={"mediaUrl": "https://x.test/a.mp4"}
        )
        assert status == 200 and body["mediaResource"] in w.emu.app.content.media

    run_wire(test)
