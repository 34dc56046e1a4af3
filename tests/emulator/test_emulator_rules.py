"""The emulator's public face (``kaizala_async.emulator``): the in-process transport's
timeouts and resets, and what each ``Emulator`` method does to the emulated service."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from kaizala_async import RateLimits
from kaizala_async._ratelimit import Rate
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault


def _http(emu: Emulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root)


def test_the_in_process_transport_times_a_hung_route_out_and_turns_a_reset_into_an_error() -> None:
    async def main() -> None:
        async with Emulator() as emu, _http(emu) as http:
            emu.inject(Fault(route="GET /v1/groups", hang_rate=1.0))
            started = time.monotonic()
            with pytest.raises(
                httpx.ReadTimeout, match=r"^the emulator did not answer in time$"
            ) as hung:
                await http.get("/v1/groups", timeout=httpx.Timeout(5.0, read=0.2))
            assert hung.value.request.url.path == "/v1/groups"
            assert time.monotonic() - started < 2.0
            emu.clear_faults()
            emu.inject(Fault(route="GET /v1/groups", reset_rate=1.0))
            with pytest.raises(httpx.ReadError, match="injected connection reset") as reset:
                await http.get("/v1/groups")
            assert reset.value.request.url.path == "/v1/groups"
            emu.clear_faults()
            # No read timeout: the call is not bounded by the transport (it answers 401 here).
            answer = await http.get("/v1/groups", timeout=None)
            assert answer.status_code == 401

    asyncio.run(main())


def test_the_api_root_is_the_served_origin_without_its_trailing_slash() -> None:
    emu = Emulator()
    assert emu.api_root == "http://kaizala.emulator"
    emu.serve_at("http://127.0.0.1:9000/")
    assert emu.api_root == "http://127.0.0.1:9000"
    emu.serve_at("http://emulator.test/X/")
    assert emu.api_root == "http://emulator.test/X"  # only the slash goes
    assert emu.config == EmulatorConfig()


def test_a_client_is_a_new_connector_of_its_tenant_paced_by_the_emulators_limits() -> None:
    config = EmulatorConfig(connector_limit=Rate(7, 2.0), tenant_limit=Rate(11, 3.0))
    emu = Emulator(config)
    client = emu.client(tenant="fabrikam", mobile_number="+919999999999",
                        permissions=frozenset({"groupinfo"}))  # fmt: skip
    (connector,) = emu.app.world.connectors.values()
    assert connector.tenant.name == "fabrikam"
    assert connector.permissions == frozenset({"groupinfo"})
    limits = client.limits
    assert (limits.connector, limits.tenant) == (Rate(7, 2.0), Rate(11, 3.0))
    assert limits.tenant_key == f"emulator-{id(emu)}-fabrikam"
    grant = next(iter(emu.app.world.refresh.values()))
    assert (grant.connector, grant.mobile_number) == (connector, "+919999999999")
    other = emu.client(limits=RateLimits.unlimited(), api_root="http://elsewhere.test")
    assert other.limits == RateLimits.unlimited()
    assert len(emu.app.world.connectors) == 2
    default = emu.client()
    newest = list(emu.app.world.connectors.values())[-1]
    assert (newest.tenant.name, newest.permissions) == (
        "contoso",
        emu.create_connector().permissions,
    )
    assert next(reversed(emu.app.world.refresh.values())).mobile_number == "+911234567890"
    del default


def test_a_client_reaches_this_emulator_in_process() -> None:
    async def main() -> list[str]:
        async with Emulator() as emu, emu.client() as client:
            ids = emu.create_groups(2, mobile_number="+911234567890")
            return sorted([g.group_id async for g in client.groups.list()]) + ids

    listed = asyncio.run(main())
    assert sorted(listed[:2]) == sorted(listed[2:])


def test_set_up_helpers_act_on_the_world_without_a_call() -> None:
    emu = Emulator()
    ids = emu.create_groups(3, mobile_number="+915", tenant="t2")
    assert len(ids) == 3
    for group_id in ids:
        group = emu.app.world.groups[group_id]
        assert (group.members, group.tenant) == ({"+915": "Admin"}, "t2")
    assert emu.calls() == []
    assert emu.stats()["messagesPerGroup"] == dict.fromkeys(ids, 0)
    connector = emu.create_connector("t2", permissions=frozenset({"webhook"}))
    token = emu.issue_refresh_token(connector, "+916")
    assert emu.app.world.refresh[token].mobile_number == "+916"
    assert emu.outbox() == []
    emu.inject(Fault(error_rate=1.0))
    emu.inject(Fault(latency=0.1))
    assert len(emu.app.faults.faults) == 2
    emu.clear_faults()
    assert emu.app.faults.faults == []


def test_a_move_now_or_after_some_calls() -> None:
    emu = Emulator()
    emu.move_endpoint()
    assert emu.app.prefix == "/moved-1"
    emu.move_endpoint(after=2)
    assert (emu.app.prefix, emu.app.move_after) == ("/moved-1", emu.app.resource_calls + 2)


def test_closing_the_emulator_cancels_its_webhook_deliveries() -> None:
    async def main() -> None:
        emu = Emulator()
        hub = emu.app.hub
        started = asyncio.Event()

        async def never() -> None:
            started.set()
            await asyncio.sleep(3600)

        task = asyncio.get_running_loop().create_task(never())
        hub._tasks.add(task)
        await started.wait()
        async with emu:
            pass
        assert task.cancelled()

    asyncio.run(main())


def test_calls_since_a_time_are_the_calls_answered_from_then() -> None:
    async def main() -> None:
        async with Emulator() as emu, _http(emu) as http:
            await http.get("/v1/groups")
            middle = emu.app.wall()
            await asyncio.sleep(0.01)
            await http.get("/v1/groups/x")
            everything = emu.calls()
            assert [c["path"] for c in everything] == ["/v1/groups", "/v1/groups/x"]
            assert [c["path"] for c in emu.calls(since=middle + 0.001)] == ["/v1/groups/x"]
            assert [c["status"] for c in everything] == [401, 401]
            await emu.drain_webhooks()  # nothing under way: returns

    asyncio.run(main())


def test_the_transports_own_errors_carry_their_request() -> None:
    async def main() -> None:
        async with Emulator() as emu:
            transport = emu.transport()
            emu.inject(Fault(route="GET /v1/groups", reset_rate=1.0, times=1))
            emu.inject(Fault(route="GET /v1/groups", hang_rate=1.0))
            for kind in (httpx.ReadError, httpx.ReadTimeout):
                request = httpx.Request(
                    "GET", f"{emu.api_root}/v1/groups", extensions={"timeout": {"read": 0.1}}
                )
                with pytest.raises(kind) as caught:
                    await transport.handle_async_request(request)
                assert caught.value.request is request

    asyncio.run(main())
