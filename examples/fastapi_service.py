"""A web service that sends Kaizala messages and receives Kaizala events (FastAPI).

    export KAIZALA_APPLICATION_ID=... KAIZALA_APPLICATION_SECRET=... KAIZALA_REFRESH_TOKEN=...
    export KAIZALA_GROUP_ID=... KAIZALA_CALLBACK_URL=https://app.example.com/kaizala/
    export KAIZALA_CALLBACK_TOKEN=a-long-random-value
    uvicorn examples.fastapi_service:app

* one client for the app's lifetime, opened and closed by the lifespan;
* ``POST /notify`` ``{"groupId": ..., "text": ...}`` sends a message, waiting at most 2 s for
  a rate-limit slot (503 with ``Retry-After`` otherwise);
* the webhook receiver mounted at ``/kaizala`` (registered as ``.../kaizala/``: Starlette
  redirects the path without the slash), its events kept in memory (``GET /events``);
* the webhook registered once the app listens, by a task the lifespan starts and cancels.

``KAIZALA_API_ROOT`` points the client at an emulator (with its fast limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from kaizala_async import (
    Credentials,
    KaizalaClient,
    KaizalaError,
    Rate,
    RateLimits,
    SlotWaitTimeoutError,
    ValidationError,
    WebhookEvent,
    WebhookReceiver,
    max_wait,
)

EVENTS: list[dict[str, Any]] = []
receiver = WebhookReceiver(callback_token=os.environ.get("KAIZALA_CALLBACK_TOKEN"))


@receiver.on(WebhookEvent)
async def keep(event: WebhookEvent) -> None:
    """Keep handlers short (the service waits 5 s): hand events to a queue or a database."""
    EVENTS.append({"type": type(event).__name__, "eventId": event.event_id})


def _client() -> KaizalaClient:
    env = os.environ
    credentials = Credentials(env["KAIZALA_APPLICATION_ID"], env["KAIZALA_APPLICATION_SECRET"],
                              env["KAIZALA_REFRESH_TOKEN"])  # fmt: skip
    if "KAIZALA_API_ROOT" in env:  # an emulator: its root and its fast limits
        limits = RateLimits(connector=Rate(100, 1.0), tenant=Rate(300, 1.0))
        return KaizalaClient(credentials, api_root=env["KAIZALA_API_ROOT"], limits=limits)
    return KaizalaClient(credentials)


async def _register_when_up(app: FastAPI, client: KaizalaClient) -> None:
    """The service calls the URL back at once: register only once the app is listening."""
    for attempt in range(12):
        await asyncio.sleep(min(0.25 * 2**attempt, 10.0))
        try:
            hook = await client.webhooks.register(
                os.environ["KAIZALA_GROUP_ID"], "Group", ["TextMessageCreated"],
                os.environ["KAIZALA_CALLBACK_URL"],
                callback_token=os.environ.get("KAIZALA_CALLBACK_TOKEN"),
            )  # fmt: skip
        except ValidationError:
            raise  # a mistake in the settings: retrying cannot help
        except KaizalaError:
            continue  # most likely the handshake found nobody listening yet
        app.state.webhook_id = hook.webhook_id
        return


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.webhook_id = None
    async with _client() as client:
        app.state.kaizala = client
        registering = asyncio.create_task(_register_when_up(app, client))
        yield
        registering.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await registering


app = FastAPI(lifespan=lifespan)
app.mount("/kaizala", receiver)


@app.post("/notify")
async def notify(body: dict[str, str], request: Request) -> dict[str, str]:
    client: KaizalaClient = request.app.state.kaizala
    try:
        with max_wait(2.0):
            sent = await client.messages.send(body["groupId"], body["text"])
    except SlotWaitTimeoutError:
        raise HTTPException(503, "busy, try again", headers={"Retry-After": "2"}) from None
    except ValidationError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"referenceId": sent.reference_id}


@app.get("/events")
async def events(request: Request) -> dict[str, Any]:
    return {"webhookId": request.app.state.webhook_id, "events": EVENTS}
