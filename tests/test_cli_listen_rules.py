"""``kaizala listen`` (``cli._listen.listen``) in-process against an emulator: a webhook per
group with a fresh callback token, each event printed and forwarded as received, and the
webhooks deleted when it is stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from kaizala_async._asgi import serve_loopback
from kaizala_async.cli._listen import listen
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
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
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
