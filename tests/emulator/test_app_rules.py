"""The emulator's ASGI app (``emulator._app``) on its own: what it does around every handler
(the endpoint prefix and moves, faults, authentication, permissions, throttling, the call log,
the network model) and how it turns an answer into a response."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from kaizala_async._ratelimit import Rate
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault, NetworkProfile
from kaizala_async.emulator._app import EmulatorApp, _jwt_like
from kaizala_async.emulator._faults import FaultPlan
from kaizala_async.emulator._state import Group


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run(
    test: Callable[[Emulator, httpx.AsyncClient, str], Awaitable[None]], **config: Any
) -> None:
    clock = Clock()

    async def main() -> None:
        async with Emulator(EmulatorConfig(**config), clock=clock) as emu:
            connector = emu.create_connector()
            refresh = emu.issue_refresh_token(connector, "+911")
            async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http:
                answer = await http.get("/v1/accessToken", headers={
                    "applicationId": connector.application_id,
                    "applicationSecret": connector.application_secret, "refreshToken": refresh})  # fmt: skip
                assert answer.status_code == 200, answer.text
                await test(emu, http, answer.json()["accessToken"])

    asyncio.run(main())


def test_a_token_is_three_base64url_parts_with_the_claims_in_the_middle() -> None:
    token = _jwt_like({"appId": "A", "n": 1})
    head, claims, signature = token.split(".")
    assert "=" not in token
    pad = lambda part: part + "=" * (-len(part) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(head))) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(pad(claims))) == {"appId": "A", "n": 1}
    assert len(base64.urlsafe_b64decode(pad(signature))) == 32
    assert _jwt_like({}) != _jwt_like({})


def test_the_fast_profile_is_the_services_shape_sixty_times_faster() -> None:
    fast = EmulatorConfig.fast()
    assert (fast.connector_limit, fast.tenant_limit) == (Rate(100, 1.0), Rate(300, 1.0))
    assert EmulatorConfig.fast(tenant_limit=Rate(5, 1.0), seed=3).tenant_limit == Rate(5, 1.0)
    assert EmulatorConfig.fast(seed=3).seed == 3


def test_time_follows_the_given_clock_and_the_wall_advances_with_it() -> None:
    clock = Clock()
    app = EmulatorApp(EmulatorConfig(), clock=clock)
    wall0 = app.wall()
    clock.now += 2.5
    assert app.now() == 1002.5
    assert app.wall() == pytest.approx(wall0 + 2.5)
    assert app.wall_ms() == int(app.wall() * 1000)
    # Outside a loop and without a clock, the last time seen is kept.
    loose = EmulatorApp(EmulatorConfig())
    assert loose.now() == 0.0
    assert loose.wall() == pytest.approx(loose._wall0)


def test_tokens_carry_their_expiry_and_the_access_answer_the_endpoint_and_rotation() -> None:
    clock = Clock()
    app = EmulatorApp(EmulatorConfig(access_token_ttl=60.0, refresh_token_ttl=120.0), clock=clock)
    connector = app.world.add_connector("t")
    refresh = app.issue_refresh_token(connector, "+911")
    grant = app.world.refresh[refresh]
    wall = app.wall()
    assert (grant.connector, grant.mobile_number) == (connector, "+911")
    assert (grant.issued_at, grant.expires_at) == (pytest.approx(wall), pytest.approx(wall + 120.0))
    assert "+911" in app.world.users
    issued = app.issue_access_token(connector, "bot:b1")
    assert issued["accessTokenExpiry"] == int((wall + 60.0) * 1000)
    assert app.world.access[issued["accessToken"]].mobile_number == "bot:b1"
    answer = app.access_answer(connector, "+911", rotated="new-refresh")
    assert set(answer) == {
        "accessToken",
        "endpointUrl",
        "accessTokenExpiry",
        "refreshToken",
        "scope",
    }
    assert (answer["endpointUrl"], answer["refreshToken"], answer["scope"]) == (
        "http://kaizala.emulator/", "new-refresh", "token.write",
    )  # fmt: skip
    assert app.world.access[answer["accessToken"]].mobile_number == "+911"


def test_every_answer_is_json_with_the_services_date_and_no_body_means_no_content_type() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        answer = await http.get("/v1/groups/", headers={"accessToken": token})  # trailing slash
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert email.utils.parsedate_to_datetime(
            answer.headers["date"]
        ).timestamp() == pytest.approx(emu.app.wall(), abs=1.0)
        emu.move_endpoint()
        moved = await http.get("/v1/groups", headers={"accessToken": token})
        assert moved.status_code == 308
        assert moved.headers["location"] == "http://kaizala.emulator/moved-1/"
        assert "content-type" not in moved.headers and moved.content == b""

    _run(test)


def test_the_endpoint_prefix_the_old_ones_and_unknown_paths() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        auth = {"accessToken": token}
        assert (await http.get("/v1/groups", headers=auth)).status_code == 200
        emu.move_endpoint()
        assert (await http.get("/moved-1/v1/groups", headers=auth)).status_code == 200
        assert (await http.get("/MOVED-1/V1/groups", headers=auth)).status_code == 200
        emu.move_endpoint()
        for old in ("/v1/groups", "/moved-1/v1/groups"):
            answer = await http.get(old, headers=auth)
            assert (answer.status_code, answer.headers["location"]) == (
                308,
                "http://kaizala.emulator/moved-2/",
            )
        assert (await http.get("/moved-2/v1/groups", headers=auth)).status_code == 200
        lost = await http.get("/elsewhere/v1/groups", headers=auth)
        assert (lost.status_code, lost.json()) == (404, {
            "message": "no such path /elsewhere/v1/groups", "errorCode": "NotFound", "errorCategoryKey": "Routing"})  # fmt: skip
        unknown = await http.get("/moved-2/v1/nothing", headers=auth)
        assert (unknown.status_code, unknown.json()["message"]) == (404, "GET /nothing not found")
        control = await http.get("/_emulator/nothing")
        assert (control.status_code, control.json()) == (404, {
            "message": "unknown control route GET /_emulator/nothing", "errorCode": "NotFound",
            "errorCategoryKey": "Routing"})  # fmt: skip
        wrong = await http.post("/v1/accessToken")
        assert (wrong.status_code, wrong.json()) == (405, {
            "message": "/v1/accessToken does not take POST", "errorCode": "MethodNotAllowed",
            "errorCategoryKey": "Routing"})  # fmt: skip

    _run(test)


def test_a_move_after_some_calls_answers_the_next_one_with_308() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        auth = {"accessToken": token}
        emu.move_endpoint(after=2)
        assert [(await http.get("/v1/groups", headers=auth)).status_code for _ in range(3)] == [
            200,
            200,
            308,
        ]
        assert emu.app.prefix == "/moved-1" and emu.app.move_after is None
        assert emu.app.resource_calls == 3

    _run(test)


def test_authentication_by_header_or_bearer_and_an_expired_token_is_refused() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        assert (
            await http.get("/v1/groups", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 200
        assert (
            await http.get("/v1/groups", headers={"Authorization": f"bearer {token}"})
        ).status_code == 200
        for headers in ({}, {"Authorization": token}, {"Authorization": f"Basic {token}"},
                        {"accessToken": token + "x"}):  # fmt: skip
            refused = await http.get("/v1/groups", headers=headers)
            assert (refused.status_code, refused.json()["errorCode"]) == (401, "InvalidToken")
        grant = emu.app.world.access[token]
        grant.expires_at = emu.app.wall()  # expires now
        assert (await http.get("/v1/groups", headers={"accessToken": token})).status_code == 401
        grant.expires_at = emu.app.wall() + 0.5
        assert (await http.get("/v1/groups", headers={"accessToken": token})).status_code == 200

    _run(test)


def test_a_connector_without_the_routes_permission_is_refused_with_403() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        emu.app.world.access[token].connector.permissions = frozenset({"textmessage"})
        refused = await http.get("/v1/groups", headers={"accessToken": token})
        assert (refused.status_code, refused.json()) == (403, {
            "message": "the connector lacks the groupinfo permission", "errorCode": "Forbidden",
            "errorCategoryKey": "Permission"})  # fmt: skip

    _run(test)


def test_throttling_counts_only_accepted_calls_and_says_when_to_come_back() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        auth = {"accessToken": token}
        statuses = [(await http.get("/v1/groups", headers=auth)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = await http.get("/v1/groups", headers=auth)
        assert refused.json() == {"message": "Too many requests", "errorCode": "TooManyRequests",
                                  "errorCategoryKey": "Throttling"}  # fmt: skip
        assert float(refused.headers["retry-after"]) == pytest.approx(10.0)
        stats = emu.stats()
        (connector,) = stats["connectors"].values()
        # The access-token call counts too (the service throttles the token service as well).
        assert (connector["calls"], connector["throttled"]) == (3, 2)
        tenant = stats["tenants"]["contoso"]
        assert (tenant["calls"], tenant["throttled"]) == (3, 2)
        assert stats["throttle"] == "sliding-log"

    _run(test, connector_limit=Rate(3, 10.0), tenant_limit=Rate(50, 10.0))


def test_the_tenants_wait_is_given_when_the_tenant_refuses() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        auth = {"accessToken": token}
        statuses = [(await http.get("/v1/groups", headers=auth)).status_code for _ in range(2)]
        assert statuses == [200, 429]
        refused = await http.get("/v1/groups", headers=auth)
        assert float(refused.headers["retry-after"]) == pytest.approx(30.0)

    _run(test, connector_limit=Rate(50, 10.0), tenant_limit=Rate(2, 30.0))


def test_injected_faults_answer_reset_or_hang_before_authentication() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        emu.inject(Fault(route="GET /v1/groups", error_rate=1.0, error_status=502, times=1))
        failed = await http.get("/v1/groups")  # no token: the fault comes first
        assert (failed.status_code, failed.json()) == (502, {
            "message": "injected fault", "errorCode": "ServiceUnavailable", "errorCategoryKey": "Fault"})  # fmt: skip
        emu.inject(Fault(route="GET /v1/groups", reset_rate=1.0, reset_phase="after", times=1))
        before = emu.app.resource_calls
        with pytest.raises(httpx.ReadError, match="after processing"):
            await http.get("/v1/groups", headers={"accessToken": token})
        assert emu.app.resource_calls == before + 1  # the call was served, then the answer lost
        emu.inject(Fault(route="GET /v1/groups", reset_rate=1.0, times=1))
        with pytest.raises(httpx.ReadError, match=r"^injected connection reset$"):
            await http.get("/v1/groups", headers={"accessToken": token})
        assert emu.app.resource_calls == before + 1  # reset before: never served
        emu.inject(Fault(route="GET /v1/groups", hang_rate=1.0, times=1))
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/v1/groups", timeout=httpx.Timeout(1.0, read=0.1))
        assert [c["status"] for c in emu.calls()][-3:] == [502, None, None]  # a hang: no entry

    _run(test)


def test_the_call_log_records_resource_and_token_calls_not_control_ones() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        await http.get("/v1/groups", headers={"accessToken": token}, params={"X": "1"})
        await http.get("/_emulator/stats")
        log = emu.calls()
        assert [(c["method"], c["path"], c["route"], c["status"]) for c in log] == [
            ("GET", "/v1/accessToken", "A3", 200), ("GET", "/v1/groups", "G2", 200),
        ]  # fmt: skip
        assert (
            log[0]["applicationId"]
            == log[1]["applicationId"]
            == next(iter(emu.app.world.connectors))
        )
        assert emu.calls(since=log[1]["at"] + 1) == []
        log[0]["path"] = "changed"  # a copy: the log itself is untouched
        assert emu.calls()[0]["path"] == "/v1/accessToken"

    _run(test)


def test_the_call_log_keeps_its_last_entries() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        for _ in range(3):
            await http.get("/v1/nothing", headers={"accessToken": token})
        assert len(emu.calls()) == 2

    _run(test, call_log_size=2)


def test_query_keys_are_matched_case_insensitively() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        group = emu.create_groups(1, mobile_number="+911")[0]
        answer = await http.get(f"/v1/groups/{group}/actions", headers={"accessToken": token},
                                params={"ACTIONTYPE": "Poll", "Count": "5"})  # fmt: skip
        assert answer.status_code == 200, answer.text

    _run(test)


def test_network_delays_are_drawn_both_ways_for_api_calls_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("kaizala_async.emulator._app.anyio.sleep", sleep)

    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        slept.clear()
        await http.get("/v1/groups", headers={"accessToken": token})
        expected = random.Random(8)  # the seed's own generator: seed + 1
        profile = NetworkProfile.uniform(0.1, 0.3)
        profile.draw(expected), profile.draw(expected)  # the access-token call's two
        assert slept == [profile.draw(expected), profile.draw(expected)]
        await http.get("/_emulator/stats")
        assert len(slept) == 2

    _run(test, network=NetworkProfile.uniform(0.1, 0.3), seed=7)


def test_events_reach_the_group_the_action_and_the_actions_package() -> None:
    app = EmulatorApp(EmulatorConfig())
    emitted: list[tuple[str, str, str, dict[str, str]]] = []

    def emit(kind: str, object_id: str, event: str, data: Any, sender: dict[str, str]) -> int:
        emitted.append((kind, object_id, event, sender))
        return 1

    app.hub.emit = emit  # type: ignore[method-assign]
    group = Group("g", "G", "t", "", "Group", "", {"+91": "Admin"})
    app.world.groups["g"] = group
    action, _ = app.actions.send("g", {"id": "pkg", "actionbody": {}}, "+91", 0.0)
    app.emit(group, "ActionResponse", {"actionId": action.action_id}, "+91")
    sender = {"fromUser": "+91", "fromUserId": app.world.user_id("+91"), "fromUserName": "+91",
              "fromUserProfilePic": ""}  # fmt: skip
    assert emitted == [("Group", "g", "ActionResponse", sender),
                       ("Action", action.action_id, "ActionResponse", sender),
                       ("ActionPackage", "pkg", "ActionResponse", sender)]  # fmt: skip
    emitted.clear()
    app.emit(group, "TextMessageCreated", {"text": "x"}, "+91")
    assert emitted == [("Group", "g", "TextMessageCreated", sender)]


def test_lifespan_is_served_and_other_scopes_are_ignored() -> None:
    app = EmulatorApp(EmulatorConfig())
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    sent.clear()
    asyncio.run(app({"type": "websocket"}, receive, send))
    assert sent == []


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_tokens_name_their_connector_and_moment_and_differ_each_time() -> None:
    clock = Clock()
    app = EmulatorApp(EmulatorConfig(), clock=clock)
    connector = app.world.add_connector("t")
    refresh = _claims(app.issue_refresh_token(connector, "+911"))
    assert set(refresh) == {"appId", "phone", "iat", "n"}
    assert (refresh["appId"], refresh["phone"], refresh["iat"]) == (
        connector.application_id,
        "+911",
        int(app.wall()),
    )
    assert len(refresh["n"]) == 8
    access = _claims(app.issue_access_token(connector, "+911")["accessToken"])
    assert set(access) == {"appId", "iat", "n"}
    assert (access["appId"], access["iat"], len(access["n"])) == (
        connector.application_id,
        int(app.wall()),
        8,
    )


def test_the_seed_drives_the_fault_draws_and_the_network_draws() -> None:
    app = EmulatorApp(EmulatorConfig(seed=5))
    twin = FaultPlan(5)
    for plan in (app.faults, twin):
        plan.add(Fault(error_rate=0.5))
    assert [app.faults.draw("GET", "/x")[1] for _ in range(40)] == [
        twin.draw("GET", "/x")[1] for _ in range(40)
    ]
    expected = random.Random(6)
    assert [app._network_random.random() for _ in range(5)] == [expected.random() for _ in range(5)]
    config = EmulatorConfig(webhook_timeout=1.25, webhook_retry_unit=3.0)
    hub = EmulatorApp(config).hub
    assert (hub.handshake_timeout, hub.delivery_timeout, hub.retry_unit) == (1.25, 1.25, 3.0)


def test_the_last_time_seen_is_kept_for_set_up_outside_a_loop() -> None:
    app = EmulatorApp(EmulatorConfig())

    async def inside() -> float:
        return app.now()

    seen = asyncio.run(inside())
    assert app.now() == seen
    loose = EmulatorApp(EmulatorConfig())
    assert loose.wall() == loose._wall0  # no clock, no loop yet: the wall as it was at start
    clocked = EmulatorApp(EmulatorConfig(), clock=Clock())
    assert clocked.wall() == clocked._wall0  # the first reading is the wall's origin


def test_odd_paths_are_named_as_they_were_asked() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        answer = await http.get("/v1/groups/nopeX", headers={"accessToken": token})
        assert (answer.status_code, answer.json()["message"]) == (404, "group nopeX not found")
        root = await http.get("/")
        assert (root.status_code, root.json()["message"]) == (404, "no such path /")

    _run(test)


def test_a_content_error_is_answered_in_the_services_error_shape() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        answer = await http.post("/v1/media", headers={"accessToken": token}, content=b"x")
        assert (answer.status_code, answer.json()) == (415, {
            "message": "the upload must be multipart/form-data", "errorCode": "UnsupportedMediaType",
            "errorCategoryKey": "Validation"})  # fmt: skip
        assert answer.headers["date"].endswith(" GMT")

    _run(test)


def test_a_reset_on_a_served_connection_is_a_real_reset_and_no_answer() -> None:
    app = EmulatorApp(EmulatorConfig())
    app.faults.add(Fault(reset_rate=1.0))
    resets: list[bool] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/v1/groups", "headers": [], "query_string": b"",
             "extensions": {"kaizala.reset": lambda: resets.append(True)}}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert resets == [True]
    assert sent == []
    assert [c["status"] for c in app.calls()] == [None]
    scope.pop("extensions")
    with pytest.raises(ConnectionResetError):
        asyncio.run(app(scope, receive, send))


def test_a_reset_after_processing_says_so_and_calls_since_a_moment_include_it() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        emu.inject(Fault(route="GET /v1/groups", reset_rate=1.0, reset_phase="after", times=1))
        with pytest.raises(
            httpx.ReadError, match=r"^injected connection reset \(after processing\)$"
        ):
            await http.get("/v1/groups", headers={"accessToken": token})
        last = emu.calls()[-1]
        assert emu.calls(since=last["at"])[-1] == last  # a call at the moment itself is included

    _run(test)


def test_a_token_is_taken_only_from_a_bearer_authorization() -> None:
    async def test(emu: Emulator, http: httpx.AsyncClient, token: str) -> None:
        answer = await http.get(
            "/v1/groups", headers={"Authorization": f"Secret {token}"}
        )  # 7 characters too
        assert answer.status_code == 401

    _run(test)


def test_seeded_groups_greet_with_hi() -> None:
    app = EmulatorApp(EmulatorConfig())
    (group_id,) = app.seed_groups(1, "+911", "t")
    group = app.world.groups[group_id]
    assert (group.name, group.welcome_message, group.tenant) == ("Group 000000", "Hi", "t")
