"""What the emulator used to get wrong against the API reference, one test per gap."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest

from kaizala_async import CustomAction, SurveyAction, SurveyQuestion, SurveyResponseBody
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault
from tests.vtime import run_virtual

from .helpers import MOBILE, client_for, loopback_emulator, recording_receiver, serve


async def _raw(emu: Emulator) -> tuple[httpx.AsyncClient, str]:
    """A raw httpx client on the emulator's endpoint with a fresh access token."""
    conn = emu.create_connector()
    refresh = emu.issue_refresh_token(conn, MOBILE)
    http = httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root)
    answer = await http.get(
        "/v1/accessToken",
        headers={"applicationId": conn.application_id,
                 "applicationSecret": conn.application_secret, "refreshToken": refresh},
    )  # fmt: skip
    token = answer.json()
    http.base_url = httpx.URL(token["endpointUrl"])
    http.headers["accessToken"] = token["accessToken"]
    return http, token["accessToken"]


async def test_g1_without_a_welcome_message_is_refused() -> None:
    """G1: welcomeMessage is required by the docs and the swagger."""
    async with Emulator() as emu:
        http, _ = await _raw(emu)
        async with contextlib.aclosing(http):
            answer = await http.post("/v1/groups", json={"name": "No welcome"})
            assert answer.status_code == 400
            assert "welcomeMessage" in answer.json()["message"]
            assert not emu.app.world.groups


async def test_s2_add_user_to_group_false_keeps_the_caller_out_of_the_sub_group() -> None:
    """S2 addUserToGroup false: the caller is not a member (nor an admin) of the new sub-group,
    yet as the parent's admin it still reads and manages it."""
    async with Emulator() as emu:
        parent = emu.create_groups(1)[0]
        async with client_for(emu) as client:
            created = await client.subgroups.create(parent, "Quiet", "Hi", add_caller=False)
            sub = emu.app.world.groups[created.group_id]
            assert MOBILE not in sub.members
            members = await client.members.list(created.group_id).collect()
            assert MOBILE not in [m.mobile_number for m in members]
            await client.members.add(created.group_id, ["+919999900001"])  # still manageable
        assert "+919999900001" in sub.members


async def test_webhooks_on_an_action_and_on_its_package_receive_the_actions_events() -> None:
    """W1 objectType Action / ActionPackage (the Power Automate response triggers subscribe so):
    they were accepted and listed but never received anything."""
    deliveries: list[dict[str, Any]] = []
    package = "com.contoso.checkin.1"
    async with Emulator(webhook_transport=recording_receiver(deliveries)) as emu:
        group = emu.create_groups(1)[0]
        async with client_for(emu) as client:
            sent = await client.actions.send(group, CustomAction(package_id=package, title="In?"))
            await client.webhooks.register(sent.action_id, "Action", ["ActionResponse"],
                                           "https://hooks.example/action")  # fmt: skip
            await client.webhooks.register(package, "ActionPackage", ["ActionResponse"],
                                           "https://hooks.example/package")  # fmt: skip
            answered = await client.actions.respond(
                group, sent.action_id, SurveyResponseBody(answers=["yes"]), package_id=package
            )
        await emu.drain_webhooks()
    by_object = {(d["objectType"], d["objectId"]): d for d in deliveries}
    assert set(by_object) == {("Action", sent.action_id), ("ActionPackage", package)}
    for delivery in by_object.values():
        assert delivery["eventType"] == "ActionResponse"
        assert delivery["data"]["responseId"] == answered.response_id


async def test_a_survey_response_event_names_the_surveys_questions() -> None:
    """K2 SurveyResponse: responseWithQuestions carries each question's title, type and options
    (it used to carry the answer's index as title and always the type Text)."""
    deliveries: list[dict[str, Any]] = []
    async with Emulator(webhook_transport=recording_receiver(deliveries)) as emu:
        group = emu.create_groups(1)[0]
        survey = SurveyAction(title="Lunch", questions=[
            SurveyQuestion(title="Where?", type="SingleOption", options=["Here", "There"]),
            SurveyQuestion(title="How many?", type="Numeric"),
        ])  # fmt: skip
        async with client_for(emu) as client:
            sent = await client.actions.send(group, survey)
            await client.webhooks.register(
                group, "Group", ["SurveyResponse"], "https://h.example/s"
            )
            await client.actions.respond(
                group, sent.action_id, SurveyResponseBody(answers=["Here", 3])
            )
        await emu.drain_webhooks()
    (delivery,) = deliveries
    questions = delivery["data"]["responseDetails"]["responseWithQuestions"]
    assert questions == [
        {"title": "Where?", "type": "SingleOption",
         "options": [{"title": "Here"}, {"title": "There"}], "answer": "Here"},
        {"title": "How many?", "type": "Numeric", "options": [], "answer": 3},
    ]  # fmt: skip


