"""Emulated content endpoints: media, actions and responses, reactions, bots, tenant, OAuth,
and connector permissions."""

from __future__ import annotations

import httpx
import pytest

from kaizala_async import (
    BadRequestError,
    PermissionDeniedError,
)
from kaizala_async.emulator import Emulator
from tests.vtime import run_virtual

from .helpers import MOBILE, client_for, new_group


def test_media_upload_then_image_action_and_listing() -> None:
    async def main() -> None:
        async with Emulator() as emu, client_for(emu) as client:
            group = await new_group(client, {"name": "G", "welcomeMessage": "Hi"})
            http = client._require().http
            token, base = await client._tokens.access()  # type: ignore[union-attr]
            upload = await http.post(
                base.rstrip("/") + "/v1/media",
                files={"files": ("pic.png", b"\x89PNG....", "image/png")},
                headers={"accessToken": token.reveal()},
            )
            assert upload.status_code == 200
            resource = upload.json()["mediaResource"]
            bad = await http.post(
                base.rstrip("/") + "/v1/media",
                files={"files": ("pic.png", b"x", "application/octet-stream")},
                headers={"accessToken": token.reveal()},
            )
            assert bad.status_code == 415
            sent = await client.request(
                "POST",
                f"/groups/{group}/actions",
                json={
                    "actionType": "Image",
                    "actionBody": {"mediaResource": resource, "caption": "c"},
                },
            )
            assert sent.json()["referenceId"]
            listed = (
                await client.request(
                    "GET", f"/groups/{group}/actions", params={"actionType": "Image"}
                )
            ).json()
            assert listed["hasMore"] is False
            assert listed["actions"][0]["actionType"] == "Image"
            url = (
                await client.request(
                    "POST", "/media/url", json={"mediaUrl": "https://x.example/a.jpg"}
                )
            ).json()
            assert url["mediaResource"]

    run_virtual(main)


def test_survey_job_poll_responses_and_details() -> None:
    async def main() -> None:
        async with Emulator() as emu, client_for(emu) as client:
            group = await new_group(client, {"name": "G", "welcomeMessage": "Hi"})
            survey = (
                await client.request(
                    "POST",
                    f"/groups/{group}/actions",
                    json={
                        "actionType": "survey",
                        "actionBody": {"title": "S", "questions": [{"title": "q", "type": "Text"}]},
                    },
                )
            ).json()
            response = (
                await client.request(
                    "POST",
                    f"/groups/{group}/actions/{survey['actionId']}/responses",
                    json={"actionType": "Survey", "actionBody": {"answers": ["yes"]}},
                )
            ).json()["responseId"]
            await client.request(
                "POST",
                f"/groups/{group}/actions/{survey['actionId']}/responses",
                json={
                    "actionType": "Survey",
                    "responseId": response,
                    "actionBody": {"answers": ["no"]},
                },
            )
            details = (
                await client.request(
                    "GET",
                    f"/groups/{group}/actions/{survey['actionId']}",
                    params={"getDetails": "true"},
                )
            ).json()
            assert details["actionType"] == "Survey"
            assert details["actionDetails"]["responseCount"] == 1
            (answered,) = details["actionDetails"]["responses"]
            assert answered["answers"] == ["no"]
            # The reference's recommendation (issue 28): who answered, by number and name.
            assert answered["responder"] == answered["responderName"] == MOBILE
            job = (
                await client.request(
                    "POST",
                    f"/groups/{group}/actions",
                    json={
                        "actionType": "Job",
                        "actionBody": {"title": "J", "assignedTo": [MOBILE]},
                    },
                )
            ).json()
            await client.request(
                "POST",
                f"/groups/{group}/actions/{job['actionId']}/responses",
                json={"actionType": "Job", "actionBody": {"isCompleted": True}},
            )
            jobs = (
                await client.request(
                    "GET", f"/groups/{group}/actions", params={"actionType": "Job"}
                )
            ).json()
            assert jobs["actions"][0]["actionBody"]["isCompleted"] is True
            job_details = (
                await client.request("GET", f"/groups/{group}/actions/{job['actionId']}",
                                     params={"getDetails": "true"})
            ).json()  # fmt: skip
            (done,) = job_details["actionDetails"]["responses"]
            assert done["assignee"] == done["assigneeName"] == MOBILE
            assert done["isCompleted"] is True
            with pytest.raises(BadRequestError, match="choices"):
                await client.request(
                    "POST",
                    f"/groups/{group}/actions",
                    json={
                        "actionType": "Poll",
                        "actionBody": {"question": "?", "choices": [{"title": "only"}]},
                    },
                )

    run_virtual(main)


