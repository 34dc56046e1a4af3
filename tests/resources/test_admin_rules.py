"""``client.webhooks`` and ``client.bots`` (``_resources.admin``) on their own: what each call
sends, what it makes of the answer, and every refusal, named, before anything is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from kaizala_async import Bot, CreatedBot, RegisteredWebhook, Secret, Webhook
from tests.resources.wire import answer_of, refused, sent, unexpected

HOOK = "https://hooks.example.com/k"
WHEN = datetime(2027, 1, 1, tzinfo=UTC)
WHEN_MS = int(WHEN.timestamp() * 1000)


def body(run: Any, answer: Any = None) -> Any:
    (request,) = sent(run, {"webhookId": "W1", "botUserId": "B1"} if answer is None else answer)
    return json.loads(request.content)


# -- webhooks.register -------------------------------------------------------------------------


def register(c: Any, **options: Any) -> Any:
    arguments = {"object_id": "G1", "object_type": "Group", "event_types": ["TextMessageCreated"]}
    arguments.update(options)
    return c.webhooks.register(callback_url=arguments.pop("callback_url", HOOK), **arguments)


def test_a_registration_sends_the_four_required_fields_only_by_default() -> None:
    (request,) = sent(register, {"webhookId": "W1"})
    assert (request.method, request.url.path) == ("POST", "/v1/webhook")
    assert json.loads(request.content) == {
        "objectId": "G1",
        "objectType": "Group",
        "eventTypes": ["TextMessageCreated"],
        "callBackUrl": HOOK,
    }


@pytest.mark.parametrize("token", ["tok", Secret("tok")], ids=["text", "secret"])
def test_every_registration_option_goes_under_its_wire_name(token: Any) -> None:
    assert body(
        lambda c: register(
            c, object_type="ActionPackage", callback_token=token, callback_context="", validity=WHEN
        )
    ) == {
        "objectId": "G1",
        "objectType": "ActionPackage",
        "eventTypes": ["TextMessageCreated"],
        "callBackUrl": HOOK,
        "callBackToken": "tok",
        "callBackContext": "",  # given, so sent
        "validity": WHEN_MS,
    }


def test_the_registration_is_returned_or_named() -> None:
    assert answer_of(register, {"webhookId": "W1"}) == RegisteredWebhook(webhook_id="W1")
    assert unexpected(register, {"id": 1}).what == "POST /webhook"


@pytest.mark.parametrize(
    ("options", "argument", "reason"),
    [
        ({"object_id": ""}, "object_id", "must be a non-empty id string, not ''"),
        ({"object_type": "group"}, "object_type", "must be 'Group', 'Action' or 'ActionPackage', not 'group'"),
        ({"event_types": "TextMessageCreated"}, "event_types", "must be a list of event type names, not one string"),
        ({"event_types": 3}, "event_types", "must be a list of event type names, not one string"),
        ({"event_types": []}, "event_types", "must name at least one event type"),
        ({"event_types": ["A", " "]}, "event_types[1]", "must be a non-empty string"),
        ({"callback_url": "ftp://x"}, "callback_url", "must be an http(s) URL, not 'ftp://x'"),
        ({"callback_token": ""}, "callback_token", "must be a non-empty string"),
        ({"callback_token": 5}, "callback_token", "must be a non-empty string"),
        ({"callback_context": 5}, "callback_context", "must be a string, not int"),
        ({"validity": datetime(2027, 1, 1)}, "validity", None),
    ],
)  # fmt: skip
def test_a_registration_is_refused_by_name(options: Any, argument: str, reason: str | None) -> None:
    found = refused(lambda c: register(c, **options))
    assert found[0] == argument
    if reason is not None:
        assert found[1] == reason


def test_each_object_type_is_accepted() -> None:
    for kind in ("Group", "Action", "ActionPackage"):
        assert body(lambda c, kind=kind: register(c, object_type=kind))["objectType"] == kind


# -- webhooks.list, update, activate, delete ---------------------------------------------------


def test_the_webhooks_of_an_object_are_listed_by_query() -> None:
    answer = {"webhooks": [{"id": "W1", "callbackUrl": HOOK}, {"id": "W2"}]}
    run = lambda c: c.webhooks.list("G1", "Action").collect()  # noqa: E731
    (request,) = sent(run, answer)
    assert (request.method, request.url.path) == ("GET", "/v1/webhook")
    assert dict(request.url.params) == {"objectId": "G1", "objectType": "Action"}
    assert [w.id for w in answer_of(run, answer)] == ["W1", "W2"]
    assert isinstance(answer_of(run, answer)[0], Webhook)


def test_a_listing_is_refused_or_its_answer_named() -> None:
    assert refused(lambda c: c.webhooks.list("", "Group").collect())[0] == "object_id"
    assert refused(lambda c: c.webhooks.list("G1", "Bot").collect())[0] == "object_type"
    assert unexpected(lambda c: c.webhooks.list("G1", "Group").collect(), []).what == "GET /webhook"


def test_an_update_sends_only_what_changes() -> None:
    (request,) = sent(lambda c: c.webhooks.update("W 1", active=False), {})
    assert (request.method, request.url.raw_path) == ("PUT", b"/v1/webhook/W%201")
    assert json.loads(request.content) == {"active": False}


def test_every_update_field_goes_under_its_wire_name() -> None:
    assert body(
        lambda c: c.webhooks.update(
            "W1",
            event_types=["A"],
            callback_url=HOOK,
            callback_token=Secret("t"),
            callback_context="ctx",
            validity=WHEN,
            active=True,
        ),
        {},
    ) == {
        "eventTypes": ["A"],
        "callBackUrl": HOOK,
        "callBackToken": "t",
        "callBackContext": "ctx",
        "validity": WHEN_MS,
        "active": True,
    }


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({}, "update"),
        ({"event_types": []}, "event_types"),
        ({"callback_url": "x"}, "callback_url"),
        ({"callback_token": ""}, "callback_token"),
        ({"callback_context": ""}, "callback_context"),
        ({"validity": "2027"}, "validity"),
        ({"active": 1}, "active"),
    ],
)
def test_an_update_is_refused_by_name(options: Any, argument: str) -> None:
    assert refused(lambda c: c.webhooks.update("W1", **options))[0] == argument


def test_an_empty_update_says_what_to_give() -> None:
    assert refused(lambda c: c.webhooks.update("W1"))[1] == "give at least one field to change"
    assert refused(lambda c: c.webhooks.update("", active=True))[0] == "webhook_id"


def test_activation_is_an_update_to_active() -> None:
    assert body(lambda c: c.webhooks.activate("W1"), {}) == {"active": True}


def test_a_webhook_is_deleted_by_its_escaped_id() -> None:
    (request,) = sent(lambda c: c.webhooks.delete("W/1"), {})
    assert (request.method, request.url.raw_path) == ("DELETE", b"/v1/webhook/W%2F1")
    assert refused(lambda c: c.webhooks.delete(".."))[0] == "webhook_id"


# -- bots --------------------------------------------------------------------------------------


def test_a_bot_is_created_with_its_name_and_picture_when_given() -> None:
    (request,) = sent(lambda c: c.bots.create("Helper"), {"botUserId": "B1"})
    assert (request.method, request.url.path) == ("POST", "/v1/bot")
    assert json.loads(request.content) == {"name": "Helper"}
    assert body(lambda c: c.bots.create("Helper", profile_pic="")) == {
        "name": "Helper",
        "profilePic": "",
    }
    assert answer_of(lambda c: c.bots.create("H"), {"botUserId": "B1"}) == CreatedBot(
        bot_user_id="B1"
    )


def test_a_bot_creation_is_refused_or_its_answer_named() -> None:
    assert refused(lambda c: c.bots.create(""))[0] == "name"
    assert refused(lambda c: c.bots.create("H", profile_pic=1))[0] == "profile_pic"
    assert unexpected(lambda c: c.bots.create("H"), {"x": 1}).what == "POST /bot"


def test_the_bots_are_listed_from_one_request() -> None:
    answer = {"bots": [{"botUserId": "B1", "name": "H"}]}
    run = lambda c: c.bots.list().collect()  # noqa: E731
    (request,) = sent(run, answer)
    assert (request.method, request.url.path) == ("GET", "/v1/bot")
    assert answer_of(run, answer) == [Bot(bot_user_id="B1", name="H")]
    assert unexpected(run, {"bots": [{}]}).what == "GET /bot"


def test_a_bot_update_sends_only_what_changes() -> None:
    (request,) = sent(lambda c: c.bots.update("B 1", name="New"), {})
    assert (request.method, request.url.raw_path) == ("PUT", b"/v1/bot/B%201")
    assert json.loads(request.content) == {"name": "New"}
    assert body(lambda c: c.bots.update("B1", name="N", profile_pic="P"), {}) == {
        "name": "N",
        "profilePic": "P",
    }


@pytest.mark.parametrize(
    ("options", "argument", "reason"),
    [
        ({}, "update", "give name or profile_pic"),
        ({"name": ""}, "name", "must be a non-empty string"),
        ({"profile_pic": " "}, "profile_pic", "must be a non-empty string"),
    ],
)
def test_a_bot_update_is_refused_by_name(options: Any, argument: str, reason: str) -> None:
    assert refused(lambda c: c.bots.update("B1", **options)) == (argument, reason)


def test_a_bot_is_deleted_by_its_escaped_id() -> None:
    (request,) = sent(lambda c: c.bots.delete("B/1"), {})
    assert (request.method, request.url.raw_path) == ("DELETE", b"/v1/bot/B%2F1")
    assert refused(lambda c: c.bots.delete(""))[0] == "bot_user_id"


def test_a_bots_token_is_fetched_and_kept_secret() -> None:
    answer = {"accessToken": "bot-secret-token", "accessTokenExpiry": WHEN_MS}
    run = lambda c: c.bots.access_token("B 1")  # noqa: E731
    (request,) = sent(run, answer)
    assert (request.method, request.url.raw_path) == ("GET", b"/v1/bot/accessToken/B%201")
    token = answer_of(run, answer)
    assert token.access_token.reveal() == "bot-secret-token"
    assert token.access_token_expiry == WHEN
    assert "bot-secret-token" not in repr(token)
    assert unexpected(run, {"x": 1}).what == "GET /bot/accessToken/B%201"
    assert refused(lambda c: c.bots.access_token(""))[0] == "bot_user_id"


def test_a_bot_is_added_to_a_group_by_its_id_in_the_body() -> None:
    (request,) = sent(lambda c: c.bots.add_to_group("G 1", "B1"), {})
    assert (request.method, request.url.raw_path) == ("POST", b"/v1/groups/G%201/bot")
    assert json.loads(request.content) == {"botUserId": "B1"}
    assert refused(lambda c: c.bots.add_to_group("G1", ""))[0] == "bot_user_id"
    assert refused(lambda c: c.bots.add_to_group("", "B1"))[0] == "group_id"


def test_a_bot_update_names_an_empty_bot_id() -> None:
    assert refused(lambda c: c.bots.update("", name="N"))[0] == "bot_user_id"
