"""Bad input fails with a ValidationError naming the argument, before any request is sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

import kaizala_async as k
from tests.conftest import make_client
from tests.fake_service import FakeKaizala

G, A, R, W = "group-1@1", "action-1", "ref-1", "hook-1"
URL = "https://receiver.example/kaizala"


async def _first(paginator: k.Paginator[Any]) -> Any:
    async for item in paginator:
        return item
    return None


BAD_CALLS: list[tuple[str, Callable[[k.KaizalaClient], Any], str]] = [
    ("empty group name", lambda c: c.groups.create("", "hi"), "name"),
    ("blank welcome", lambda c: c.groups.create("n", "  "), "welcome_message"),
    ("local number", lambda c: c.groups.create("n", "w", members=["9652000000"]), "members[0]"),
    ("one string", lambda c: c.groups.create("n", "w", members="+911111111111"), "members"),
    (
        "101 members",
        lambda c: c.groups.create("n", "w", members=[f"+91965200{i:04d}" for i in range(101)]),
        "members",
    ),
    ("group type", lambda c: c.groups.create("n", "w", group_type="Public"), "group_type"),
    ("empty id", lambda c: c.groups.get(""), "group_id"),
    ("None id", lambda c: c.groups.get(None), "group_id"),
    ("attach nothing", lambda c: c.subgroups.attach(G, []), "sub_group_ids"),
    ("detach empty", lambda c: c.subgroups.detach(G, " "), "sub_group_id"),
    ("no members", lambda c: c.members.add(G, []), "numbers"),
    ("spaced number", lambda c: c.members.add(G, ["+91 96520 00000"]), "numbers[0]"),
    ("member id", lambda c: c.members.remove(G, ""), "member_id"),
    ("page of 51", lambda c: _first(c.subscribers.list(G, page_size=51)), "page_size"),
    ("bad subscriber", lambda c: c.subscribers.add(G, ["+0123"]), "numbers[0]"),
    ("batch 0", lambda c: c.subscribers.remove(G, ["+911111111111"], batch_size=0), "batch_size"),
    ("empty text", lambda c: c.messages.send(G, ""), "text"),
    ("4001 characters", lambda c: c.messages.send(G, "x" * 4001), "text"),
    ("subscriber", lambda c: c.messages.send(G, "hi", subscribers=["x"]), "subscribers[0]"),
    (
        "string flag",
        lambda c: c.messages.send(G, "hi", send_to_all_subscribers="yes"),
        "send_to_all_subscribers",
    ),
    ("bytes without name", lambda c: c.media.upload(b"data"), "filename"),
    ("exe", lambda c: c.media.upload(b"data", filename="x.exe"), "filename"),
    ("empty bytes", lambda c: c.media.upload(b"", filename="x.png"), "source"),
    ("missing file", lambda c: c.media.upload("/nonexistent/x.png"), "source"),
    ("ftp url", lambda c: c.media.upload_url("ftp://x/y.png"), "url"),
    ("dict action", lambda c: c.actions.send(G, {"actionType": "Poll"}), "action"),
    ("unlistable", lambda c: _first(c.actions.list(G, "Announcement")), "action_type"),
    (
        "naive since",
        lambda c: _first(c.actions.list(G, "Job", since=datetime(2020, 1, 1))),
        "since",
    ),
    ("string response", lambda c: c.actions.respond(G, A, "done"), "response"),
    ("reaction kind", lambda c: _first(c.reactions.list(G, R, "Love")), "reaction_type"),
    ("empty comment", lambda c: c.reactions.comment(G, R, ""), "text"),
    ("reference", lambda c: c.reactions.like(G, ""), "reference_id"),
    ("object type", lambda c: c.webhooks.register(G, "Chat", ["MemberAdded"], URL), "object_type"),
    (
        "one event string",
        lambda c: c.webhooks.register(G, "Group", "MemberAdded", URL),
        "event_types",
    ),
    ("no events", lambda c: c.webhooks.register(G, "Group", [], URL), "event_types"),
    (
        "callback url",
        lambda c: c.webhooks.register(G, "Group", ["MemberAdded"], "receiver"),
        "callback_url",
    ),
    ("empty update", lambda c: c.webhooks.update(W), "update"),
    ("bot name", lambda c: c.bots.create(""), "name"),
    ("bot update", lambda c: c.bots.update("bot-1"), "update"),
    ("search text", lambda c: _first(c.tenant.find_groups("")), "query"),
    ("limit 0", lambda c: _first(c.tenant.find_groups("x", limit=0)), "limit"),
]


@pytest.mark.parametrize(
    ("call", "argument"), [b[1:] for b in BAD_CALLS], ids=[b[0] for b in BAD_CALLS]
)
async def test_bad_input_is_refused_before_any_request(
    fake: FakeKaizala, call: Callable[[k.KaizalaClient], Any], argument: str
) -> None:
    async with make_client(fake) as client:
        before = len(fake.calls)
        with pytest.raises(k.ValidationError) as caught:
            await call(client)
        assert len(fake.calls) == before  # nothing reached the transport
    assert caught.value.argument == argument
    assert str(caught.value).startswith(f"{argument}: ")


BAD_BODIES: list[tuple[str, Callable[[], Any], str]] = [
    ("one choice", lambda: k.PollAction(question="q", choices=["one"]), "choices"),
    ("no question", lambda: k.PollAction(question="", choices=["a", "b"]), "question"),
    ("no assignee", lambda: k.JobAction(title="t", assigned_to=[]), "assigned_to"),
    ("bad assignee", lambda: k.JobAction(title="t", assigned_to=["bob"]), "assigned_to[0]"),
    (
        "due 0",
        lambda: k.JobAction(title="t", assigned_to=["+911111111111"], due_in_hours=0),
        "due_in_hours",
    ),
    ("no questions", lambda: k.SurveyAction(title="t", questions=[]), "questions"),
    ("no options", lambda: k.SurveyQuestion(title="q", type="SingleOption"), "questions.options"),
    ("question type", lambda: k.SurveyQuestion(title="q", type="Essay"), "questions.type"),  # type: ignore[arg-type]
    (
        "naive start",
        lambda: k.LetsMeetAction(title="t", starting_time=datetime(2030, 1, 1)),
        "starting_time",
    ),
    ("announcement", lambda: k.AnnouncementAction(message=""), "message"),
    ("image", lambda: k.ImageAction(media_resource=""), "media_resource"),
    ("package", lambda: k.CustomAction(package_id=""), "package_id"),
    (
        "property type",
        lambda: k.ActionProperty(name="n", type="Blob", value="v"),
        "properties.type",
    ),
    ("job flag", lambda: k.JobResponseBody(is_completed="yes"), "is_completed"),  # type: ignore[arg-type]
    ("no answers", lambda: k.SurveyResponseBody(answers=[]), "answers"),
    ("None answer", lambda: k.SurveyResponseBody(answers=["a", None]), "answers[1]"),
]


@pytest.mark.parametrize(
    ("build", "argument"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
def test_action_bodies_check_themselves_when_built(build: Callable[[], Any], argument: str) -> None:
    with pytest.raises(k.ValidationError) as caught:
        build()
    assert caught.value.argument == argument


def test_an_empty_callback_token_is_refused() -> None:
    with pytest.raises(k.ValidationError) as caught:
        k.WebhookReceiver(callback_token="")
    assert caught.value.argument == "callback_token"
