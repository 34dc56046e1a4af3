"""The SDK against the in-process emulator: auth flows, groups, messages, moves, throttling."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from kaizala_async import (
    AuthenticationError,
    Credentials,
    KaizalaClient,
    Rate,
    RateLimits,
    login_with_pin,
)
from kaizala_async.emulator import Emulator, EmulatorConfig
from tests.vtime import run_virtual

from .helpers import MOBILE, client_for


def test_group_and_message_round_trip() -> None:
    emu = Emulator()

    async def main() -> None:
        async with client_for(emu, limits=RateLimits.unlimited()) as client:
            created = (
                await client.request(
                    "POST",
                    "/groups",
                    json={"name": "Ops", "welcomeMessage": "Hi", "members": ["+919999999999"]},
                )
            ).json()
            assert created["membersAdded"] is True
            group_id = created["groupId"]
            sent = (
                await client.request("POST", f"/groups/{group_id}/messages", json={"message": "hi"})
            ).json()
            assert sent["referenceId"]
            listed = (await client.request("GET", "/groups")).json()["groups"]
            assert [g["groupName"] for g in listed] == ["Ops"]
            detail = (await client.request("GET", f"/groups/{group_id}")).json()
            assert detail["groups"][0]["userCount"] == 2

    run_virtual(main)
    assert list(emu.stats()["messagesPerGroup"].values()) == [1]


def test_pin_flow_reads_the_pin_from_the_outbox() -> None:
    emu = Emulator()
    conn = emu.create_connector()

    async def main() -> None:
        login = await login_with_pin(
            conn.application_id,
            MOBILE,
            pin=lambda: emu.outbox()[-1]["pin"],
            api_root=emu.api_root,
            transport=emu.transport(),
        )
        creds = Credentials(conn.application_id, conn.application_secret, login.refresh_token)
        async with KaizalaClient(creds, api_root=emu.api_root, transport=emu.transport()) as client:
            me = (await client.request("GET", "/users/me")).json()
            assert me["mobileNumber"] == MOBILE

    run_virtual(main)


def test_wrong_secret_is_refused() -> None:
    emu = Emulator()
    conn = emu.create_connector()
    refresh = emu.issue_refresh_token(conn, MOBILE)

    async def main() -> None:
        async with KaizalaClient(
            Credentials(conn.application_id, "wrong", refresh),
            api_root=emu.api_root,
            transport=emu.transport(),
        ):
            pass

    with pytest.raises(AuthenticationError):
        run_virtual(main)


def test_endpoint_move_is_followed() -> None:
    emu = Emulator()

    async def main() -> None:
        async with client_for(emu, limits=RateLimits.unlimited()) as client:
            await client.request("GET", "/groups")
            emu.move_endpoint()
            await client.request("GET", "/groups")
            assert client.endpoint_url == emu.api_root + "/moved-1"
            assert client.stats.moved == 1

    run_virtual(main)


def test_short_token_lifetime_is_renewed_without_invalid_token_answers() -> None:
    emu = Emulator(EmulatorConfig(access_token_ttl=5.0))

    async def main() -> int:
        async with client_for(emu, limits=RateLimits.unlimited()) as client:
            for _ in range(60):
                await client.request("GET", "/groups")
                await asyncio.sleep(1.0)
            assert client.stats.refreshed_on_401 == 0
            return client.token_refreshes

    assert run_virtual(main) >= 12


def test_paced_clients_see_no_429_and_unpaced_ones_do() -> None:
    config = EmulatorConfig(connector_limit=Rate(10, 6.0), tenant_limit=Rate(30, 6.0))

    async def run(limits: RateLimits, clients: int) -> tuple[dict[str, object], int]:
        emu = Emulator(config)
        pool = [client_for(emu, limits=limits, max_retry_after=10.0) for _ in range(clients)]
        async with contextlib.AsyncExitStack() as stack:
            for client in pool:
                await stack.enter_async_context(client)
            await asyncio.gather(*(c.request("GET", "/groups") for c in pool for _ in range(25)))
            throttled = sum(c.stats.throttled for c in pool)
        return emu.stats(), throttled

    paced = RateLimits(connector=Rate(10, 6.0), tenant=Rate(30, 6.0), tenant_key="contoso")
    stats, throttled = run_virtual(lambda: run(paced, 4))
    assert throttled == 0
    assert stats["tenants"]["contoso"]["maxInWindow"] <= 30  # type: ignore[index]
    _, throttled = run_virtual(lambda: run(RateLimits.unlimited(), 4))
    assert throttled > 0
