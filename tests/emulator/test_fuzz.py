"""A property-based run against the emulator (issue 3, point 2): for every operation in the
swagger, hypothesis sends random paths, query strings, headers and bodies, valid and not; the
emulator never answers 5xx and never crashes (app exceptions are raised, not swallowed).

This is the equivalent of `schemathesis run` that needs no extra tools; the command for
schemathesis itself is in docs/emulator.md.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaizala_async.emulator import Emulator, EmulatorConfig
from tests.vtime import run_virtual

from .helpers import loopback_emulator
from .test_swagger_examples import SWAGGER_DATA

OPERATIONS = sorted((m.upper(), p) for p, ops in SWAGGER_DATA["paths"].items() for m in ops)
EXTRA_PATHS = [
    ("GET", "/users/me"), ("POST", "/media/url"), ("GET", "/bot"), ("POST", "/bot"),
    ("GET", "/tenant/findGroupsByQuery"), ("POST", "/groups/{test-group-id}/reaction"),
    ("GET", "/groups/{test-group-id}/reaction/summary"), ("PUT", "/webhook/{test-webhook-id}"),
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)
KEYS = [
    "name", "members", "message", "actionType", "actionBody", "subscribers", "subGroups", "objectId",
    "objectType", "eventTypes", "callBackUrl", "mediaUrl", "referenceId", "sourceGroupId",
    "reactionType", "count", "cursor", "responseId", "id", "active", "groupType", "botUserId",
    "questions", "answers", "isCompleted", "pin", "mobileNumber", "applicationId",
]  # fmt: skip
bodies = st.one_of(
    st.none(),
    json_values,
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6),
    st.binary(max_size=40),
)
ids = st.one_of(
    st.sampled_from(["GROUP", "PUBLIC", "ACTION", "HOOK", "x", "@1", "%20", ".."]),
    st.text(max_size=10),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(OPERATIONS + EXTRA_PATHS),
    st.dictionaries(st.text(max_size=5), ids, max_size=5),
    bodies,
    st.dictionaries(
        st.sampled_from(
            [
                "actionType",
                "getDetails",
                "query",
                "pageSize",
                "cursor",
                "objectId",
                "objectType",
                "sourceGroupId",
                "reactionType",
                "count",
                "fromDate",
            ]
        ),
        st.text(max_size=8),
        max_size=4,
    ),
    st.sampled_from([True, True, True, False]),  # mostly authenticated, to get past the door
)
def test_no_5xx_and_no_crash(
    operation: tuple[str, str],
    segments: dict[str, str],
    body: Any,
    query: dict[str, str],
    auth: bool,
) -> None:
    method, template = operation
    emu = Emulator(
        EmulatorConfig(),
        webhook_transport=httpx.MockTransport(lambda r: httpx.Response(200, text="nope")),
    )
    conn = emu.create_connector()
    refresh = emu.issue_refresh_token(conn, "+911234567890")

    async def main() -> int:
        transport = httpx.ASGITransport(
            app=emu.app
        )  # app exceptions propagate: a crash fails the test
        async with httpx.AsyncClient(transport=transport, base_url=emu.api_root) as http:
            token = (
                await http.get(
                    "/v1/accessToken",
                    headers={
                        "applicationId": conn.application_id,
                        "applicationSecret": conn.application_secret,
                        "refreshToken": refresh,
                    },
                )
            ).json()["accessToken"]
            headers = {"accessToken": token} if auth else {}
            group = (
                await http.post(
                    "/v1/groups",
                    json={"name": "g", "welcomeMessage": "Hi"},
                    headers={"accessToken": token},
                )
            ).json()["groupId"]
            known = {"GROUP": group, "PUBLIC": group, "ACTION": "nope", "HOOK": "nope"}

            def segment(match: re.Match[str]) -> str:
                value = segments.get(match.group(1), "GROUP")
                return httpx.URL("/" + known.get(value, value)).raw_path.decode()[1:] or "x"

            path = "/v1" + re.sub(r"\{([^}]+)\}", segment, template)
            if template.startswith(("/generatePin", "/loginWith", "/accessToken")):
                headers = {}
            content = (
                body
                if isinstance(body, bytes)
                else (None if body is None else json.dumps(body).encode())
            )
            answer = await http.request(
                method, path, params=query, content=content, headers=headers
            )
            return answer.status_code

    status = run_virtual(main)
    assert status < 500, status


def test_no_5xx_on_the_loopback_server() -> None:
    """The same kind of run over real sockets against `python -m kaizala_async.emulator`."""
    with (
        loopback_emulator("--connector-limit", "100000/60", "--tenant-limit", "100000/60") as (
            creds,
            root,
        ),
        httpx.Client(base_url=root, timeout=10) as http,
    ):
        token = http.get(
            "/v1/accessToken",
            headers={
                "applicationId": creds["applicationId"],
                "applicationSecret": creds["applicationSecret"],
                "refreshToken": creds["refreshToken"],
            },
        ).json()["accessToken"]
        group = http.post(
            "/v1/groups",
            json={"name": "g", "welcomeMessage": "Hi"},
            headers={"accessToken": token},
        ).json()["groupId"]

        @settings(max_examples=150, deadline=None)
        @given(
            st.sampled_from(OPERATIONS + EXTRA_PATHS),
            bodies,
            st.dictionaries(
                st.sampled_from(["actionType", "cursor", "count", "query"]),
                st.text(max_size=6),
                max_size=3,
            ),
        )
        def run(operation: tuple[str, str], body: Any, query: dict[str, str]) -> None:
            method, template = operation
            path = "/v1" + re.sub(r"\{[^}]+\}", group, template)
            content = (
                body
                if isinstance(body, bytes)
                else (None if body is None else json.dumps(body).encode())
            )
            answer = http.request(
                method, path, params=query, content=content, headers={"accessToken": token}
            )
            assert answer.status_code < 500, (method, path, answer.status_code, answer.text)

        run()