def test_faults_on_one_route_combine() -> None:
    """Several faults matching one route all apply: latencies add up, outcomes are drawn in
    order (the first match used to win alone)."""

    async def main() -> None:
        async with Emulator() as emu:
            emu.inject(Fault(route="POST /v1/groups/*/messages", latency=0.5))
            emu.inject(
                Fault(route="post /v1/groups/*", latency=0.25, error_rate=1.0, error_status=502)
            )
            http, _ = await _raw(emu)
            group = emu.create_groups(1)[0]
            async with contextlib.aclosing(http):
                loop = asyncio.get_running_loop()
                start = loop.time()
                answer = await http.post(f"/v1/groups/{group}/messages", json={"message": "x"})
                took = loop.time() - start
                other = await http.get("/v1/users/me")  # matched by neither
            assert answer.status_code == 502
            assert took == pytest.approx(0.75, abs=0.01)
            assert other.status_code == 200
            assert emu.app.faults.injected["error"] == 1

    run_virtual(main)


async def test_the_call_log_times_every_call_and_names_its_route() -> None:
    """Per-call timestamps (a bounded log) so users can plot their own run; control routes are
    not logged; ``since`` filters; the log keeps only the newest ``call_log_size`` entries."""
    async with Emulator(EmulatorConfig(call_log_size=3)) as emu:
        http, _ = await _raw(emu)  # one A3 call
        async with contextlib.aclosing(http):
            for _ in range(3):
                await http.get("/v1/users/me")
            log = await http.get(emu.api_root + "/_emulator/calls")
            assert log.status_code == 200
            calls = log.json()["calls"]
            assert [(c["route"], c["status"], c["method"]) for c in calls] == [
                ("U1", 200, "GET")
            ] * 3
            stamps = [c["at"] for c in calls]
            assert stamps == sorted(stamps) and all(abs(s - emu.app.wall()) < 60 for s in stamps)
            later = await http.get(
                emu.api_root + "/_emulator/calls", params={"since": stamps[-1] + 1}
            )
            assert later.json()["calls"] == []
    assert emu.app.calls()[0]["applicationId"]


async def test_seeding_groups_is_a_declared_control_route() -> None:
    from kaizala_async.emulator._routes import ROUTES

    route, _ = ROUTES.match("control", "POST", "/_emulator/groups")
    assert route is not None
    async with Emulator() as emu:
        async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http:
            answer = await http.post("/_emulator/groups", json={"count": 2, "mobileNumber": MOBILE})
        assert len(answer.json()["groupIds"]) == 2


async def test_an_injected_reset_on_loopback_is_a_connection_reset_not_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On a socket the reset drops the connection (TCP RST): the client sees a read error, no
    answer at all, and the server logs no traceback (uvicorn used to answer 500)."""
    async with Emulator() as emu, serve(emu.app) as origin:
        emu.serve_at(origin)
        for phase in ("before", "after"):
            emu.clear_faults()
            emu.inject(Fault(route="GET /v1/users/me", reset_rate=1.0, reset_phase=phase))
            conn = emu.create_connector()
            refresh = emu.issue_refresh_token(conn, MOBILE)
            async with httpx.AsyncClient(base_url=origin) as http:
                token = (await http.get("/v1/accessToken", headers={
                    "applicationId": conn.application_id,
                    "applicationSecret": conn.application_secret, "refreshToken": refresh,
                })).json()  # fmt: skip
                with pytest.raises(httpx.ReadError):
                    await http.get(token["endpointUrl"] + "v1/users/me",
                                   headers={"accessToken": token["accessToken"]})  # fmt: skip
                # The server is fine afterwards: the next call on a new connection is answered.
                assert (await http.get(origin + "/_emulator/stats")).status_code == 200
        assert [c["status"] for c in emu.app.calls() if c["route"] == "U1"] == [None, None]
    assert not [r for r in caplog.records if r.exc_info]


def test_an_injected_reset_in_the_emulator_process_is_a_connection_reset() -> None:
    """The same through ``python -m kaizala_async.emulator`` (its own uvicorn)."""
    with loopback_emulator() as (credentials, root), httpx.Client(base_url=root) as http:
        http.post("/_emulator/faults", json={"route": "GET /v1/users/me", "resetRate": 1.0})
        token = http.get("/v1/accessToken", headers=credentials).json()
        with pytest.raises(httpx.ReadError):
            http.get(token["endpointUrl"] + "v1/users/me",
                     headers={"accessToken": token["accessToken"]})  # fmt: skip
