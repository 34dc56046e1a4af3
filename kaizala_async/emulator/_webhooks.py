"""Webhook registrations, the validation handshake (K1) and event delivery (K2) with retries."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import httpx

__all__ = ["EVENT_TYPES", "Webhook", "WebhookHub"]

#: The 13 documented event names, the 4 the Postman sample adds (sources' inconsistency 42).
EVENT_TYPES = frozenset(
    {
        "ActionCreated", "ActionResponse", "SurveyCreated", "JobCreated", "SurveyResponse",
        "JobResponse", "TextMessageCreated", "AttachmentCreated", "Announcement", "MemberAdded",
        "MemberRemoved", "GroupAdded", "GroupRemoved", "PollCreated", "LetsMeetCreated",
        "PollResponse", "LetsMeetResponse",
    }
)  # fmt: skip
OBJECT_TYPES = ("Group", "Action", "ActionPackage")


@attrs.define
class Webhook:
    id: str
    object_id: str
    object_type: str
    events: list[str]
    callback_url: str
    callback_token: str
    callback_context: str
    ts: int
    validity: int
    owner: str  # connector id
    active: bool = True

    def as_json(self) -> dict[str, Any]:
        # The docs sample's spellings, plus callBackContext from the docs table (inconsistency 38).
        return {
            "id": self.id,
            "objectId": self.object_id,
            "objectType": self.object_type,
            "events": list(self.events),
            "filters": [],
            "callbackUrl": self.callback_url,
            "callbackToken": self.callback_token,
            "callBackContext": self.callback_context,
            "ts": self.ts,
            "validity": self.validity,
            "active": self.active,
        }


@attrs.define
class Delivery:
    webhook_id: str
    event_type: str
    event_id: str
    status: int | None  # the receiver's status, None when unreachable
    attempt: int


class WebhookHub:
    """Holds webhooks; validates callback URLs; delivers events in tasks it owns."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None,
        handshake_timeout: float,
        delivery_timeout: float,
        retry_unit: float,
        wall_ms: Callable[[], int],
    ) -> None:
        self.transport = transport
        self.handshake_timeout = handshake_timeout
        self.delivery_timeout = delivery_timeout
        self.retry_unit = retry_unit
        self._wall_ms = wall_ms
        self.hooks: dict[str, Webhook] = {}
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        # One pooled client for every handshake and delivery (a client per call costs an SSL
        # context each: it capped a loopback emulator at about 40 deliveries per second).
        if self._http is None:
            self._http = httpx.AsyncClient(transport=self.transport, follow_redirects=False)
        return self._http

    async def validate(self, url: str) -> str | None:
        """K1: GET url?validationToken=..., expect the token echoed within the timeout.
        Returns None when valid, else why not."""
        token = secrets.token_hex(16)
        try:
            # Added to the URL's own query, which must reach the receiver too (httpx's params=
            # would replace it).
            target = httpx.URL(url).copy_merge_params({"validationToken": token})
            response = await self._client().get(target, timeout=self.handshake_timeout)
        except httpx.HTTPError as exc:
            return f"callback URL did not answer the validation request ({type(exc).__name__})"
        if response.status_code >= 300 or response.text.strip() != token:
            return "callback URL did not echo the validation token"
        return None

    def matching(self, object_type: str, object_id: str, event_type: str) -> list[Webhook]:
        now = self._wall_ms()
        found = []
        for hook in self.hooks.values():
            if hook.active and hook.validity <= now:
                hook.active = False  # expired webhooks become inactive (API G-11)
            if (
                hook.active
                and hook.object_type.lower() == object_type.lower()
                and hook.object_id == object_id
                and event_type in hook.events
            ):
                found.append(hook)
        return found

    def emit(
        self,
        object_type: str,
        object_id: str,
        event_type: str,
        data: dict[str, Any],
        actor: dict[str, str],
    ) -> int:
        """Queue delivery of one event to every matching webhook; returns how many."""
        hooks = self.matching(object_type, object_id, event_type)
        for hook in hooks:
            envelope = {
                "objectId": object_id,
                "objectType": hook.object_type,
                "eventType": event_type,
                "eventId": str(uuid.uuid4()),
                "data": data,
                "context": hook.callback_context,
                **actor,
            }
            task = asyncio.get_running_loop().create_task(self._deliver(hook, envelope))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(hooks)

    async def _deliver(self, hook: Webhook, envelope: dict[str, Any]) -> None:
        headers = {"kz-callback-token": hook.callback_token} if hook.callback_token else {}
        for attempt in range(7):  # the first try and up to 6 retries (API reference, "Retries")
            if attempt:
                await asyncio.sleep(self.retry_unit * 2 ** (attempt - 1))
            status: int | None = None
            try:
                response = await self._client().post(
                    hook.callback_url,
                    json=envelope,
                    headers=headers,
                    timeout=self.delivery_timeout,
                )
                status = response.status_code
            except httpx.HTTPError:
                status = None
            self.deliveries.append(
                Delivery(hook.id, envelope["eventType"], envelope["eventId"], status, attempt)
            )
            if status is not None and 200 <= status < 300:
                return
        hook.active = False  # still failing after the retries: disabled until re-activated

    async def drain(self) -> None:
        """Wait for every delivery under way (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.aclose()
            self._http = None
