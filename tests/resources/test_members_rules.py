"""``client.members`` and ``client.subscribers`` (``_resources.members``) on their own: what each
call sends, how batches and pages are cut, what is made of the answer, every refusal named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kaizala_async import Member, MembersAdded, Subscriber, SubscriberChanges
from kaizala_async._models.groups import SubscriberOutcome
from tests.resources.wire import Answers, answer_of, refused, sent, unexpected

NUMBERS = [f"+9112345{n:05d}" for n in range(70)]


# -- members -----------------------------------------------------------------------------------


def test_members_are_listed_from_one_request() -> None:
    answer = {"members": [{"id": "M1", "role": "Admin"}, {"id": "M2"}]}
    (request,) = sent(lambda c: c.members.list("G 1").collect(), answer)
    assert (request.method, request.url.raw_path) == ("GET", b"/v1/groups/G%201/members")
    found = answer_of(lambda c: c.members.list("G1").collect(), answer)
    assert found == [Member(id="M1", role="Admin"), Member(id="M2")]


def test_a_member_listing_of_another_shape_names_the_path() -> None:
    error = unexpected(lambda c: c.members.list("G1").collect(), {"members": [{"role": "x"}]})
    assert error.what == "GET /groups/G1/members"


def test_members_are_added_by_number_and_the_answer_says_whether_all_were() -> None:
    (request,) = sent(lambda c: c.members.add("G1", NUMBERS[:2]), {"result": True})
    assert (request.method, request.url.path) == ("PUT", "/v1/groups/G1/members")
    assert json.loads(request.content) == {"members": NUMBERS[:2]}
    added = answer_of(lambda c: c.members.add("G1", NUMBERS[:1]), {"result": False})
    assert added == MembersAdded(result=False)
    assert added.all_added is False
    assert MembersAdded(result=True).all_added is True


def test_an_addition_answer_of_another_shape_names_the_path() -> None:
    error = unexpected(lambda c: c.members.add("G1", NUMBERS[:1]), {"ok": 1})
    assert error.what == "PUT /groups/G1/members"


@pytest.mark.parametrize(
    ("numbers", "argument", "reason"),
    [
        ([], "numbers", "must hold at least one phone number"),
        (NUMBERS[0], "numbers", "must be a list of phone numbers, not one string"),
    ],
)
def test_an_addition_is_refused_by_name(numbers: Any, argument: str, reason: str) -> None:
    assert refused(lambda c: c.members.add("G1", numbers)) == (argument, reason)


def test_a_bad_number_is_named_by_its_place() -> None:
    assert refused(lambda c: c.members.add("G1", [NUMBERS[0], "12"]))[0] == "numbers[1]"
    assert refused(lambda c: c.members.add("", NUMBERS[:1]))[0] == "group_id"


def test_a_member_is_removed_by_both_ids_escaped() -> None:
    (request,) = sent(lambda c: c.members.remove("G/1", "M 1"), {})
    assert (request.method, request.url.raw_path) == ("DELETE", b"/v1/groups/G%2F1/members/M%201")
    assert answer_of(lambda c: c.members.remove("G1", "M1"), {}) is None
    assert refused(lambda c: c.members.remove("G1", ".."))[0] == "member_id"
    assert refused(lambda c: c.members.remove("", "M1"))[0] == "group_id"


# -- subscribers: listing ----------------------------------------------------------------------


def subscribers(count: int, cursor: Any = None) -> dict[str, Any]:
    page: dict[str, Any] = {"subscribers": [{"id": f"S{n}"} for n in range(count)]}
    if cursor is not None:
        page["cursor"] = cursor
    return page


def test_subscribers_are_asked_for_fifty_a_page_by_post() -> None:
    (request,) = sent(lambda c: c.subscribers.list("G1").collect(), subscribers(2))
    assert (request.method, request.url.path) == ("POST", "/v1/groups/G1/subscribers")
    assert json.loads(request.content) == {"count": 50}


def test_a_cursor_carries_the_listing_on_and_its_absence_ends_it() -> None:
    answers = Answers([subscribers(2, cursor="c1"), subscribers(2, cursor="c2"), subscribers(1)])
    run = lambda c: c.subscribers.list("G1", page_size=2, limit=5).collect()  # noqa: E731
    bodies = [json.loads(r.content) for r in sent(run, answers)]
    assert bodies == [{"count": 2}, {"count": 2, "cursor": "c1"}, {"count": 1, "cursor": "c2"}]
    assert answer_of(run, answers)[:2] == [Subscriber(id="S0"), Subscriber(id="S1")]


def test_a_cursor_already_sent_is_an_error_not_a_loop() -> None:
    # A server answering every page with the same cursor used to be asked again for ever.
    pages = [subscribers(2, cursor="c1"), subscribers(2, cursor="c2"), subscribers(2, cursor="c1")]
    error = unexpected(lambda c: c.subscribers.list("G1").collect(), Answers(pages))
    assert error.what == "POST /groups/G1/subscribers"
    assert error.problems == ["the cursor went back to a page already read"]


@pytest.mark.parametrize("cursor", [None, "", 7])
def test_no_usable_cursor_ends_the_listing(cursor: Any) -> None:
    assert len(sent(lambda c: c.subscribers.list("G1").collect(), subscribers(3, cursor))) == 1


@pytest.mark.parametrize(
    ("options", "argument", "reason"),
    [
        ({"page_size": 51}, "page_size", "must be at most 50, not 51"),
        ({"page_size": 0}, "page_size", "must be a whole number of at least 1"),
        ({"limit": 0}, "limit", "must be a whole number of at least 1"),
    ],
)
def test_a_subscriber_listing_is_refused_by_name(options: Any, argument: str, reason: str) -> None:
    assert refused(lambda c: c.subscribers.list("G1", **options).collect()) == (argument, reason)


def test_a_subscriber_page_of_another_shape_names_the_call() -> None:
    error = unexpected(lambda c: c.subscribers.list("G1").collect(), {"subscribers": "x"})
    assert error.what == "POST /groups/G1/subscribers"


# -- subscribers: changes ----------------------------------------------------------------------


def test_numbers_go_thirty_a_request_by_default_and_each_result_is_kept() -> None:
    answer = {"result": {n: {"isAdded": True} for n in NUMBERS}}
    requests = sent(lambda c: c.subscribers.add("G1", NUMBERS), answer)
    assert [r.url.path for r in requests] == ["/v1/groups/G1/subscribers/add"] * 3
    assert [r.method for r in requests] == ["PUT"] * 3
    batches = [json.loads(r.content)["subscribers"] for r in requests]
    assert batches == [NUMBERS[:30], NUMBERS[30:60], NUMBERS[60:]]
    changes = answer_of(lambda c: c.subscribers.add("G1", NUMBERS), answer)
    assert list(changes.results) == NUMBERS
    assert changes.all_succeeded


def test_a_removal_goes_to_its_own_path_in_batches_of_the_given_size() -> None:
    requests = sent(lambda c: c.subscribers.remove("G1", NUMBERS[:5], batch_size=2), {"result": {}})
    assert [len(json.loads(r.content)["subscribers"]) for r in requests] == [2, 2, 1]
    assert {r.url.path for r in requests} == {"/v1/groups/G1/subscribers/remove"}


def test_a_number_the_answer_does_not_mention_is_reported_failed() -> None:
    answer = {"result": {NUMBERS[0]: {"isRemoved": True}}}
    changes = answer_of(lambda c: c.subscribers.remove("G1", NUMBERS[:2]), answer)
    assert changes == SubscriberChanges(
        results={
            NUMBERS[0]: SubscriberOutcome(is_removed=True),
            NUMBERS[1]: SubscriberOutcome(error_reason="not in the service's answer"),
        }
    )
    assert list(changes.failed) == [NUMBERS[1]]


@pytest.mark.parametrize("answer", [{}, {"result": [1]}, {"result": "done"}, None])
def test_an_answer_without_a_result_object_fails_every_number(answer: Any) -> None:
    changes = answer_of(lambda c: c.subscribers.add("G1", NUMBERS[:2]), answer)
    assert set(changes.failed) == set(NUMBERS[:2])


def test_a_result_of_another_shape_names_the_path() -> None:
    error = unexpected(lambda c: c.subscribers.add("G1", NUMBERS[:1]), {"result": {NUMBERS[0]: 3}})
    assert error.what == "PUT /groups/G1/subscribers/add"


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.subscribers.add("G1", []), "numbers"),
        (lambda c: c.subscribers.remove("G1", NUMBERS[0]), "numbers"),
        (lambda c: c.subscribers.add("G1", NUMBERS[:1], batch_size=0), "batch_size"),
        (lambda c: c.subscribers.remove("", NUMBERS[:1]), "group_id"),
    ],
)
def test_a_change_is_refused_by_name(call: Any, argument: str) -> None:
    assert refused(call)[0] == argument


@pytest.mark.parametrize(
    "call",
    [lambda c: c.members.list("").collect(), lambda c: c.subscribers.list("").collect()],
)
def test_a_listing_names_an_empty_group_id(call: Any) -> None:
    assert refused(call)[0] == "group_id"
