"""Every example request in the service's own swagger is accepted by the emulator, and each
answer validates against the swagger's response schema where one is given (issue 3, point 1)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from kaizala_async.emulator import Emulator
from tests.vtime import run_virtual

SWAGGER = Path(__file__).resolve().parents[1] / "data" / "kaizala_api_full_swagger.json"
MOBILE, MOBILE_2, MOBILE_3 = "+911111111111", "+911099999999", "+911088888888"
MEMBER_ID = "364388bc-5b7f-4857-a58c-31eba18e962e"  # the fixed member id in one swagger path
PACKAGE = "25b39b30-0806-4d17-b6a7-a39f21fa52e9"

#: Request definitions the operations do not reference, and the operation each belongs to.
DEFINITION_OPERATIONS = {
    "Request - PostCustomActionToAGroup[withProperties]": (
        "post",
        "/groups/{test-group-id}/actions",
    ),
    "Request - PostAJobOnAGroup": ("post", "/groups/{test-group-id}/actions"),
    "Request - SendImageOnAGroup": ("post", "/groups/{test-group-id}/actions"),
    "Request - SubscribeToAllEventsAtActionLevelWithActionPackageId": ("post", "/webhook"),
    "Request - SubscribeToAllEventsAtGroupLevel": ("post", "/webhook"),
    "Request - PostCustomAnnouncementToAGroup": ("post", "/groups/{test-group-id}/actions"),
    "Request - PostCustomAnnouncementToAGroup[withImages]": (
        "post",
        "/groups/{test-group-id}/actions",
    ),
    "Request - Generate pin": ("post", "/generatePin"),
    "Request - PostCustomActionOnAGroup": ("post", "/groups/{test-group-id}/actions"),
}


#: For the two operations whose body schema has no example in the swagger.
MINIMAL_BODIES: dict[str, Any] = {
    "/groups/{test-public-group-id}/subscribers": {},
    "/groups/{test-group-id}/actions/{test-survey-id}/responses": {
        "actionType": "Survey",
        "actionBody": {"answers": ["an answer"]},
    },
}


def load_swagger() -> dict[str, Any]:
    return json.loads(SWAGGER.read_text(encoding="utf-8"), strict=False)  # raw control characters


def examples(swagger: dict[str, Any]) -> list[tuple[str, str, str, Any, str]]:
    """(id, method, path template, body or None, query) for every example request."""
    found: list[tuple[str, str, str, Any, str]] = []
    definitions = swagger["definitions"]
    referenced: set[str] = set()
    for path, operations in swagger["paths"].items():
        for method, operation in operations.items():
            requests = []
            op_examples = operation.get("x-ms-example")
            if isinstance(op_examples, list):
                requests += [e["request"] for e in op_examples]
            requests += [e["request"] for e in operation.get("x-unitTests", [])]
            for request in requests:
                uri = request.get("uri", path)
                query = uri.partition("?")[2]
                found.append(
                    (
                        f"{method.upper()} {path} [captured]",
                        method,
                        path,
                        request.get("body"),
                        query,
                    )
                )
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "body":
                    name = parameter["schema"].get("$ref", "").rsplit("/", 1)[-1]
                    referenced.add(name)
                    example = definitions.get(name, {}).get("x-ms-example")
                    if example is not None:
                        found.append(
                            (f"{method.upper()} {path} [{name}]", method, path, example, "")
                        )
            has_body = any(p.get("in") == "body" for p in operation.get("parameters", []))
            if not requests and not has_body:
                found.append((f"{method.upper()} {path}", method, path, None, ""))
            elif has_body and not any(e[1:3] == (method, path) for e in found):
                # A body schema without any example: the smallest body its schema allows.
                minimal = MINIMAL_BODIES[path]
                found.append((f"{method.upper()} {path} [schema only]", method, path, minimal, ""))
    for name, definition in definitions.items():
        if name.startswith("Request -") and name not in referenced and "x-ms-example" in definition:
            method, path = DEFINITION_OPERATIONS[name]
            found.append(
                (f"{method.upper()} {path} [{name}]", method, path, definition["x-ms-example"], "")
            )
    return found


SWAGGER_DATA = load_swagger()
EXAMPLES = examples(SWAGGER_DATA)


def test_every_operation_has_an_example_here() -> None:
    operations = {(m, p) for p, ops in SWAGGER_DATA["paths"].items() for m in ops}
    covered = {(m, p) for _, m, p, _, _ in EXAMPLES}
    assert operations - covered == set()
    assert len(EXAMPLES) >= 35


def echo_validation(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=request.url.params.get("validationToken", ""))


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "query"), EXAMPLES, ids=[e[0] for e in EXAMPLES]
)
def test_swagger_example_is_accepted_and_answer_matches_schema(
    name: str, method: str, path: str, body: Any, query: str
) -> None:
    emu = Emulator(webhook_transport=httpx.MockTransport(echo_validation))
    app = emu.app
    conn = emu.create_connector()
    refresh = emu.issue_refresh_token(conn, MOBILE)
    app.world.users[MOBILE_2] = MEMBER_ID

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.api_root) as http:
            token_answer = await http.get(
                "/v1/accessToken",
                headers={
                    "applicationId": conn.application_id,
                    "applicationSecret": conn.application_secret,
                    "refreshToken": refresh,
                },
            )
            access = token_answer.json()["accessToken"]
            auth = {"accessToken": access}

            async def call(verb: str, url: str, payload: Any = None) -> Any:
                answer = await http.request(verb, url, json=payload, headers=auth)
                assert answer.status_code == 200, (url, answer.text)
                return answer.json()

            group = (
                await call(
                    "POST",
                    "/v1/groups",
                    {"name": "G", "welcomeMessage": "Hi", "members": [MOBILE_2]},
                )
            )["groupId"]
            public = (
                await call(
                    "POST",
                    "/v1/groups",
                    {"name": "P", "welcomeMessage": "Hi", "groupType": "ConnectGroup"},
                )
            )["groupId"]
            await call("PUT", f"/v1/groups/{public}/subscribers/add", {"subscribers": [MOBILE_3]})
            sub = (
                await call(
                    "POST", f"/v1/groups/{group}/subGroups", {"name": "S", "welcomeMessage": "Hi"}
                )
            )["groupId"]
            spare = (await call("POST", "/v1/groups", {"name": "Spare", "welcomeMessage": "Hi"}))[
                "groupId"
            ]
            survey = (
                await call(
                    "POST",
                    f"/v1/groups/{group}/actions",
                    {
                        "actionType": "Survey",
                        "actionBody": {"title": "t", "questions": [{"title": "q", "type": "Text"}]},
                    },
                )
            )["actionId"]
            custom = (
                await call(
                    "POST",
                    f"/v1/groups/{group}/actions",
                    {"id": PACKAGE, "actionBody": {"title": "c"}},
                )
            )["actionId"]
            hook = (
                await call(
                    "POST",
                    "/v1/webhook",
                    {
                        "objectId": group,
                        "objectType": "Group",
                        "eventTypes": ["TextMessageCreated"],
                        "callBackUrl": "https://r.example/h",
                    },
                )
            )["webhookId"]
            media = (await call("POST", "/v1/media/url", {"mediaUrl": "https://x.example/a.png"}))[
                "mediaResource"
            ]
            pin_needed = path == "/loginWithPinAndApplicationId"
            if pin_needed:
                await http.post(
                    "/v1/generatePin",
                    json={"mobileNumber": MOBILE, "applicationId": conn.application_id},
                )
                app.world.outbox[-1].pin = "8876"  # the swagger's PIN

            values = {
                "test-group-id": group,
                "test-public-group-id": public,
                "test-sub-group-id": spare if method == "put" else sub,
                "test-survey-id": survey,
                "test-action-id": custom,
                "test-webhook-id": hook,
                "mobile-number": MOBILE,
                "mobile-number-2": MOBILE_2,
                "mobile-number-3": MOBILE_3,
                "application-id": conn.application_id,
                "application-secret": conn.application_secret,
                "refresh-token": refresh,
                "access-token": access,
                "media-resource": media,
                "mediaResource": media,
            }

            def fill(text: str) -> str:
                text = re.sub(
                    r"\{\{([^}]+)\}\}", lambda m: values.get(m.group(1), m.group(0)), text
                )
                return re.sub(
                    r"\{([a-z0-9-]+)\}", lambda m: values.get(m.group(1), m.group(0)), text
                )

            q = query
            if not q:  # required query parameters without an example: typical values
                typical = {"actionType": "Survey", "getDetails": "true"}
                parameters = SWAGGER_DATA["paths"][path][method].get("parameters", [])
                q = "&".join(
                    f"{p['name']}={typical[p['name']]}"
                    for p in parameters
                    if p.get("in") == "query" and p.get("required")
                )
            url = "/v1" + fill(path) + (("?" + fill(q)) if q else "")
            headers = dict(auth)
            if path == "/accessToken":
                headers = {
                    "applicationId": conn.application_id,
                    "applicationSecret": conn.application_secret,
                    "refreshToken": refresh,
                }
            content: bytes | None = None
            files = None
            if path == "/media":
                files = {"files": ("test.png", b"\x89PNG", "image/png")}
            elif body is not None:
                raw = body if isinstance(body, str) else json.dumps(body)
                content = fill(raw).encode()
                headers["Content-Type"] = "application/json"
            if (
                path == "/groups/{test-group-id}/actions/{test-action-id}/responses"
                or "ImageActionBody" in name
            ):
                pass
            return await http.request(
                method.upper(), url, content=content, files=files, headers=headers
            )

    answer = run_virtual(main)
    assert answer.status_code == 200, (name, answer.status_code, answer.text)
    schema = SWAGGER_DATA["paths"][path][method]["responses"].get("200", {}).get("schema")
    if schema is not None:
        jsonschema.validate(answer.json(), {**schema, "definitions": SWAGGER_DATA["definitions"]})
