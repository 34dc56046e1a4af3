"""The client on either anyio backend: asyncio and trio (``anyio.run(main, backend=...)``).

Over real sockets to a loopback emulator (its own process) and over in-memory transports: the
limiter's pacing, token renewal in the background, a fan-out with its journal and its resume,
calls cancelled while they wait for a slot, a webhook delivery, and the parts that cannot run
under trio refused with a clear error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from benchmarks._common import LoopbackEmulator, loopback_emulator
from kaizala_async import (
    ClientClosedError,
    Credentials,
    KaizalaClient,
    Rate,
    RateLimits,
    RedisJournal,
    RedisTenantBudget,
    TextMessageCreatedEvent,
    ValidationError,
    WebhookReceiver,
)

BACKENDS = ["asyncio", "trio"]


@pytest.fixture(scope="module")
def emu() -> Iterator[LoopbackEmulator]:
    with loopback_emulator("--connector-limit", "20/1", "--tenant-limit", "300/1") as found:
        yield found


def _limits() -> RateLimits:
    return RateLimits(connector=Rate(20, 1.0), tenant=Rate(300, 1.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_paced_fan_out_with_its_journal_and_resume(
    backend: str, emu: LoopbackEmulator, tmp_path: Path
) -> None:
    """60 groups at 20 calls per second: never a 429, every group sent once, and a rerun with
    the journal sends nothing."""
    groups = emu.create_groups(60)
    before = emu.stats()["connectors"]
    journal = tmp_path / "run.db"

    async def main() -> tuple[Any, Any, float]:
        async with emu.client(0, _limits()) as client:
            started = time.monotonic()
            first = await client.fan_out(groups, text="hello", journal=journal, concurrency=8)
            elapsed = time.monotonic() - started
            again = await client.fan_out(groups, text="hello", journal=journal)
        return first, again, elapsed

    first, again, elapsed = anyio.run(main, backend=backend)
    stats = emu.stats()
    assert first.sent == 60 and first.failed == 0 and first.unknown == 0
    assert again.sent == 0 and again.skipped == 60
    assert all(stats["messagesPerGroup"].get(g) == 1 for g in groups)
    (connector,) = stats["connectors"]
    assert stats["connectors"][connector]["throttled"] == before[connector]["throttled"] == 0
    assert stats["connectors"][connector]["maxInWindow"] <= 20
    assert elapsed >= 2.0  # paced: 60 calls at 20 per second, not a burst


def _short_lived_tokens(lifetime: float) -> tuple[httpx.MockTransport, dict[str, Any]]:
    """A service whose access tokens live ``lifetime`` seconds; it records every call and
    whether the token it carried had expired."""
    seen: dict[str, Any] = {"token_calls": 0, "expired_uses": 0, "calls": 0, "expiry": {}}

    def answer(request: httpx.Request) -> httpx.Response:
        now = time.monotonic()
        if request.url.path == "/v1/accessToken":
            seen["token_calls"] += 1
            token = f"access-{seen['token_calls']}"
            seen["expiry"][token] = now + lifetime
            body = {
                "accessToken": token,
                "endpointUrl": "https://kms.kaiza.la",
                "accessTokenExpiry": int((time.time() + lifetime) * 1000),
                "refreshToken": None,
            }
            return httpx.Response(200, json=body)
        seen["calls"] += 1
        if now >= seen["expiry"].get(request.headers.get("accesstoken"), 0.0):
            seen["expired_uses"] += 1
            return httpx.Response(401, json={"errorCode": "InvalidToken", "message": "expired"})
        return httpx.Response(200, json={"referenceId": f"ref-{seen['calls']}"})

    return httpx.MockTransport(answer), seen


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_token_is_renewed_in_the_background_and_never_seen_expired(backend: str) -> None:
    """Tokens living 2 s, calls for 3.5 s: renewed ahead of expiry by the client's own task,
    never used expired, and that task ends with the client."""
    transport, seen = _short_lived_tokens(2.0)

    async def main() -> int:
        credentials = Credentials(
            "backends-app", "backends-app-secret-4711", "backends-refresh-4711"
        )
        async with KaizalaClient(credentials, transport=transport, limits=_limits()) as client:
            deadline = time.monotonic() + 3.5
            while time.monotonic() < deadline:
                await client.messages.send("g1", "hi")
                await anyio.sleep(0.05)
        return seen["token_calls"]

    token_calls = anyio.run(main, backend=backend)
    assert token_calls >= 2 and seen["expired_uses"] == 0 and seen["calls"] >= 30


@pytest.mark.parametrize("backend", BACKENDS)
def test_calls_cancelled_while_queued_give_their_places_up(backend: str) -> None:
    """Fifty calls queued behind a 5-per-second connector, cancelled by an anyio scope: none is
    sent, and the next calls go at once in order."""
    sent: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/accessToken":
            body = {"accessToken": "a", "endpointUrl": "https://kms.kaiza.la",
                    "accessTokenExpiry": int((time.time() + 3600) * 1000)}  # fmt: skip
            return httpx.Response(200, json=body)
        sent.append(time.monotonic())
        return httpx.Response(200, json={"referenceId": "r"})

    limits = RateLimits(connector=Rate(5, 1.0), tenant=Rate(300, 1.0), precharge=False)

    async def main() -> tuple[int, int, list[str]]:
        credentials = Credentials(
            "backends-app", "backends-app-secret-4711", "backends-refresh-4711"
        )
        transport = httpx.MockTransport(answer)
        closed: list[str] = []

        async def waits_until_closed(client: KaizalaClient) -> None:
            try:
                await client.messages.send("g1", "never")
            except ClientClosedError:
                closed.append("told")

        async with (
            anyio.create_task_group() as outside,
            KaizalaClient(credentials, transport=transport, limits=limits) as client,
        ):
            await client.messages.send("g1", "first")  # the token call, one slot used
            with anyio.move_on_after(0.3):
                async with anyio.create_task_group() as tg:
                    for _ in range(50):
                        tg.start_soon(client.messages.send, "g1", "queued")
            during = len(sent)
            with anyio.fail_after(5):
                await client.messages.send("g1", "after")
            for _ in range(5):  # waiting for a slot (a timer armed) when the client closes
                outside.start_soon(waits_until_closed, client)
            await anyio.sleep(0.02)
        assert closed == ["told"] * 5
        await anyio.sleep(0.01)  # anything the client left behind would still be there
        return during, len(sent), _other_tasks(backend)

    during, after, left = anyio.run(main, backend=backend)
    assert during <= 3  # the first, and what the 0.3 s allowed at 5 per second
    assert after == during + 1
    assert left == []  # no renewal task, no timer task (trio's) outlives the client


def _other_tasks(backend: str) -> list[str]:
    """Tasks running besides the caller's (and trio's own run_sync_soon task)."""
    if backend == "asyncio":
        import asyncio

        current = asyncio.current_task()
        return [t.get_name() for t in asyncio.all_tasks() if t is not current]
    import trio

    from .tasks import trio_task_names

    mine = trio.lowlevel.current_task().name
    return [n for n in trio_task_names()
            if n not in {"<init>", "<TrioToken.run_sync_soon task>", mine}]  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_webhook_delivery_is_received(backend: str) -> None:
    """The receiver (an ASGI app) answers the validation handshake, refuses a delivery without
    the callback token and hands a good one to its typed handler."""
    from .test_webhooks import _delivery

    receiver = WebhookReceiver(callback_token="cb-token")
    got: list[str] = []

    @receiver.on(TextMessageCreatedEvent)
    async def typed(event: TextMessageCreatedEvent) -> None:
        await anyio.lowlevel.checkpoint()  # a handler that awaits, on this backend
        got.append(event.data.body)

    async def main() -> list[int | str]:
        transport = httpx.ASGITransport(app=receiver)
        async with httpx.AsyncClient(transport=transport, base_url="http://hooks") as http:
            shake = await http.get("/kz", params={"validationToken": "abc123"})
            refused = await http.post("/kz", content=_delivery())
            taken = await http.post(
                "/kz", content=_delivery(), headers={"kz-callback-token": "cb-token"}
            )
        return [shake.status_code, shake.text, refused.status_code, taken.status_code]

    assert anyio.run(main, backend=backend) == [200, "abc123", 401, 200]
    assert got == ["hi"]


def test_what_needs_asyncio_is_refused_under_trio_with_the_reason(tmp_path: Path) -> None:
    """redis-py's client is asyncio's: the shared tenant budget and the Redis journal say so
    under trio, before anything connects."""
    budget = RedisTenantBudget("redis://127.0.0.1:9/0", "contoso")
    limits = RateLimits(connector=Rate(5, 1.0), tenant=Rate(300, 1.0), backend=budget)

    async def main() -> list[str]:
        errors = []
        credentials = Credentials(
            "backends-app", "backends-app-secret-4711", "backends-refresh-4711"
        )
        try:
            async with KaizalaClient(credentials, limits=limits):
                pass
        except ValidationError as exc:
            errors.append(str(exc))
        sends: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/v1/accessToken":
                expiry = int((time.time() + 3600) * 1000)
                body = {
                    "accessToken": "a",
                    "endpointUrl": "https://kms.kaiza.la",
                    "accessTokenExpiry": expiry,
                }
                return httpx.Response(200, json=body)
            sends.append(request)
            return httpx.Response(200, json={"referenceId": "r"})

        async with KaizalaClient(credentials, transport=httpx.MockTransport(answer)) as client:
            journal = RedisJournal("redis://127.0.0.1:9/0", "campaign")
            try:
                await client.fan_out(["g1"], text="hi", journal=journal)
            except ValidationError as exc:
                errors.append(str(exc))
        assert sends == []  # refused before any message left
        return errors

    errors = anyio.run(main, backend="trio")
    assert len(errors) == 2
    assert all("asyncio" in e and "redis" in e.lower() for e in errors)
