"""``kaizala listen``: receive a group's events locally, print them, forward them to your app.

Like ``stripe listen``: a webhook receiver on a loopback port, a webhook registered on the
groups (with a fresh callback token), each event printed as one line as it arrives and, with
``--forward-to``, POSTed as received to your app; on Ctrl-C the webhooks are deleted again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable, MutableMapping
from typing import Any

import httpx

from kaizala_async import EVENT_TYPES, KaizalaClient, WebhookReceiver, decode_event
from kaizala_async._asgi import Receive, Scope, Send
from kaizala_async._loopback import serve_loopback


class _Forwarder:
    """The receiver, plus: every delivery it accepted is printed and forwarded as received."""

    def __init__(
        self, token: str, forward_to: str | None, show: Callable[[str], None]
    ) -> None:  # fmt: skip
        self._receiver = WebhookReceiver(callback_token=token)
        self._token = token
        self._forward_to = forward_to
        self._show = show
        self._http = httpx.AsyncClient(timeout=10)
        self.forwarded = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self._receiver(scope, receive, send)
            return
        # The receiver checks the callback token before it reads a byte, and reads at most its
        # size cap: the body is kept as the receiver reads it, never read ahead of it.
        parts: list[bytes] = []
        status: list[int] = []

        async def kept() -> MutableMapping[str, Any]:
            message = await receive()
            parts.append(message.get("body", b""))
            return message

        async def watch(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self._receiver(scope, kept, watch)
        if status and status[0] == 200:
            await self._deliver(b"".join(parts))

    async def _deliver(self, body: bytes) -> None:
        try:
            event = decode_event(json.loads(body))
        except ValueError:
            return
        line = f"{type(event).__name__}  {event.event_id or ''}"
        if self._forward_to:
            try:
                answer = await self._http.post(
                    self._forward_to, content=body,
                    headers={"content-type": "application/json",
                             "kz-callback-token": self._token},
                )  # fmt: skip
                line += f"  -> {answer.status_code}"
                self.forwarded += 1
            except httpx.HTTPError as exc:
                line += f"  -> failed ({type(exc).__name__})"
        self._show(line)


async def listen(
    client: KaizalaClient,
    groups: list[str],
    *,
    forward_to: str | None,
    port: int,
    public_url: str | None,
    show: Callable[[str], None],
) -> None:
    """Run until cancelled (Ctrl-C): receive, print, forward; then delete the webhooks."""
    token = secrets.token_urlsafe(24)
    forwarder = _Forwarder(token, forward_to, show)
    hooks: list[str] = []
    try:
        async with serve_loopback(forwarder, port=port) as origin:
            callback = public_url or f"{origin}/"
            for group in groups:
                hook = await client.webhooks.register(
                    group, "Group", list(EVENT_TYPES), callback, callback_token=token
                )
                hooks.append(hook.webhook_id)
            show(f"listening on {callback} for {len(groups)} group(s); Ctrl-C to stop")
            await asyncio.Event().wait()
    finally:
        for hook_id in hooks:
            try:
                await client.webhooks.delete(hook_id)
            except Exception:  # noqa: S112 (best effort on the way out)
                continue
        await forwarder.aclose()
