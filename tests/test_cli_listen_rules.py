"""``kaizala listen`` (``cli._listen.listen``) in-process against an emulator: a webhook per
group with a fresh callback token, each event printed and forwarded as received, and the
webhooks deleted when it is stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from types import SimpleNamespace
from typing import Any

import httpx

from kaizala_async._asgi import read_body
from kaizala_async._loopback import serve_loopback
from kaizala_async.cli._listen import _Forwarder, listen
from kaizala_async.emulator import Emulator, EmulatorConfig


async def until(condition: Any, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.02)


def test_events_are_printed_forwarded_and_the_webhooks_deleted_at_the_end() -> None:
    forwarded: list[tuple[dict[str, Any], dict[str, str]]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        forwarded.append((json.loads(body), headers))
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> tuple[list[str], list[Any], list[Any]]:
        async with (
            Emulator(EmulatorConfig.fast()) as emu,
            emu.client() as client,
            serve_loopback(app) as origin,
        ):
            group, other = emu.create_groups(2)
            shown: list[str] = []
            running = asyncio.create_task(
                listen(
                    client,
                    [group, other],
                    forward_to=f"{origin}/hook",
                    port=0,
                    public_url=None,
                    show=shown.append,
                )
            )
            await until(lambda: any(line.startswith("listening on") for line in shown))
            during = [h async for h in client.webhooks.list(group, "Group")]
            await client.messages.send(group, "hello listener")
            await emu.drain_webhooks()
            await until(lambda: any("TextMessageCreatedEvent" in line for line in shown))
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            after = [h async for h in client.webhooks.list(group, "Group")]
            after += [h async for h in client.webhooks.list(other, "Group")]
            return shown, during, after

    shown, during, after = asyncio.run(main())
    assert shown[0].startswith("listening on http://127.0.0.1:") and shown[0].endswith(
        "for 2 group(s); Ctrl-C to stop"
    )
    event_line = next(line for line in shown if "TextMessageCreatedEvent" in line)
    assert event_line.endswith("-> 202")
    assert len(during) == 1 and during[0].callback_url == shown[0].split()[2]
    assert after == []  # both webhooks deleted when it stopped
    (body, headers), *_ = forwarded
    assert body["eventType"] == "TextMessageCreated"
    assert headers["content-type"] == "application/json"
    assert len(headers["kz-callback-token"]) >= 32  # the fresh token the webhook was given


def test_a_forward_that_fails_is_said_on_the_events_line() -> None:
    async def main() -> list[str]:
        async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
            (group,) = emu.create_groups(1)
            shown: list[str] = []
            running = asyncio.create_task(
                listen(
                    client,
                    [group],
                    forward_to="http://127.0.0.1:9/nowhere",
                    port=0,
                    public_url=None,
                    show=shown.append,
                )
            )
            await until(lambda: bool(shown))
            await client.messages.send(group, "hello")
            await emu.drain_webhooks()
            await until(lambda: len(shown) > 1)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            return shown

    shown = asyncio.run(main())
    assert shown[1].startswith("TextMessageCreatedEvent") and shown[1].endswith(
        "-> failed (ConnectError)"
    )


def _event(event_id: str | None = "e1") -> bytes:
    body: dict[str, Any] = {"objectId": "g1", "objectType": "Group", "eventType": "TextMessageCreated",
                            "data": {"text": "hi"}}  # fmt: skip
    if event_id is not None:
        body["eventId"] = event_id
    return json.dumps(body).encode()


async def _post(app: Any, body: bytes, token: str, pieces: int = 1) -> int:
    """POST ``body`` (in ``pieces``) with ``token`` to the ASGI ``app``; its status."""
    size = -(-len(body) // pieces)
    chunks = [body[n : n + size] for n in range(0, len(body), size)]
    messages = [
        {"type": "http.request", "body": c, "more_body": n < len(chunks) - 1}
        for n, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"kz-callback-token", token.encode()), (b"content-type", b"application/json")]}  # fmt: skip
    await app(scope, receive, send)
    return int(sent[0]["status"])


def test_the_forwarder_prints_and_forwards_each_accepted_delivery_as_received() -> None:
    received: list[httpx.Request] = []

    def forward(request: httpx.Request) -> httpx.Response:
        received.append(request)
        if request.url.path == "/down":
            raise httpx.ConnectError("down", request=request)
        return httpx.Response(202)

    async def main() -> tuple[list[str], _Forwarder]:
        shown: list[str] = []
        forwarder = _Forwarder("tok", "http://next.test/in", shown.append)
        await forwarder._http.aclose()
        forwarder._http = httpx.AsyncClient(transport=httpx.MockTransport(forward))
        assert forwarder.forwarded == 0
        assert await _post(forwarder, _event(), "tok", pieces=3) == 200
        assert await _post(forwarder, _event(None), "tok") == 200
        assert (
            await _post(forwarder, _event(), "wrong") == 401
        )  # refused: neither shown nor forwarded
        forwarder._forward_to = "http://next.test/down"
        assert await _post(forwarder, _event("e3"), "tok") == 200
        forwarder._forward_to = None
        assert await _post(forwarder, _event("e4"), "tok") == 200
        await forwarder.aclose()
        return shown, forwarder

    shown, forwarder = asyncio.run(main())
    assert shown == [
        "TextMessageCreatedEvent  e1  -> 202",
        "TextMessageCreatedEvent    -> 202",
        "TextMessageCreatedEvent  e3  -> failed (ConnectError)",
        "TextMessageCreatedEvent  e4",
    ]
    assert forwarder.forwarded == 2
    first = received[0]
    assert first.content == _event()  # the body as received, whole
    assert (first.headers["content-type"], first.headers["kz-callback-token"]) == (
        "application/json",
        "tok",
    )


def test_the_forwarder_passes_other_scopes_to_the_receiver() -> None:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        forwarder = _Forwarder("tok", None, print)
        await forwarder({"type": "lifespan"}, receive, send)
        await forwarder.aclose()

    asyncio.run(main())
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_stopping_deletes_every_webhook_even_when_one_delete_fails() -> None:
    deleted: list[str] = []

    class Webhooks:
        def __init__(self) -> None:
            self.made = 0

        async def register(self, *args: Any, **kwargs: Any) -> Any:
            self.made += 1
            assert len(kwargs["callback_token"]) == 32  # 24 random bytes
            return SimpleNamespace(webhook_id=f"w{self.made}")

        async def delete(self, webhook_id: str) -> None:
            deleted.append(webhook_id)
            if webhook_id == "w1":
                raise RuntimeError("gone already")

    async def main() -> list[str]:
        shown: list[str] = []
        client: Any = SimpleNamespace(webhooks=Webhooks())
        running = asyncio.create_task(
            listen(
                client,
                ["g1", "g2"],
                forward_to=None,
                port=0,
                public_url="https://public.test/",
                show=shown.append,
            )
        )
        await until(lambda: bool(shown))
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        return shown

    shown = asyncio.run(main())
    assert shown == ["listening on https://public.test/ for 2 group(s); Ctrl-C to stop"]
    assert deleted == ["w1", "w2"]


def test_the_listener_binds_the_port_it_is_given() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Webhooks:
        async def register(self, *args: Any, **kwargs: Any) -> Any:
            return SimpleNamespace(webhook_id="w1")

        async def delete(self, webhook_id: str) -> None:
            return None

    async def main() -> list[str]:
        shown: list[str] = []
        client: Any = SimpleNamespace(webhooks=Webhooks())
        running = asyncio.create_task(
            listen(client, ["g1"], forward_to=None, port=port, public_url=None, show=shown.append)
        )
        await until(lambda: bool(shown))
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        return shown

    assert asyncio.run(main()) == [
        f"listening on http://127.0.0.1:{port}/ for 1 group(s); Ctrl-C to stop"
    ]
