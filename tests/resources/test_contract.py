"""One contract test per endpoint: the request on the wire (method, path, query, header names,
JSON body) is the SPEC's, and the SPEC's sample answer decodes into the model."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

import kaizala_async as k
from tests.conftest import make_client
from tests.fake_service import FakeKaizala

G = "df91cb37-97bf-4ccd-a8c2-b2a3ba5eac62@1"  # samples' group ids carry an @1 suffix
A = "f260dc09-f1f3-4305-84f6-6edbedb82fb7"
R = "4a44e62f-5142-a980-c7a48e2d92a8"
W = "dac6fccf-f2e9-4abc-94d7-793037e99da7"
B = "f9d3a907-eef6-4bd7-9d98-9158a0cb05e4"


@attrs.frozen
class Case:
    id: str
    call: Callable[[k.KaizalaClient], Awaitable[Any]]
    method: str
    path: str
    body: Any = None  # expected JSON body (None: no body)
    query: dict[str, str] | None = None
    reply: Any = attrs.field(factory=lambda: {"result": True})
    check: Callable[[Any], bool] = lambda result: True


async def _all(paginator: k.Paginator[Any]) -> list[Any]:
    return await paginator.collect()


CASES = [
    Case(
        "U1",
        lambda c: c.users.me(),
        "GET",
        "/v1/users/me",
        reply={"id": "u-1", "mobileNumber": "+911111111111", "name": "A", "profilePic": ""},
        check=lambda u: (
            u == k.User(id="u-1", mobile_number="+911111111111", name="A", profile_pic="")
        ),
    ),
    Case(
        "G1",
        lambda c: c.groups.create(
            "Kaizala Test group",
            "Welcome to group created programmatically",
            members=["+911099999999"],
        ),
        "POST",
        "/v1/groups",
        body={
            "name": "Kaizala Test group",
            "welcomeMessage": "Welcome to group created programmatically",
            "members": ["+911099999999"],
            "groupType": "Group",
        },
        reply={
            "groupId": "5fe5b80a-52d1-4d8a-8086-cf8f34259de2",
            "groupName": "Kaizala Test group",
            "membersAdded": True,
        },
        check=lambda g: g.group_id == "5fe5b80a-52d1-4d8a-8086-cf8f34259de2" and g.members_added,
    ),
    Case(
        "G2",
        lambda c: _all(c.groups.list(fetch_all=True)),
        "GET",
        "/v1/groups",
        query={"fetchAllGroups": "true"},
        reply={
            "groups": [
                {
                    "groupName": "Sample group name",
                    "groupId": "853654b2-5874-462d-b709-0c4e43a7083f",
                    "groupImageUrl": "",
                    "hasSubGroups": False,
                    "hasParentGroups": False,
                    "callerRole": "Admin",
                    "currentLevelSubGroupCount": 0,
                    "currentLevelParentGroupCount": 0,
                    "userCount": 2,
                    "uniqueUserCount": 0,
                    "currentLevelUserCount": 2,
                    "currentLevelUnProvisionedUserCount": 0,
                    "unProvisionedUserCount": 0,
                    "isMappedToTenant": False,
                    "groupType": "Group",
                    "isDuplicate": False,
                    "isEditable": True,
                    "isDetailsReadable": True,
                }
            ]
        },
        check=lambda gs: gs[0].user_count == 2 and gs[0].caller_role == "Admin",
    ),
    Case(
        "G3",
        lambda c: c.groups.get(G),
        "GET",
        f"/v1/groups/{G}",
        reply={
            "groups": [
                {
                    "groupName": "Sample group name",
                    "groupId": "853654b2-5874-462d-b709-0c4e43a7083f",
                    "groupImageUrl": "",
                    "hasSubGroups": True,
                    "userCount": 200,
                    "currentLevelUserCount": 10,
                }
            ]
        },
        check=lambda g: g.user_count == 200 and g.has_sub_groups is True,
    ),
    Case(
        "S1",
        lambda c: _all(c.subgroups.list(G)),
        "GET",
        f"/v1/groups/{G}/subGroups",
        reply={
            "groupName": "Kaizala Test group",
            "groupId": "5fe5b80a-52d1-4d8a-8086-cf8f34259de2",
            "groupImageUrl": "",
            "hasSubGroups": True,
            "subGroups": [
                {
                    "groupName": "Kaizala Test sub group",
                    "groupId": "d15fce78-d5c5-410f-845d-a747f02de912",
                    "hasParentGroups": True,
                    "isDuplicate": False,
                    "welcomeMessage": "Welcome to sub group created programmatically via Postman",
                }
            ],
        },
        check=lambda gs: [g.group_id for g in gs] == ["d15fce78-d5c5-410f-845d-a747f02de912"],
    ),
    Case(
        "S2",
        lambda c: c.subgroups.create(
            G, "Test Group", "Hello", members=["+919652000000", "+919910000005"], add_caller=False
        ),
        "POST",
        f"/v1/groups/{G}/subGroups",
        body={
            "name": "Test Group",
            "welcomeMessage": "Hello",
            "members": ["+919652000000", "+919910000005"],
            "addUserToGroup": False,
        },
        reply={"groupId": "853654b2-5874-462d-b709-0c4e43a7083f", "groupName": "Test Group"},
        check=lambda g: g.group_name == "Test Group" and g.members_added is None,
    ),
    Case(
        "S3",
        lambda c: c.subgroups.attach(G, ["d15fce78-d5c5-410f-845d-a747f02de912"]),
        "PUT",
        f"/v1/groups/{G}/subGroups",
        body={"subGroups": ["d15fce78-d5c5-410f-845d-a747f02de912"]},
        check=lambda r: r is None,
    ),
    Case(
        "S4",
        lambda c: c.subgroups.detach(G, "d15fce78-d5c5-410f-845d-a747f02de912"),
        "DELETE",
        f"/v1/groups/{G}/subGroups/d15fce78-d5c5-410f-845d-a747f02de912",
        check=lambda r: r is None,
    ),
    Case(
        "M1",
        lambda c: _all(c.members.list(G)),
        "GET",
        f"/v1/groups/{G}/members",
        reply={
            "members": [
                {
                    "id": "4deffa08-0000-4b87-8c2f-d944565f5f31",
                    "role": "Admin",
                    "mobileNumber": "+919652000000",
                    "isProvisioned": True,
                },
                {
                    "id": "2e20e9ac-0000-47bd-abac-1f5236004684",
                    "role": "Member",
                    "mobileNumber": "+919652000001",
                    "isProvisioned": False,
                },
            ]
        },
        check=lambda ms: [m.role for m in ms] == ["Admin", "Member"] and not ms[1].is_provisioned,
    ),
    Case(
        "M2",
        lambda c: c.members.add(G, ["+911111111111", "+911111111112"]),
        "PUT",
        f"/v1/groups/{G}/members",
        body={"members": ["+911111111111", "+911111111112"]},
        reply={"result": "true"},  # the docs sample sends the string
        check=lambda r: r.all_added is True,
    ),
    Case(
        "M3",
        lambda c: c.members.remove(G, "2e20e9ac-0000-47bd-abac-1f5236004684"),
        "DELETE",
        f"/v1/groups/{G}/members/2e20e9ac-0000-47bd-abac-1f5236004684",
        check=lambda r: r is None,
    ),
    Case(
        "P1",
        lambda c: _all(c.subscribers.list(G)),
        "POST",
        f"/v1/groups/{G}/subscribers",
        body={"count": 50},
        reply={
            "subscribers": [
                {
                    "id": "e2238eb5-2f45-4783-8f4b-571549db86c0",
                    "mobileNumber": "+91109999999",
                    "name": "",
                    "profilePic": "",
                    "isProvisioned": False,
                }
            ]
        },
        check=lambda ss: ss[0].mobile_number == "+91109999999",
    ),
    Case(
        "P2",
        lambda c: c.subscribers.add(G, ["+911111111111", "+911111111112"]),
        "PUT",
        f"/v1/groups/{G}/subscribers/add",
        body={"subscribers": ["+911111111111", "+911111111112"]},
        reply={"result": {"+911111111111": {"isAdded": True}, "+911111111112": {"isAdded": True}}},
        check=lambda r: r.all_succeeded and len(r.results) == 2,
    ),
    Case(
        "P3",
        lambda c: c.subscribers.remove(G, ["+911111111111"]),
        "PUT",
        f"/v1/groups/{G}/subscribers/remove",
        body={"subscribers": ["+911111111111"]},
        reply={"result": {"+911111111111": {"isRemoved": True}}},
        check=lambda r: r.all_succeeded,
    ),
    Case(
        "T1",
        lambda c: c.messages.send(
            G, "Hello All! Welcome to Kaizala.", subscribers=["+911999999999", "+911999999998"]
        ),
        "POST",
        f"/v1/groups/{G}/messages",
        body={
            "message": "Hello All! Welcome to Kaizala.",
            "subscribers": ["+911999999999", "+911999999998"],
        },
        reply={"referenceId": "853654b2-5874-462d-b709-0c4e43a7083f"},
        check=lambda m: (
            m.reference_id == "853654b2-5874-462d-b709-0c4e43a7083f" and m.failed_result == ()
        ),
    ),
    Case(
        "D2",
        lambda c: c.media.upload_url(
            "https://manage.kaiza.la/Images/landing-images/main-page-1.png"
        ),
        "POST",
        "/v1/media/url",
        body={"mediaUrl": "https://manage.kaiza.la/Images/landing-images/main-page-1.png"},
        reply={"mediaResource": "eyJBY3Rpb25UeXBlIjozLCJGaWxlcyI6W3siSWQiOiIuLi4ifV19"},
        check=lambda m: m.media_resource.startswith("eyJ"),
    ),
    Case(
        "C1",
        lambda c: c.actions.send(
            G,
            k.PollAction(
                question="Do you find Kaizala extensibility easy to use?",
                choices=["Yes", "No", "Not at all"],
                expiry_in_hours=10,
            ),
        ),
        "POST",
        f"/v1/groups/{G}/actions",
        body={
            "actionType": "Poll",
            "actionBody": {
                "question": "Do you find Kaizala extensibility easy to use?",
                "choices": [{"title": "Yes"}, {"title": "No"}, {"title": "Not at all"}],
                "expiryInHours": 10,
            },
        },
        reply={
            "referenceId": "79f43f77-d586-4e9a-b8b8-103e0ac5b782",
            "actionId": "232e7003-22a1-4a28-bb36-9176e704e10c",
        },
        check=lambda a: a.action_id == "232e7003-22a1-4a28-bb36-9176e704e10c",
    ),
    Case(
        "C2",
        lambda c: _all(c.actions.list(G, "Job")),
        "GET",
        f"/v1/groups/{G}/actions",
        query={"actionType": "Job", "count": "30"},
        reply={
            "actions": [
                {
                    "referenceId": "3214841c-eaa2-4bf3-a583-acc69d9279c4",
                    "actionType": "Job",
                    "sender": "+919910005",
                    "sentAt": "2017-12-20T08:33:51Z",
                    "actionBody": {
                        "actionId": A,
                        "title": "Test",
                        "assigneeCount": 1,
                        "responseCount": 0,
                        "isCompleted": False,
                    },
                }
            ],
            "hasMore": False,
        },
        check=lambda acts: (
            acts[0].action_body.action_id == A
            and acts[0].time == datetime(2017, 12, 20, 8, 33, 51, tzinfo=UTC)
        ),
    ),
    Case(
        "C3",
        lambda c: c.actions.get(G, A),
        "GET",
        f"/v1/groups/{G}/actions/{A}",
        query={"getDetails": "false"},
        reply={
            "actionType": "Survey",
            "sender": "+91960000",
            "sentAt": "2017-12-20T08:33:51Z",
            "actionDetails": {
                "actionId": "8106b2bb-236c-4952-a554-2baadcbd49a0",
                "title": "Sample Survey",
                "responseCount": 1,
                "expiryDate": "2017-12-21T08:33:51Z",
            },
        },
        check=lambda d: d.action_details.response_count == 1 and d.action_type == "Survey",
    ),
    Case(
        "C4",
        lambda c: c.actions.respond(
            G,
            A,
            k.SurveyResponseBody(
                response_name="API response",
                response_location=k.Place(latitude=1, longitude=1, name="locationName234"),
                answers=[
                    "Response from API",
                    "Opt1",
                    ["MOpt1", "MOpt2"],
                    123,
                    k.Place(latitude=1, longitude=1, name="cool"),
                    datetime.fromtimestamp(1500377471, UTC),
                ],
            ),
        ),
        "POST",
        f"/v1/groups/{G}/actions/{A}/responses",
        body={
            "actionType": "Survey",
            "actionBody": {
                "responseName": "API response",
                "responseLocation": {"latitude": 1, "longitude": 1, "name": "locationName234"},
                "answers": [
                    "Response from API",
                    "Opt1",
                    ["MOpt1", "MOpt2"],
                    123,
                    {"lt": 1, "lg": 1, "n": "cool"},
                    1500377471000,
                ],
            },
        },
        reply={"responseId": "bbcf469e-4027-40b7-a80b-a961a48619e7"},
        check=lambda r: r.response_id == "bbcf469e-4027-40b7-a80b-a961a48619e7",
    ),
    Case(
        "R1",
        lambda c: c.reactions.comment(
            G, R, "Comment-3", source_group_id="fc6f2802-4431-b82f-60985a515b58"
        ),
        "POST",
        f"/v1/groups/{G}/reaction",
        body={
            "comment": "Comment-3",
            "referenceId": R,
            "sourceGroupId": "fc6f2802-4431-b82f-60985a515b58",
            "reactionType": "Comment",
        },
        reply={"ReactionId": "71df-d53a-43cc-9b73-80dcc22502ab"},  # seed 004's casing
        check=lambda r: r.reaction_id == "71df-d53a-43cc-9b73-80dcc22502ab",
    ),
    Case(
        "R2",
        lambda c: c.reactions.summary(G, R),
        "GET",
        f"/v1/groups/{G}/reaction/{R}/summary",
        query={"sourceGroupId": G},
        reply={"summary": [{"referenceId": R, "reactionsCountMap": {"like": 1, "comment": 4}}]},
        check=lambda s: (s.reactions_count_map.like, s.reactions_count_map.comment) == (1, 4),
    ),
    Case(
        "R3",
        lambda c: _all(c.reactions.summaries(G, limit=1)),
        "GET",
        f"/v1/groups/{G}/reaction/summary",
        query={"sourceGroupId": G, "cursor": "0"},
        reply={
            "cursor": 636674054802000000,
            "summary": [{"referenceId": R, "reactionsCountMap": {"like": 1, "comment": 4}}],
        },
        check=lambda ss: ss[0].reactions_count_map.comment == 4,
    ),
    Case(
        "R4",
        lambda c: _all(c.reactions.list(G, R, "Like", limit=1)),
        "GET",
        f"/v1/groups/{G}/reaction/{R}",
        query={"sourceGroupId": G, "reactionType": "Like", "cursor": "0"},
        reply={
            "cursor": 636674054802000000,
            "reactionDetails": [
                {
                    "lastModifiedTime": 1529573303063,
                    "reactionId": "4b2fb78b-b529-4fa1-acda-f670b491ebca",
                    "userId": "72e29591-f391-4e7b-84eb-4e228406fb9b",
                }
            ],
        },
        check=lambda rs: rs[0].last_modified_time == datetime.fromtimestamp(1529573303.063, UTC),
    ),
    Case(
        "W1",
        lambda c: c.webhooks.register(
            "74943849802190eaea3810",
            "Group",
            ["TextMessageCreated", "MemberAdded"],
            "https://requestb.in/123",
            callback_token="tokenToBeVerifiedByCallback",
            callback_context="Any data which is required to be returned in callback",
        ),
        "POST",
        "/v1/webhook",
        body={
            "objectId": "74943849802190eaea3810",
            "objectType": "Group",
            "eventTypes": ["TextMessageCreated", "MemberAdded"],
            "callBackUrl": "https://requestb.in/123",
            "callBackToken": "tokenToBeVerifiedByCallback",
            "callBackContext": "Any data which is required to be returned in callback",
        },
        reply={"webhookId": W},
        check=lambda w: w.webhook_id == W,
    ),
    Case(
        "W2",
        lambda c: _all(c.webhooks.list("b21405d1-4b10-4c46-bfa9-8338592f3782", "Group")),
        "GET",
        "/v1/webhook",
        query={"objectId": "b21405d1-4b10-4c46-bfa9-8338592f3782", "objectType": "Group"},
        reply={
            "webhooks": [
                {
                    "id": W,
                    "objectId": "b21405d1-4b10-4c46-bfa9-8338592f3782",
                    "objectType": "Group",
                    "events": ["TextMessageCreated", "MemberAdded"],
                    "filters": [],
                    "callbackUrl": "https://requestb.in/12786un1",
                    "callbackToken": "tokenToBeVerifiedByCallback",
                    "ts": 1505491564677,
                    "validity": 1568605416677,
                    "active": True,
                }
            ]
        },
        check=lambda ws: (
            ws[0].callback_url == "https://requestb.in/12786un1"
            and ws[0].callback_token.reveal() == "tokenToBeVerifiedByCallback"
            and "tokenToBeVerified" not in repr(ws[0])
            and ws[0].events == ("TextMessageCreated", "MemberAdded")
        ),
    ),
    Case(
        "W3",
        lambda c: c.webhooks.activate(W),
        "PUT",
        f"/v1/webhook/{W}",
        body={"active": True},
        check=lambda r: r is None,
    ),
    Case("W4", lambda c: c.webhooks.delete(W), "DELETE", f"/v1/webhook/{W}"),
    Case(
        "B1",
        lambda c: c.bots.create("Test Bot User from API", profile_pic="bWVkaWE="),
        "POST",
        "/v1/bot",
        body={"name": "Test Bot User from API", "profilePic": "bWVkaWE="},
        reply={"botUserId": B},
        check=lambda b: b.bot_user_id == B,
    ),
    Case(
        "B2",
        lambda c: _all(c.bots.list()),
        "GET",
        "/v1/bot",
        reply={"bots": [{"botUserId": B, "name": "Bot", "status": "Active"}]},
        check=lambda bs: bs[0].name == "Bot",
    ),
    Case(
        "B3",
        lambda c: c.bots.update(B, name="Test Bot User from API after update"),
        "PUT",
        f"/v1/bot/{B}",
        body={"name": "Test Bot User from API after update"},
    ),
    Case("B4", lambda c: c.bots.delete(B), "DELETE", f"/v1/bot/{B}"),
    Case(
        "B5",
        lambda c: c.bots.access_token(B),
        "GET",
        f"/v1/bot/accessToken/{B}",
        reply={"accessToken": "eyJbot", "accessTokenExpiry": 1529573303063, "scope": "bot"},
        check=lambda t: t.access_token.reveal() == "eyJbot" and "eyJbot" not in repr(t),
    ),
    Case(
        "B6",
        lambda c: c.bots.add_to_group(G, B),
        "POST",
        f"/v1/groups/{G}/bot",
        body={"botUserId": B},
    ),
    Case(
        "X1",
        lambda c: _all(c.tenant.find_groups("wit", limit=10)),
        "GET",
        "/v1/tenant/findGroupsByQuery",
        query={"query": "wit", "resultsOffset": "0", "pageSize": "10"},
        reply={"groups": [{"groupId": "g-1", "groupName": "with"}]},
        check=lambda gs: [g.group_name for g in gs] == ["with"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_endpoint_contract(fake: FakeKaizala, case: Case) -> None:
    fake.replies.append(case.reply)
    async with make_client(fake) as client:
        result = await case.call(client)
    (seen,) = fake.resource_calls()
    assert seen.method == case.method
    assert seen.path == case.path
    assert seen.headers["accesstoken"].startswith("access-")
    assert "authorization" not in seen.headers
    query = dict(urllib.parse.parse_qsl(seen.query))
    assert query == (case.query or {})
    if case.body is None:
        assert seen.body == b""
    else:
        assert seen.headers["content-type"] == "application/json"
        assert json.loads(seen.body) == case.body
    assert case.check(result), result


def test_every_resource_endpoint_of_the_spec_has_a_contract_case() -> None:
    resource_ids = {
        "U1", "G1", "G2", "G3", "S1", "S2", "S3", "S4", "M1", "M2", "M3", "P1", "P2", "P3",
        "T1", "D1", "D2", "C1", "C2", "C3", "C4", "R1", "R2", "R3", "R4", "W1", "W2", "W3",
        "W4", "B1", "B2", "B3", "B4", "B5", "B6", "X1",
    }  # fmt: skip
    # D1 (multipart) has its own test below.
    assert {c.id for c in CASES} | {"D1"} == resource_ids


async def test_d1_media_upload_is_multipart_with_the_files_part_and_its_type(
    fake: FakeKaizala,
) -> None:
    fake.replies.append({"mediaResource": "eyJBY3Rpb25UeXBlIjozfQ=="})
    async with make_client(fake) as client:
        media = await client.media.upload(b"\x89PNG....", filename="test.png")
    (seen,) = fake.resource_calls()
    assert (seen.method, seen.path) == ("POST", "/v1/media")
    assert seen.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'Content-Disposition: form-data; name="files"; filename="test.png"' in seen.body
    assert b"Content-Type: image/png" in seen.body
    assert b"\x89PNG...." in seen.body
    assert media.media_resource == "eyJBY3Rpb25UeXBlIjozfQ=="


#: The plain requests of the service's samples, made through the typed methods: what the caller
#: did not ask for is not sent (the service's own defaults apply).
PLAIN = [
    ("G1 without members", lambda c: c.groups.create("Ops", "Welcome"), "POST", "/v1/groups",
     {"name": "Ops", "welcomeMessage": "Welcome", "groupType": "Group"}, {}),
    ("G2 my groups", lambda c: _all(c.groups.list()), "GET", "/v1/groups", None, {}),
    ("G2 with details", lambda c: _all(c.groups.list(show_detail=True)), "GET", "/v1/groups",
     None, {"showDetail": "true"}),
    ("G3 with applicationId", lambda c: c.groups.get(G, application_id="app-7"), "GET",
     f"/v1/groups/{G}", None, {}),
    # The client knows its own id: sent by default, as the service's sample does (issue 28).
    ("G3 with the client's applicationId", lambda c: c.groups.get(G), "GET",
     f"/v1/groups/{G}", None, {}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "call", "method", "path", "body", "query"), PLAIN,
                         ids=[p[0] for p in PLAIN])  # fmt: skip
async def test_the_plain_request_sends_only_what_was_asked(
    fake: FakeKaizala, name: str, call: Any, method: str, path: str, body: Any,
    query: dict[str, str],
) -> None:  # fmt: skip
    fake.replies.append({"groupId": G, "groupName": "Ops", "groups": [{"groupId": G}]})
    async with make_client(fake) as client:
        await call(client)
    (seen,) = fake.resource_calls()
    assert (seen.method, seen.path) == (method, path)
    assert dict(urllib.parse.parse_qsl(seen.query)) == query
    if body is not None:
        assert json.loads(seen.body) == body
    if "applicationId" in name:  # G3's applicationId is a header (swagger, Postman sample)
        assert seen.headers["applicationid"] == ("app-7" if "with applicationId" in name
                                                 else client.credentials.application_id)  # fmt: skip
