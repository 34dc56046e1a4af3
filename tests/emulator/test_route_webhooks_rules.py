"""The emulator's webhook management routes (W1-W4), call by call on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from .helpers import Wire, invalid, recording_receiver, wire

URL = "http://receiver.test/hook"


def _run(
    test: Callable[[Wire], Awaitable[None]], transport: httpx.AsyncBaseTransport | None = None
) -> None:
    async def main() -> None:
        async with wire(webhook_transport=transport or recording_receiver([])) as w:
            await test(w)

    asyncio.run(main())


def _body(object_id: str, **changes: Any) -> dict[str, Any]:
    return {"objectId": object_id, "objectType": "Group", "eventTypes": ["TextMessageCreated"],
            "callBackUrl": URL} | changes  # fmt: skip


def test_a_webhook_is_registered_with_its_canonical_names_and_listed_for_its_object() -> None:
    async def test(w: Wire) -> None:
        group = w.group()
        status, body = await w.call("POST", "/v1/webhook", json=_body(
            group, objectType="GROUP", eventTypes=["textmessagecreated", "MemberAdded"],
            callBackToken="tok", callBackContext="ctx"))  # fmt: skip
        assert status == 200
        hook = w.emu.app.hub.hooks[body["webhookId"]]
        assert (hook.object_type, hook.events) == ("Group", ["TextMessageCreated", "MemberAdded"])
        assert (hook.callback_url, hook.callback_token, hook.callback_context) == (
            URL,
            "tok",
            "ctx",
        )
        assert hook.owner == w.connector.application_id
        assert abs(hook.ts - w.emu.app.wall_ms()) < 1000
        assert hook.validity == hook.ts + 2 * 365 * 86_400_000
        status, listed = await w.call(
            "GET", "/v1/webhook", params={"objectId": group, "objectType": "group"}
        )
        assert (status, listed) == (200, {"webhooks": [hook.as_json()]})
        status, none = await w.call(
            "GET", "/v1/webhook", params={"objectId": group, "objectType": "Action"}
        )
        assert none == {"webhooks": []}
        status, body = await w.call(
            "POST", "/v1/webhook", json=_body(group, validity=123, callBackToken=None)
        )
        hook = w.emu.app.hub.hooks[body["webhookId"]]
        assert (hook.validity, hook.callback_token, hook.callback_context) == (123, "", "")

    _run(test)


def test_a_registration_is_checked_field_by_field_before_the_handshake() -> None:
    async def test(w: Wire) -> None:
        group = w.group()
        for changes, message in (
            ({"objectId": ""}, "objectId is required"),
            ({"objectId": 5}, "objectId is required"),
            ({"objectType": "Tenant"}, "objectType must be Group, Action or ActionPackage"),
            ({"objectType": None}, "objectType must be Group, Action or ActionPackage"),
            ({"eventTypes": []}, "eventTypes must be a non-empty list"),
            ({"eventTypes": "TextMessageCreated"}, "eventTypes must be a non-empty list"),
            ({"eventTypes": ["TextMessageCreated", "Nope"]}, "unknown event types: ['Nope']"),
            ({"callBackUrl": "ftp://x"}, "callBackUrl must be an http(s) URL"),
            ({"callBackUrl": None}, "callBackUrl must be an http(s) URL"),
        ):
            assert await w.call("POST", "/v1/webhook", json=_body(group, **changes)) == (
                400,
                invalid(message),
            )
        status, body = await w.call("POST", "/v1/webhook", json=_body("nope"))
        assert (status, body["message"]) == (404, "group nope not found")
        assert w.emu.app.hub.hooks == {}

    _run(test)


def test_objects_are_known_only_when_the_caller_sees_them() -> None:
    async def test(w: Wire) -> None:
        mine = w.group()
        theirs = w.group()
        w.emu.app.world.groups[theirs].members = {"+919000000009": "Admin"}
        assert (await w.call("POST", "/v1/webhook", json=_body(theirs)))[0] == 404
        mine_action, _ = w.emu.app.actions.send(mine, {"id": "pkg", "actionbody": {}}, "+91", 0.0)
        their_action, _ = w.emu.app.actions.send(
            theirs, {"id": "pkg", "actionbody": {}}, "+91", 0.0
        )
        assert (
            await w.call(
                "POST", "/v1/webhook", json=_body(mine_action.action_id, objectType="Action")
            )
        )[0] == 200
        status, body = await w.call(
            "POST", "/v1/webhook", json=_body(their_action.action_id, objectType="Action")
        )
        assert (status, body["message"]) == (404, f"action {their_action.action_id} not found")
        assert (await w.call("POST", "/v1/webhook", json=_body("nothing", objectType="Action")))[
            0
        ] == 404
        assert (
            await w.call(
                "POST", "/v1/webhook", json=_body("any.package", objectType="ActionPackage")
            )
        )[0] == 200

    _run(test)


def test_a_receiver_that_fails_the_handshake_is_refused() -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="")

    async def test(w: Wire) -> None:
        status, body = await w.call("POST", "/v1/webhook", json=_body(w.group()))
        assert (status, body) == (400, invalid("callback URL did not echo the validation token"))
        assert w.emu.app.hub.hooks == {}

    _run(test, httpx.MockTransport(silent))


def test_an_update_changes_what_it_names_and_revalidates_a_new_url() -> None:
    checked: list[str] = []

    def echo(request: httpx.Request) -> httpx.Response:
        checked.append(str(request.url.copy_with(query=None)))
        if "bad" in request.url.host:
            return httpx.Response(200, text="no")
        return httpx.Response(200, text=request.url.params.get("validationToken", ""))

    async def test(w: Wire) -> None:
        status, body = await w.call(
            "POST", "/v1/webhook", json=_body(w.group(), callBackToken="t", callBackContext="c")
        )
        hook_id = body["webhookId"]
        hook = w.emu.app.hub.hooks[hook_id]
        assert await w.call("PUT", f"/v1/webhook/{hook_id}", json={"callBackUrl": URL}) == (
            200,
            {"result": True},
        )
        assert checked == [URL]  # the same URL is not validated again
        assert await w.call("PUT", f"/v1/webhook/{hook_id}", json={"callBackUrl": "http://bad.test/x"}) == (
            400, invalid("callback URL did not echo the validation token"),
        )  # fmt: skip
        assert hook.callback_url == URL
        changes = {"callBackUrl": "http://new.test/h", "eventTypes": ["MemberAdded"], "callBackToken": None,
                   "callBackContext": "c2", "validity": "99", "active": "false"}  # fmt: skip
        assert await w.call("PUT", f"/v1/webhook/{hook_id}", json=changes) == (
            200,
            {"result": True},
        )
        assert (hook.callback_url, hook.events, hook.callback_token, hook.callback_context) == (
            "http://new.test/h", ["MemberAdded"], "", "c2",
        )  # fmt: skip
        assert (hook.validity, hook.active) == (99, False)
        assert await w.call("PUT", f"/v1/webhook/{hook_id}", json={"active": True}) == (
            200,
            {"result": True},
        )
        assert hook.active is True and hook.events == ["MemberAdded"]
        assert await w.call("PUT", f"/v1/webhook/{hook_id}", json={"callBackContext": None}) == (
            200,
            {"result": True},
        )
        assert hook.callback_context == ""
        assert await w.call("DELETE", f"/v1/webhook/{hook_id}") == (200, {"result": True})
        assert w.emu.app.hub.hooks == {}
        for method in ("PUT", "DELETE"):
            status, body = await w.call(method, f"/v1/webhook/{hook_id}", json={})
            assert (status, body["message"]) == (404, f"webhook {hook_id} not found")

    _run(test, httpx.MockTransport(echo))