def test_reactions_counts_details_and_cursor() -> None:
    async def main() -> None:
        async with Emulator() as emu, client_for(emu) as client:
            group = await new_group(client, {"name": "G", "welcomeMessage": "Hi"})
            ref = (
                await client.request("POST", f"/groups/{group}/messages", json={"message": "m"})
            ).json()["referenceId"]
            base = {"referenceId": ref, "sourceGroupId": group}
            await client.request(
                "POST", f"/groups/{group}/reaction", json=base | {"reactionType": "Like"}
            )
            await client.request(
                "POST",
                f"/groups/{group}/reaction",
                json=base | {"reactionType": "Comment", "comment": "nice"},
            )
            one = (
                await client.request(
                    "GET",
                    f"/groups/{group}/reaction/{ref}/summary",
                    params={"sourceGroupId": group},
                )
            ).json()
            assert one["summary"][0]["reactionsCountMap"] == {"like": 1, "comment": 1}
            page = (
                await client.request(
                    "GET",
                    f"/groups/{group}/reaction/summary",
                    params={"sourceGroupId": group, "cursor": 0},
                )
            ).json()
            assert page["summary"][0]["referenceId"] == ref
            after = (
                await client.request(
                    "GET",
                    f"/groups/{group}/reaction/summary",
                    params={"sourceGroupId": group, "cursor": page["cursor"]},
                )
            ).json()
            assert after["summary"] == []
            detail = (
                await client.request(
                    "GET",
                    f"/groups/{group}/reaction/{ref}",
                    params={"sourceGroupId": group, "reactionType": "Comment"},
                )
            ).json()
            assert detail["reactionDetails"][0]["comment"] == "nice"

    run_virtual(main)


def test_bots_tenant_search_and_permissions() -> None:
    async def main() -> None:
        async with Emulator() as emu, client_for(emu) as client:
            group = await new_group(client, {"name": "Wither", "welcomeMessage": "Hi"})
            bot = (
                await client.request(
                    "POST",
                    "/bot",
                    json={"name": "B", "welcomeMessage": "Hi"},
                )
            ).json()["botUserId"]
            assert [
                b["botUserId"] for b in (await client.request("GET", "/bot")).json()["bots"]
            ] == [bot]
            await client.request("PUT", f"/bot/{bot}", json={"name": "B2"})
            await client.request("POST", f"/groups/{group}/bot", json={"botUserId": bot})
            token = (await client.request("GET", f"/bot/accessToken/{bot}")).json()
            assert token["accessToken"] and token["accessTokenExpiry"]
            found = (
                await client.request(
                    "GET",
                    "/tenant/findGroupsByQuery",
                    params={"query": "wit", "resultsOffset": 0, "pageSize": 10},
                )
            ).json()
            assert [g["groupName"] for g in found["groups"]] == ["Wither"]
            await client.request("DELETE", f"/bot/{bot}")
            async with client_for(emu, permissions=frozenset({"groupinfo"})) as limited:
                await limited.request("GET", "/groups")
                with pytest.raises(PermissionDeniedError):
                    await limited.request(
                        "POST", f"/groups/{group}/messages", json={"message": "x"}
                    )

    run_virtual(main)


def test_oauth_code_flow() -> None:
    emu = Emulator()
    conn = emu.create_connector()

    async def main() -> None:
        async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http:
            redirect = await http.get(
                "/api/Oauth/Authorize",
                params={"client_id": conn.application_id, "redirect_uri": "https://app.example/cb"},
            )
            assert redirect.status_code == 302
            code = httpx.URL(redirect.headers["location"]).params["code"]
            token = await http.post(
                "/api/oauth/token",
                data={
                    "client_id": conn.application_id,
                    "client_secret": conn.application_secret,
                    "code": code,
                },
            )
            body = token.json()
            assert body["accessToken"] and body["refreshToken"] and body["endpointUrl"]
            again = await http.post(
                "/api/oauth/token",
                data={
                    "client_id": conn.application_id,
                    "client_secret": conn.application_secret,
                    "code": code,
                },
            )
            assert again.status_code == 401  # a code works once

    run_virtual(main)
