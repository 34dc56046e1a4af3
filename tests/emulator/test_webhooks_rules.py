"""The emulator's webhook hub (``emulator._webhooks``) on its own: the validation handshake
(K1), which webhooks an event reaches, the delivery envelope and its retries (K2), and the
hub's end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from kaizala_async.emulator._webhooks import EVENT_TYPES, Webhook, WebhookHub

Handler = Callable[[httpx.Request], httpx.Response]


def _hub(handler: Handler, *, now: int = 1_000, retry_unit: float = 0.001) -> WebhookHub:
    return WebhookHub(
        transport=httpx.MockTransport(handler),
        handshake_timeout=1.5,
        delivery_timeout=2.5,
        retry_unit=retry_unit,
        wall_ms=lambda: now,
    )


def _delivered(handler: Handler, **options: Any) -> WebhookHub:
    """The hub after one MemberAdded event for webhook ``a`` and every attempt to deliver it."""

    async def go() -> WebhookHub:
        hub = _hub(handler, **options)
        hub.hooks = {"a": _hook("a")}
        hub.emit("Group", "g1", "MemberAdded", {}, {})
        await hub.drain()
        await hub.aclose()
        return hub

    return asyncio.run(go())


def _hook(hook_id: str = "w1", **changes: Any) -> Webhook:
    fields: dict[str, Any] = {
        "id": hook_id, "object_id": "g1", "object_type": "Group",
        "events": ["TextMessageCreated", "MemberAdded"], "callback_url": "http://r.test/in",
        "callback_token": "tok", "callback_context": "ctx", "ts": 5, "validity": 10_000,
        "owner": "app",
    }  # fmt: skip
    return Webhook(**(fields | changes))


def test_a_webhook_shows_the_documented_fields() -> None:
    assert _hook().as_json() == {
        "id": "w1", "objectId": "g1", "objectType": "Group",
        "events": ["TextMessageCreated", "MemberAdded"], "filters": [],
        "callbackUrl": "http://r.test/in", "callbackToken": "tok", "callBackContext": "ctx",
        "ts": 5, "validity": 10_000, "active": True,
    }  # fmt: skip
    assert len(EVENT_TYPES) == 17


def test_the_handshake_adds_its_token_to_the_urls_own_query_and_wants_it_echoed() -> None:
    seen: list[httpx.Request] = []

    def echo(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=f"  {request.url.params['validationToken']}\n")

    async def go() -> str | None:
        hub = _hub(echo)
        try:
            return await hub.validate("http://r.test/in?tenant=a")
        finally:
            await hub.aclose()

    assert asyncio.run(go()) is None
    (request,) = seen
    assert request.method == "GET"
    assert request.url.params["tenant"] == "a"
    assert len(request.url.params["validationToken"]) == 32
    assert request.extensions["timeout"]["read"] == 1.5


@pytest.mark.parametrize(
    ("answer", "why"),
    [(lambda r: httpx.Response(200, text="something else"),
      "callback URL did not echo the validation token"),
     (lambda r: httpx.Response(302, text=r.url.params["validationToken"]),
      "callback URL did not echo the validation token"),
     (lambda r: httpx.Response(300, text=r.url.params["validationToken"]),
      "callback URL did not echo the validation token")],
)  # fmt: skip
def test_a_handshake_without_a_2xx_echo_fails(answer: Handler, why: str) -> None:
    async def go() -> str | None:
        hub = _hub(answer)
        try:
            return await hub.validate("http://r.test/in")
        finally:
            await hub.aclose()

    assert asyncio.run(go()) == why


def test_a_receiver_that_does_not_answer_fails_the_handshake_naming_the_failure() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def go() -> str | None:
        hub = _hub(refuse)
        try:
            return await hub.validate("http://r.test/in")
        finally:
            await hub.aclose()

    assert asyncio.run(go()) == (
        "callback URL did not answer the validation request (ConnectError)"
    )


def test_an_event_reaches_the_active_webhooks_of_its_object_and_type_only() -> None:
    hub = _hub(lambda r: httpx.Response(200), now=1_000)
    hub.hooks = {
        "a": _hook("a"),
        "b": _hook("b", object_type="group"),  # the type is matched case-insensitively
        "c": _hook("c", object_id="g2"),
        "d": _hook("d", events=["MemberAdded"]),
        "e": _hook("e", active=False),
        "f": _hook("f", validity=1_000),  # expires now
        "g": _hook("g", validity=999),
    }
    found = hub.matching("GROUP", "g1", "TextMessageCreated")
    assert [hook.id for hook in found] == ["a", "b"]
    assert (hub.hooks["f"].active, hub.hooks["g"].active) == (False, False)  # expired: inactive
    assert hub.hooks["c"].active and hub.hooks["d"].active
    assert [hook.id for hook in hub.matching("Group", "g1", "MemberAdded")] == ["a", "b", "d"]


def test_each_matching_webhook_gets_one_delivery_with_the_envelope_and_its_token() -> None:
    received: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    async def go() -> int:
        hub = _hub(receive)
        hub.hooks = {"a": _hook("a"), "b": _hook("b", callback_token="", callback_context="")}
        try:
            count = hub.emit("Group", "g1", "MemberAdded", {"member": "+91"}, {"fromUser": "+92"})
            assert hub.emit("Group", "g1", "PollCreated", {}, {}) == 0
            await hub.drain()
            assert [(d.webhook_id, d.status, d.attempt) for d in hub.deliveries] in (
                [("a", 200, 0), ("b", 200, 0)],
                [("b", 200, 0), ("a", 200, 0)],
            )
            return count
        finally:
            await hub.aclose()

    assert asyncio.run(go()) == 2
    by_hook = {r.headers.get("kz-callback-token"): r for r in received}
    assert set(by_hook) == {"tok", None}  # no empty token header
    envelope = json.loads(by_hook["tok"].content)
    event_id = envelope.pop("eventId")
    assert len(event_id) == 36
    assert envelope == {
        "objectId": "g1", "objectType": "Group", "eventType": "MemberAdded",
        "data": {"member": "+91"}, "context": "ctx", "fromUser": "+92",
    }  # fmt: skip
    assert json.loads(by_hook[None].content)["eventId"] != event_id
    assert by_hook["tok"].method == "POST"
    assert by_hook["tok"].url == "http://r.test/in"
    assert by_hook["tok"].extensions["timeout"]["read"] == 2.5


def test_a_failing_receiver_is_tried_seven_times_with_doubling_waits_then_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    statuses = iter([500, 300, 199])

    def fail(request: httpx.Request) -> httpx.Response:
        status = next(statuses, None)
        if status is None:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(status)

    hub = _delivered(fail, retry_unit=0.5)
    assert [(d.status, d.attempt) for d in hub.deliveries] == [
        (500, 0),
        (300, 1),
        (199, 2),
        (None, 3),
        (None, 4),
        (None, 5),
        (None, 6),
    ]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert hub.hooks["a"].active is False


def test_a_delivery_that_succeeds_on_a_retry_stops_there_and_keeps_the_webhook() -> None:
    statuses = iter([503, 503, 204])

    hub = _delivered(lambda r: httpx.Response(next(statuses)))
    assert [(d.status, d.attempt) for d in hub.deliveries] == [(503, 0), (503, 1), (204, 2)]
    assert hub.hooks["a"].active is True


def test_closing_cancels_the_deliveries_under_way_and_closes_its_client() -> None:
    async def go() -> None:
        hub = _hub(lambda r: httpx.Response(500), retry_unit=60.0)
        hub.hooks = {"a": _hook("a")}
        hub.emit("Group", "g1", "MemberAdded", {}, {})
        await asyncio.sleep(0.05)
        assert len(hub.deliveries) == 1  # waiting a minute for its first retry
        client = hub._http
        assert client is not None
        await asyncio.wait_for(hub.aclose(), 5)
        assert client.is_closed
        assert hub._http is None
        assert not hub._tasks
        await hub.aclose()  # twice is harmless

    asyncio.run(go())


def test_a_redirect_is_not_followed_for_a_handshake_or_a_delivery() -> None:
    seen: list[str] = []

    def moved(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/in":
            return httpx.Response(
                307, headers={"location": f"http://r.test/elsewhere?{request.url.query.decode()}"}
            )
        token = request.url.params.get("validationToken", "")
        return httpx.Response(200, text=token)

    async def go() -> tuple[str | None, WebhookHub]:
        hub = _hub(moved, retry_unit=0.0)
        hub.hooks = {"a": _hook("a")}
        try:
            why = await hub.validate("http://r.test/in")
            hub.emit("Group", "g1", "MemberAdded", {}, {})
            await hub.drain()
            return why, hub
        finally:
            await hub.aclose()

    why, hub = asyncio.run(go())
    assert why == "callback URL did not echo the validation token"
    assert set(seen) == {"/in"}  # never "/elsewhere"
    assert {d.status for d in hub.deliveries} == {307}
    assert len(hub.deliveries) == 7


def test_each_delivery_records_its_event() -> None:
    async def go() -> tuple[WebhookHub, list[httpx.Request]]:
        received: list[httpx.Request] = []

        def receive(request: httpx.Request) -> httpx.Response:
            received.append(request)
            return httpx.Response(200)

        hub = _hub(receive)
        hub.hooks = {"a": _hook("a")}
        hub.emit("Group", "g1", "MemberAdded", {}, {})
        await hub.drain()
        await hub.aclose()
        return hub, received

    hub, received = asyncio.run(go())
    (delivery,) = hub.deliveries
    assert delivery.event_type == "MemberAdded"
    assert delivery.event_id == json.loads(received[0].content)["eventId"]


def test_draining_returns_when_a_delivery_was_cancelled() -> None:
    async def go() -> None:
        hub = _hub(lambda r: httpx.Response(500), retry_unit=60.0)
        hub.hooks = {"a": _hook("a")}
        hub.emit("Group", "g1", "MemberAdded", {}, {})
        await asyncio.sleep(0.05)
        for task in hub._tasks:
            task.cancel()
        await asyncio.wait_for(hub.drain(), 5)
        assert not hub._tasks
        await hub.aclose()

    asyncio.run(go())
