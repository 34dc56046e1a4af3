"""The finer rules of the webhook receiver, each one something its user or the service sees:
exact answers and counters, the handshake's query, which handlers run, what is logged, the
duplicate memory, the arguments refused, the ASGI scopes it serves."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

import kaizala_async as k

TOKEN = "cb-token-rules-1"
GOOD = {"kz-callback-token": TOKEN}


def delivery(event_id: str | None = "e-1", event_type: str = "TextMessageCreated") -> bytes:
    body: dict[str, Any] = {"objectId": "g1", "objectType": "Group", "eventType": event_type,
                            "data": {"text": "hi"}}  # fmt: skip
    if event_id is not None:
        body["eventId"] = event_id
    return json.dumps(body).encode()


def stats(receiver: k.WebhookReceiver) -> tuple[int, int, int, int, int]:
    s = receiver.stats
    return (s.handshakes, s.delivered, s.duplicates, s.rejected, s.handler_errors)


def http(receiver: k.WebhookReceiver) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver),
                             base_url="https://hooks.example")  # fmt: skip


async def test_every_answer_is_plain_text_with_its_length_and_the_counters_follow() -> None:
    receiver = k.WebhookReceiver(callback_token=TOKEN, max_body=1000)
    async with http(receiver) as client:
        answers = [
            await client.get("/kz", params={"ValidationTOKEN": "v-1"}),  # key in any case
            await client.get("/kz"),
            await client.get("/kz", params={"validationToken": ""}),
            await client.delete("/kz"),
            await client.post("/kz", content=delivery(), headers={"kz-callback-token": "nope"}),
            await client.post("/kz", content=b"x" * 1001, headers=GOOD),
            await client.post("/kz", content=b"{", headers=GOOD),
            await client.post("/kz", content=b"[1, 2]", headers=GOOD),
            await client.post("/kz", content=delivery(), headers=GOOD),
        ]
    assert [(a.status_code, a.content) for a in answers] == [
        (200, b"v-1"),
        (400, b"missing validationToken"),
        (400, b"missing validationToken"),
        (405, b"method not allowed"),
        (401, b"bad callback token"),
        (413, b"body too large"),
        (400, b"body is not JSON"),
        (400, b"body is not a JSON object"),
        (200, b""),
    ]
    for answer in answers:
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert answer.headers["content-length"] == str(len(answer.content))
    # handshakes, delivered, duplicates, rejected (token, size, JSON, object), handler errors
    assert stats(receiver) == (1, 1, 0, 4, 0)


async def test_a_body_of_exactly_max_body_bytes_is_read() -> None:
    body = delivery()
    receiver = k.WebhookReceiver(callback_token=TOKEN, max_body=len(body))
    async with http(receiver) as client:
        answer = await client.post("/kz", content=body, headers=GOOD)
    assert answer.status_code == 200 and stats(receiver) == (0, 1, 0, 0, 0)


async def test_the_token_is_compared_exactly_and_none_accepts_every_delivery() -> None:
    checked = k.WebhookReceiver(callback_token=k.Secret(TOKEN))
    open_door = k.WebhookReceiver(callback_token=None)
    async with http(checked) as a, http(open_door) as b:
        near = [TOKEN.upper(), TOKEN + "x", TOKEN[:-1], ""]
        refused = [await a.post("/kz", content=delivery(), headers={"kz-callback-token": t})
                   for t in near]  # fmt: skip
        accepted = await a.post("/kz", content=delivery(), headers={"KZ-Callback-Token": TOKEN})
        anyone = await b.post("/kz", content=delivery())
    assert [r.status_code for r in refused] == [401] * 4
    assert accepted.status_code == anyone.status_code == 200
    assert repr(checked) == "<WebhookReceiver token checked handlers=0>"
    assert repr(open_door) == "<WebhookReceiver no token check handlers=0>"


async def test_a_refused_delivery_is_logged_for_alerts_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = k.WebhookReceiver(callback_token=TOKEN)
    with caplog.at_level(logging.WARNING, logger="kaizala_async.webhooks"):
        async with http(receiver) as client:
            await client.post("/kz", content=delivery(), headers={"kz-callback-token": TOKEN + "0"})
    [record] = [r for r in caplog.records if r.name == "kaizala_async.webhooks"]
    assert record.levelno == logging.WARNING
    assert record.kaizala_event == "kaizala.webhook.refused"  # type: ignore[attr-defined]
    assert record.getMessage() == "webhook delivery refused: wrong or missing kz-callback-token"
    assert TOKEN not in caplog.text


async def test_handlers_run_for_the_class_and_its_bases_and_a_failure_is_logged_by_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = k.WebhookReceiver(callback_token=None)
    seen: list[str] = []

    async def exact(event: k.TextMessageCreatedEvent) -> None:
        seen.append("exact")

    async def base(event: k.WebhookEvent) -> None:
        seen.append("base")

    async def other(event: k.MemberAddedEvent) -> None:
        seen.append("other")

    async def failing(event: k.WebhookEvent) -> None:
        raise RuntimeError("boom")

    for cls, handler in [(k.TextMessageCreatedEvent, exact), (k.WebhookEvent, base),
                         (k.MemberAddedEvent, other), (k.WebhookEvent, failing)]:  # fmt: skip
        receiver.add_handler(cls, handler)  # type: ignore[arg-type]
    assert repr(receiver) == "<WebhookReceiver no token check handlers=4>"
    with caplog.at_level(logging.ERROR, logger="kaizala_async.webhooks"):
        async with http(receiver) as client:
            await client.post("/kz", content=delivery("e-9"))
    assert sorted(seen) == ["base", "exact"]
    [record] = [r for r in caplog.records if r.name == "kaizala_async.webhooks"]
    assert record.getMessage() == (
        "webhook handler test_handlers_run_for_the_class_and_its_bases_and_a_failure_is_logged"
        "_by_name.<locals>.failing failed on TextMessageCreated e-9"
    )
    assert record.exc_info is not None and stats(receiver) == (0, 1, 0, 0, 1)
    event = k.decode_event(json.loads(delivery("e-10")))
    assert await receiver.dispatch(event) == 1  # dispatch says how many failed
    assert receiver.stats.handler_errors == 2


async def test_the_duplicate_memory_is_least_recently_seen_first_and_can_be_turned_off() -> None:
    receiver = k.WebhookReceiver(callback_token=None, dedupe=2)
    unchecked = k.WebhookReceiver(callback_token=None, dedupe=0)
    async with http(receiver) as a, http(unchecked) as b:
        for event_id in ["a", "b", "a", "c", "a", "b"]:
            await a.post("/kz", content=delivery(event_id))
        for event_id in ["a", "a", None, None]:
            await b.post("/kz", content=delivery(event_id))
    # "a" seen again before "c" arrived stays remembered; "b" is the one forgotten.
    assert (receiver.stats.delivered, receiver.stats.duplicates) == (4, 2)
    assert (unchecked.stats.delivered, unchecked.stats.duplicates) == (4, 0)


async def test_deliveries_without_an_event_id_are_all_dispatched() -> None:
    receiver = k.WebhookReceiver(callback_token=None)
    async with http(receiver) as client:
        for _ in range(3):
            await client.post("/kz", content=delivery(None))
    assert (receiver.stats.delivered, receiver.stats.duplicates) == (3, 0)


@pytest.mark.parametrize("token", ["", 12345, b"bytes"])
def test_a_callback_token_that_is_not_a_non_empty_string_is_refused(token: object) -> None:
    with pytest.raises(k.ValidationError) as caught:
        k.WebhookReceiver(callback_token=token)  # type: ignore[arg-type]
    assert caught.value.argument == "callback_token"
    assert caught.value.reason == "must be a non-empty string or None"


def test_handlers_must_be_callables_for_event_classes() -> None:
    receiver = k.WebhookReceiver(callback_token=None)

    async def handler(event: k.WebhookEvent) -> None:
        return None

    for bad in [dict, "TextMessageCreated", k.Secret]:
        with pytest.raises(k.ValidationError) as caught:
            receiver.add_handler(bad, handler)  # type: ignore[arg-type]
        assert (caught.value.argument, caught.value.reason) == (
            "event_type",
            "must be an event class such as MemberAddedEvent",
        )
    with pytest.raises(k.ValidationError) as caught:
        receiver.add_handler(k.WebhookEvent, "not callable")  # type: ignore[arg-type]
    assert (caught.value.argument, caught.value.reason) == ("handler", "must be an async function")
    assert receiver.on(k.WebhookEvent)(handler) is handler  # the decorator returns the function
    assert repr(receiver).endswith("handlers=1>")


async def test_lifespan_is_acknowledged_and_other_scopes_are_ignored() -> None:
    receiver = k.WebhookReceiver(callback_token=None)
    inbox: list[MutableMapping[str, Any]] = [{"type": "lifespan.startup"},
                                             {"type": "lifespan.shutdown"}]  # fmt: skip
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return inbox.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await receiver({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    sent.clear()
    await receiver({"type": "websocket"}, receive, send)
    assert sent == []


async def test_several_failing_handlers_are_each_counted_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = k.WebhookReceiver(callback_token=None)

    async def failing(event: k.WebhookEvent, n: int) -> None:
        raise RuntimeError(f"bug {n}")

    receiver.add_handler(k.WebhookEvent, functools.partial(failing, n=1))  # no __qualname__
    receiver.add_handler(k.WebhookEvent, functools.partial(failing, n=2))
    event = k.decode_event(json.loads(delivery("e-11")))
    with caplog.at_level(logging.ERROR, logger="kaizala_async.webhooks"):
        assert await receiver.dispatch(event) == 2
    messages = [r.getMessage() for r in caplog.records if r.name == "kaizala_async.webhooks"]
    assert messages == ["webhook handler handler failed on TextMessageCreated e-11"] * 2
    assert receiver.stats.handler_errors == 2


async def test_handshakes_are_counted_and_one_remembered_id_is_enough() -> None:
    receiver = k.WebhookReceiver(callback_token="XXXX", dedupe=1)
    async with http(receiver) as client:
        for token in ("a", "b"):
            await client.get("/kz", params={"validationToken": token})
        missing = await client.post("/kz", content=delivery())  # no token header at all
        good = {"kz-callback-token": "XXXX"}
        for event_id in ("a", "a", "b", "a"):
            await client.post("/kz", content=delivery(event_id), headers=good)
    assert missing.status_code == 401
    # handshakes, delivered (a, b, a: "b" pushed "a" out), duplicates, rejected, handler errors
    assert stats(receiver) == (2, 3, 1, 1, 0)


async def test_a_scope_without_a_query_string_is_a_handshake_without_token() -> None:
    receiver = k.WebhookReceiver(callback_token=None)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:  # pragma: no cover - a GET reads no body
        return {"type": "http.request", "body": b""}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await receiver({"type": "http", "method": "GET", "headers": []}, receive, send)
    assert sent[0]["status"] == 400 and sent[1]["body"] == b"missing validationToken"


@pytest.mark.parametrize(
    ("kwargs", "argument", "reason"),
    [
        ({"dedupe": -1}, "dedupe", "must be a whole number of at least 0"),
        ({"dedupe": 1.5}, "dedupe", "must be a whole number of at least 0"),
        ({"max_body": 0}, "max_body", "must be a whole number of at least 1"),
        ({"max_body": "1MB"}, "max_body", "must be a whole number of at least 1"),
    ],
)
def test_sizes_are_whole_numbers(kwargs: dict[str, Any], argument: str, reason: str) -> None:
    with pytest.raises(k.ValidationError) as caught:
        k.WebhookReceiver(callback_token=None, **kwargs)
    assert (caught.value.argument, caught.value.reason) == (argument, reason)
