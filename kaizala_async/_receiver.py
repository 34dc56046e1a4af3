"""Receive Kaizala webhook deliveries: `WebhookReceiver`, an ASGI app (see ``kaizala_async.webhooks``).

It answers the validation handshake (API K1), checks each delivery's ``kz-callback-token`` in
constant time, decodes the event (API K2) into its typed class and awaits the handlers
registered for that class (and for its base classes). Mount it under any ASGI server or
framework:

    receiver = WebhookReceiver(callback_token="s3cret")

    @receiver.on(TextMessageCreatedEvent)
    async def greet(event: TextMessageCreatedEvent) -> None:
        print(event.from_user, event.data.body)

    app.mount("/kaizala", receiver)          # Starlette / FastAPI; or uvicorn.run(receiver)
"""

from __future__ import annotations

import hmac
import json
import logging
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
import attrs

from ._asgi import BodyTooLarge, Receive, Scope, Send, read_body, serve_lifespan
from ._errors import ValidationError
from ._models.events import WebhookEvent, decode_event
from ._secrets import Secret, install_log_redaction
from ._validate import check_count

__all__ = ["ReceiverStats", "WebhookReceiver"]

log = logging.getLogger("kaizala_async.webhooks")

E = TypeVar("E", bound=WebhookEvent)
Handler = Callable[[E], Awaitable[None]]

#: Deliveries are small JSON objects; anything far larger is refused before it is parsed.
DEFAULT_MAX_BODY = 1 << 20
#: How many recent event ids are remembered to drop duplicate deliveries (at least once, API W).
DEFAULT_DEDUPE = 10_000


@attrs.define
class ReceiverStats:
    """Counters of one `WebhookReceiver`."""

    handshakes: int = 0
    delivered: int = 0
    duplicates: int = 0
    rejected: int = 0
    handler_errors: int = 0


class WebhookReceiver:
    """An ASGI app receiving Kaizala webhook calls.

    * ``callback_token``: the value registered as ``callback_token``; deliveries without the
      same ``kz-callback-token`` header get 401. ``None`` accepts every delivery (only for a
      webhook registered without a token; the service offers no other authenticity check).
    * Duplicate deliveries (same ``eventId``) are acknowledged and not dispatched again; the
      ``dedupe`` most recently seen ids are remembered (``0``: none, every delivery dispatched).
    * ``max_body``: a delivery larger than this many bytes is answered 413 unread.
    * A handler that raises is logged and counted; the other handlers still run and the
      delivery is acknowledged (a retry would re-run the handlers that succeeded).
    """

    def __init__(
        self,
        *,
        callback_token: str | Secret | None,
        max_body: int = DEFAULT_MAX_BODY,
        dedupe: int = DEFAULT_DEDUPE,
    ) -> None:
        if callback_token is not None and not isinstance(callback_token, Secret):
            if not isinstance(callback_token, str) or not callback_token:
                raise ValidationError("callback_token", "must be a non-empty string or None")
            callback_token = Secret(callback_token)
        self._token = callback_token
        self._max_body = check_count(max_body, "max_body")
        self._dedupe = check_count(dedupe, "dedupe", least=0)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._handlers: dict[type[WebhookEvent], list[Callable[[Any], Awaitable[None]]]] = {}
        self.stats = ReceiverStats()
        install_log_redaction()  # a receiver may live in an app that opens no client

    def __repr__(self) -> str:
        checked = "token checked" if self._token is not None else "no token check"
        return f"<WebhookReceiver {checked} handlers={sum(map(len, self._handlers.values()))}>"

    def add_handler(self, event_type: type[E], handler: Handler[E]) -> None:
        """Call ``handler`` for every event of ``event_type`` (or a subclass of it).

        ``WebhookEvent`` receives everything; ``UnknownEvent`` the types this SDK does not know.
        """
        if not (isinstance(event_type, type) and issubclass(event_type, WebhookEvent)):
            raise ValidationError("event_type", "must be an event class such as MemberAddedEvent")
        if not callable(handler):
            raise ValidationError("handler", "must be an async function")
        self._handlers.setdefault(event_type, []).append(handler)

    def on(self, event_type: type[E]) -> Callable[[Handler[E]], Handler[E]]:
        """Decorator form of `add_handler`."""

        def register(handler: Handler[E]) -> Handler[E]:
            self.add_handler(event_type, handler)
            return handler

        return register

    async def dispatch(self, event: WebhookEvent) -> int:
        """Run the handlers of ``event`` concurrently; return how many of them failed."""
        handlers = [h for cls in type(event).__mro__ for h in self._handlers.get(cls, ())]
        failures = 0

        async def run(handler: Callable[[Any], Awaitable[None]]) -> None:
            nonlocal failures
            try:
                await handler(event)
            except Exception:  # a broken handler must not stop the others
                failures += 1
                log.exception(
                    "webhook handler %s failed on %s %s",
                    getattr(handler, "__qualname__", "handler"),
                    event.event_type,
                    event.event_id,
                )

        async with anyio.create_task_group() as group:
            for handler in handlers:
                group.start_soon(run, handler)
        self.stats.handler_errors += failures
        return failures

    def _duplicate(self, event_id: str | None) -> bool:
        if not event_id:
            return False
        if event_id in self._seen:
            self._seen.move_to_end(event_id)
            return True
        self._seen[event_id] = None
        if len(self._seen) > self._dedupe:
            self._seen.popitem(last=False)
        return False

    def _authentic(self, headers: Mapping[str, str]) -> bool:
        if self._token is None:
            return True
        given = headers.get("kz-callback-token", "")
        return hmac.compare_digest(given.encode(), self._token.reveal().encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method == "GET":
            query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
            tokens = {k.lower(): v for k, v in query.items()}.get("validationtoken")
            if not tokens:
                await _answer(send, 400, b"missing validationToken")
                return
            self.stats.handshakes += 1
            await _answer(send, 200, tokens[0].encode())
            return
        if method != "POST":
            await _answer(send, 405, b"method not allowed")
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not self._authentic(headers):
            self.stats.rejected += 1
            log.warning("webhook delivery refused: wrong or missing kz-callback-token",
                        extra={"kaizala_event": "kaizala.webhook.refused"})  # fmt: skip
            await _answer(send, 401, b"bad callback token")
            return
        try:
            payload = json.loads(await read_body(receive, self._max_body))
        except BodyTooLarge:
            self.stats.rejected += 1
            await _answer(send, 413, b"body too large")
            return
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
            self.stats.rejected += 1
            await _answer(send, 400, b"body is not JSON")
            return
        if not isinstance(payload, dict):
            self.stats.rejected += 1
            await _answer(send, 400, b"body is not a JSON object")
            return
        event = decode_event(payload)
        if self._duplicate(event.event_id):
            self.stats.duplicates += 1
        else:
            self.stats.delivered += 1
            await self.dispatch(event)
        await _answer(send, 200, b"")


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
