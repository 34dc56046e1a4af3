"""Service behaviour over HTTP: throttle per counting method, moves after N calls, hangs,
refresh-token rotation, control routes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from kaizala_async import (
    Credentials,
    KaizalaClient,
    MemoryTokenStore,
    Rate,
    RateLimits,
    RequestTimeoutError,
)
from kaizala_async.emulator import THROTTLE_METHODS, Emulator, EmulatorConfig
from tests.vtime import run_virtual

MOBILE = "+911234567890"


async def token_for(http: httpx.AsyncClient, emu: Emulator) -> tuple[str, str]:
    conn = emu.create_connector()
    refresh = emu.issue_refresh_token(conn, MOBILE)
    answer = await http.get(
        "/v1/accessToken",
        headers={
            "applicationId": conn.application_id,
            "applicationSecret": conn.application_secret,
            "refreshToken": refresh,
        },
    )
    return answer.json()["accessToken"], conn.application_id


@pytest.mark.parametrize("method", THROTTLE_METHODS)
def test_n_calls_pass_then_429_with_retry_after_then_success(method: str) -> None:
    emu = Emulator(
        EmulatorConfig(connector_limit=Rate(5, 10.0), tenant_limit=Rate(50, 10.0), throttle=method)
    )  # type: ignore[arg-type]

    async def main() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http:
            token, app_id = await token_for(http, emu)  # the token call counts: 1 of 5
            statuses = [
                (await http.get("/v1/groups", headers={"accessToken": token})).status_code
                for _ in range(4)
            ]
            assert statuses == [200] * 4
            refused = await http.get("/v1/groups", headers={"accessToken": token})
            assert refused.status_code == 429
            assert refused.json()["errorCode"] == "TooManyRequests"
            wait = int(refused.headers["retry-after"])
            assert 1 <= wait <= 20
            await asyncio.sleep(wait)
            again = await http.get("/v1/groups", headers={"accessToken": token})
            assert again.status_code == 200
            stats = (await http.get("/_emulator/stats")).json()
            return stats["connectors"][app_id]

    stats = run_virtual(main)
    assert stats["throttled"] == 1
    assert stats["calls"] == 6
    assert stats["maxInWindow"] == 5 if method == "sliding-log" else stats["maxInWindow"] >= 5


def test_tenant_limit_applies_across_connectors() -> None:
    emu = Emulator(EmulatorConfig(connector_limit=Rate(10, 10.0), tenant_limit=Rate(3, 10.0)))

    async def main() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http:
            a, _ = await token_for(http, emu)
            b, _ = await token_for(http, emu)
            third = await http.get("/v1/groups", headers={"accessToken": a})
            fourth = await http.get("/v1/groups", headers={"accessToken": b})
            assert third.status_code == 200
            assert fourth.status_code == 429
            return (await http.get("/_emulator/stats")).json()["tenants"]["contoso"]  # type: ignore[no-any-return]

    tenant = run_virtual(main)
    assert tenant["maxInWindow"] == 3
    assert tenant["throttled"] == 1


def test_move_after_n_calls_then_308_from_the_old_endpoint() -> None:
    emu = Emulator()

    async def main() -> None:
        async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http:
            token, _ = await token_for(http, emu)
            moved = (await http.post("/_emulator/move", json={"after": 2})).json()
            assert moved["movesAfter"] == 2
            for _ in range(2):
                assert (
                    await http.get("/v1/groups", headers={"accessToken": token})
                ).status_code == 200
            answer = await http.get("/v1/groups", headers={"accessToken": token})
            assert answer.status_code == 308
            assert answer.headers["location"] == emu.api_root + "/moved-1/"
            assert answer.content == b""
            assert (await http.get("/v1/groups", headers={"accessToken": token})).status_code == 308
            assert (
                await http.get("/moved-1/v1/groups", headers={"accessToken": token})
            ).status_code == 200

    run_virtual(main)


def test_hang_fault_meets_the_client_timeout_and_faults_are_controllable() -> None:
    emu = Emulator()
    conn = emu.create_connector()
    refresh = emu.issue_refresh_token(conn, MOBILE)

    async def main() -> dict[str, Any]:
        client = KaizalaClient(
            Credentials(conn.application_id, conn.application_secret, refresh),
            api_root=emu.api_root,
            transport=emu.transport(),
            limits=RateLimits.unlimited(),
            timeout=5.0,
        )
        async with (
            client,
            httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http,
        ):
            await http.post("/_emulator/faults", json={"route": "GET /v1/groups", "hangRate": 1.0})
            with pytest.raises(RequestTimeoutError):
                await client.request("GET", "/groups")
            await http.delete("/_emulator/faults")
            await client.request("GET", "/groups")
            return (await http.get("/_emulator/faults")).json()  # type: ignore[no-any-return]

    faults = run_virtual(main)
    assert faults == {"injected": {"error": 0, "reset": 0, "hang": 1}, "faults": 0}


def test_refresh_token_rotates_at_90_percent_and_the_sdk_keeps_the_new_one() -> None:
    emu = Emulator(EmulatorConfig(access_token_ttl=10.0, refresh_token_ttl=100.0))
    conn = emu.create_connector()
    store = MemoryTokenStore()

    async def main() -> str:
        refresh = emu.issue_refresh_token(conn, MOBILE)
        client = KaizalaClient(
            Credentials(conn.application_id, conn.application_secret, refresh),
            api_root=emu.api_root,
            transport=emu.transport(),
            limits=RateLimits.unlimited(),
            token_store=store,
        )
        async with client:
            await asyncio.sleep(95)  # renewals every ~8 s; the one after 90 s rotates
            await client.request("GET", "/groups")
            await asyncio.sleep(30)  # past the first refresh token's expiry: the new one works
            await client.request("GET", "/groups")
            saved = await store.load(conn.application_id)
            assert saved is not None
            assert saved.refresh_token.reveal() != refresh
            return refresh

    old = run_virtual(main)
    assert old not in emu.app.world.refresh  # the rotated-out token no longer works
