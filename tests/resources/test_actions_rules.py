"""``client.actions`` (``_resources.actions``) on its own: what sending, listing, reading and
responding put on the wire, how a listing pages by time without losing or repeating an action,
and every refusal, named, before anything is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from kaizala_async import (
    ActionProperty,
    CustomAction,
    ImageAction,
    JobResponseBody,
    SentAction,
    SurveyResponseBody,
)
from kaizala_async._models.content import ActionDetails, ActionSummaryBody, ResponseCreated
from kaizala_async._resources.actions import LISTABLE_ACTION_TYPES
from tests.resources.wire import Answers, answer_of, refused, sent, unexpected

NUMBER = "+911234567890"
IMAGE = ImageAction(media_resource="https://media.kaiza.la/i", caption="look")
SENT = {"referenceId": "R1", "actionId": "A1"}


def body(run: Any, answer: Any = SENT) -> Any:
    (request,) = sent(run, answer)
    return json.loads(request.content)


# -- send --------------------------------------------------------------------------------------


def test_an_action_goes_with_its_type_and_body_only_by_default() -> None:
    (request,) = sent(lambda c: c.actions.send("G 1", IMAGE), SENT)
    assert (request.method, request.url.raw_path) == ("POST", b"/v1/groups/G%201/actions")
    assert json.loads(request.content) == {
        "actionType": "Image",
        "actionBody": {"mediaResource": "https://media.kaiza.la/i", "caption": "look"},
    }


def test_a_custom_action_goes_by_its_package_id_without_a_type() -> None:
    action = CustomAction(
        package_id="pkg.1", properties=[ActionProperty(name="n", type="Text", value="v")]
    )
    assert body(lambda c: c.actions.send("G1", action)) == {
        "id": "pkg.1",
        "actionBody": {"properties": [{"name": "n", "type": "Text", "value": "v"}]},
    }


def test_subscribers_and_everyone_go_under_their_wire_names_only_when_asked() -> None:
    sent_body = body(
        lambda c: c.actions.send("G1", IMAGE, subscribers=[NUMBER], send_to_all_subscribers=True)
    )
    assert (sent_body["subscribers"], sent_body["sendToAllSubscribers"]) == ([NUMBER], True)
    plain = body(lambda c: c.actions.send("G1", IMAGE, send_to_all_subscribers=False))
    assert "sendToAllSubscribers" not in plain and "subscribers" not in plain


def test_the_sent_action_is_returned_or_its_path_named() -> None:
    assert answer_of(lambda c: c.actions.send("G1", IMAGE), SENT) == SentAction(
        reference_id="R1", action_id="A1"
    )
    assert (
        unexpected(lambda c: c.actions.send("G1", IMAGE), {"x": 1}).what
        == "POST /groups/G1/actions"
    )


@pytest.mark.parametrize(
    ("call", "argument", "reason"),
    [
        (lambda c: c.actions.send("G1", {"actionType": "Poll"}), "action", "must be an action body such as PollAction, not dict"),
        (lambda c: c.actions.send("G1", IMAGE, subscribers=[]), "subscribers", "must hold at least one phone number"),
        (lambda c: c.actions.send("G1", IMAGE, send_to_all_subscribers=1), "send_to_all_subscribers", "must be True or False, not int"),
        (lambda c: c.actions.send("", IMAGE), "group_id", "must be a non-empty id string, not ''"),
    ],
)  # fmt: skip
def test_a_send_is_refused_by_name(call: Any, argument: str, reason: str) -> None:
    assert refused(call) == (argument, reason)


# -- list --------------------------------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def item(ref: str, seconds: int, key: str = "sentAt") -> dict[str, Any]:
    return {"referenceId": ref, key: ms(T0 + timedelta(seconds=seconds))}


def page(*items: dict[str, Any], more: Any = True) -> dict[str, Any]:
    return {"actions": list(items), "hasMore": more}


def listed(answers: Answers, **options: Any) -> tuple[list[dict[str, str]], list[str]]:
    """The query of each request and the reference ids listed, in order."""
    run = lambda c: c.actions.list("G1", "Poll", **options).collect()  # noqa: E731
    queries = [dict(r.url.params) for r in sent(run, answers)]
    return queries, [a.reference_id for a in answer_of(run, answers)]


def test_the_first_page_asks_for_the_type_and_thirty_from_the_start() -> None:
    queries, refs = listed(Answers([page(item("a", 1), more=False)]))
    assert queries == [{"actionType": "Poll", "count": "30"}]
    assert refs == ["a"]


def test_since_is_sent_as_epoch_milliseconds() -> None:
    since = datetime(2026, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    queries, _ = listed(Answers([page(more=False)]), since=since)
    assert queries[0]["fromDate"] == str(ms(T0))


def test_the_next_page_starts_at_the_last_items_time_and_skips_what_was_seen_there() -> None:
    answers = Answers(
        [
            page(item("a", 1), item("b", 2), item("c", 2)),
            page(item("b", 2), item("c", 2), item("d", 3), more="true"),
            page(item("d", 3), item("e", 4), more=False),
        ]
    )
    queries, refs = listed(answers, page_size=3)
    assert [q.get("fromDate") for q in queries] == [None, str(ms(T0) + 2000), str(ms(T0) + 3000)]
    assert [q["count"] for q in queries] == ["3", "3", "3"]
    assert refs == ["a", "b", "c", "d", "e"]  # nothing lost, nothing twice


def test_creation_time_serves_when_sent_at_is_missing() -> None:
    answers = Answers([page(item("a", 1, "creationTime")), page(item("b", 2), more="True")])
    queries, refs = listed(Answers([*answers, page(more=False)]), page_size=1)
    assert len(queries) == 3  # "True" as a string asks again too
    assert queries[1]["fromDate"] == str(ms(T0) + 1000)
    assert refs == ["a", "b"]


def test_a_page_of_only_seen_items_widens_the_next_one_and_keeps_what_was_seen() -> None:
    same = [item(r, 5) for r in "abc"]
    answers = Answers([page(*same[:2]), page(*same[:2]), page(*same, item("d", 6), more=False)])
    queries, refs = listed(answers, page_size=2)
    assert [q["count"] for q in queries] == ["2", "2", "4"]
    assert [q.get("fromDate") for q in queries] == [None, str(ms(T0) + 5000), str(ms(T0) + 5000)]
    assert refs == ["a", "b", "c", "d"]


def test_a_server_that_repeats_a_short_page_with_more_is_an_error_not_a_loop() -> None:
    # The same page for ever, "more" each time: the listing used to widen its page without end
    # (until the count no longer fitted in a query string) instead of noticing no progress.
    error = unexpected(lambda c: c.actions.list("G1", "Poll").collect(), page(item("a", 1)))
    assert error.what == "GET /groups/G1/actions"
    assert error.problems == ["hasMore is true but the page holds no action not yet listed"]


def test_a_full_page_of_seen_items_is_not_an_error() -> None:
    same = [item(r, 5) for r in "ab"]
    queries, refs = listed(
        Answers([page(*same), page(*same), page(*same, item("c", 6), more=False)]), page_size=2
    )
    assert ([q["count"] for q in queries], refs) == (["2", "2", "4"], ["a", "b", "c"])


def test_seen_items_of_an_older_instant_are_forgotten_once_time_moves_on() -> None:
    answers = Answers(
        [page(item("a", 1)), page(item("b", 2)), page(item("a", 1), item("c", 3), more=False)]
    )
    _, refs = listed(answers, page_size=1)
    assert refs == ["a", "b", "a", "c"]  # "a" at 1 s is not among those seen at 2 s


@pytest.mark.parametrize("more", [False, "false", None, 1])
def test_only_a_true_has_more_asks_again(more: Any) -> None:
    queries, _ = listed(Answers([page(item("a", 1), more=more)]))
    assert len(queries) == 1


def test_an_empty_page_ends_the_listing_even_with_more() -> None:
    queries, refs = listed(Answers([page(more=True)]))
    assert (len(queries), refs) == (1, [])


def test_a_limit_stops_the_listing() -> None:
    queries, refs = listed(
        Answers([page(item("a", 1), item("b", 2)), page(item("c", 3))]), limit=2, page_size=2
    )
    assert (len(queries), refs) == (1, ["a", "b"])


def test_items_without_a_time_cannot_be_paged() -> None:
    from kaizala_async import ValidationError

    async def run(client: Any) -> ValidationError:
        with pytest.raises(ValidationError) as info:
            await client.actions.list("G1", "Poll").collect()
        return info.value

    error = answer_of(run, page({"referenceId": "a"}))
    assert (error.argument, error.reason) == (
        "page_size",
        "the service's actions carry no time to page by",
    )


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.actions.list("G1", "Announcement"), "action_type"),
        (lambda c: c.actions.list("G1", "Poll", page_size=0), "page_size"),
        (lambda c: c.actions.list("G1", "Poll", limit=0), "limit"),
        (lambda c: c.actions.list("G1", "Poll", since=datetime(2026, 1, 1)), "since"),
        (lambda c: c.actions.list("", "Poll"), "group_id"),
    ],
)
def test_a_listing_is_refused_by_name(call: Any, argument: str) -> None:
    assert refused(lambda c: call(c).collect())[0] == argument


def test_the_listable_types_are_named_in_the_refusal() -> None:
    reason = refused(lambda c: c.actions.list("G1", "Quiz").collect())[1]
    assert reason == f"must be one of {sorted(LISTABLE_ACTION_TYPES)}, not 'Quiz'"
    assert len(LISTABLE_ACTION_TYPES) == 8 and "Document" in LISTABLE_ACTION_TYPES


def test_a_listing_answer_of_another_shape_names_the_path() -> None:
    error = unexpected(lambda c: c.actions.list("G1", "Poll").collect(), {"actions": [{"x": 1}]})
    assert error.what == "GET /groups/G1/actions"


# -- get ---------------------------------------------------------------------------------------


def test_one_action_is_read_without_its_responses_by_default() -> None:
    (request,) = sent(lambda c: c.actions.get("G1", "A 1"), {"actionType": "Poll"})
    assert (request.method, request.url.raw_path) == (
        "GET",
        b"/v1/groups/G1/actions/A%201?getDetails=false",
    )
    (request,) = sent(lambda c: c.actions.get("G1", "A1", with_responses=True), {})
    assert dict(request.url.params) == {"getDetails": "true"}


def test_the_documented_answer_is_read_as_it_is() -> None:
    answer = {"actionType": "Poll", "sender": "S", "actionDetails": {"title": "T"}}
    found = answer_of(lambda c: c.actions.get("G1", "A1"), answer)
    assert found == ActionDetails(
        action_type="Poll", sender="S", action_details=ActionSummaryBody(title="T")
    )


def test_the_samples_list_shape_is_read_from_its_first_action() -> None:
    first = {
        "actionType": "Job",
        "sender": "S",
        "creationTime": ms(T0),
        "actionBody": {"title": "T"},
    }
    answer = {"actions": [first, {"actionType": "Poll"}]}
    found = answer_of(lambda c: c.actions.get("G1", "A1"), answer)
    assert found == ActionDetails(
        action_type="Job", sender="S", sent_at=T0, action_details=ActionSummaryBody(title="T")
    )
    first = {"actionType": "Job", "sentAt": ms(T0) + 1000, "creationTime": ms(T0)}
    found = answer_of(lambda c: c.actions.get("G1", "A1"), {"actions": [first]})
    assert (found.sent_at, found.action_details) == (T0 + timedelta(seconds=1), ActionSummaryBody())


def test_an_empty_actions_list_is_not_taken_for_the_list_shape() -> None:
    found = answer_of(lambda c: c.actions.get("G1", "A1"), {"actions": [], "actionType": "Poll"})
    assert found.action_type == "Poll"


def test_a_read_is_refused_by_name_or_its_path_named() -> None:
    assert refused(lambda c: c.actions.get("G1", ""))[0] == "action_id"
    assert refused(lambda c: c.actions.get("G1", "A1", with_responses="yes"))[0] == "with_responses"
    assert (
        unexpected(lambda c: c.actions.get("G1", "A1"), {"sentAt": "never"}).what
        == "GET /groups/G1/actions/A1"
    )


# -- respond -----------------------------------------------------------------------------------


def test_a_response_goes_with_its_type_and_body() -> None:
    (request,) = sent(
        lambda c: c.actions.respond("G1", "A1", JobResponseBody(is_completed=True)),
        {"responseId": "X"},
    )
    assert (request.method, request.url.path) == ("POST", "/v1/groups/G1/actions/A1/responses")
    assert json.loads(request.content) == {"actionBody": {"isCompleted": True}, "actionType": "Job"}


def test_a_custom_response_goes_by_package_id_and_an_update_by_response_id() -> None:
    survey = SurveyResponseBody(answers=["yes"])
    sent_body = body(
        lambda c: c.actions.respond("G1", "A1", survey, package_id="pkg", response_id="X"),
        {"responseId": "X"},
    )
    assert sent_body["id"] == "pkg" and "actionType" not in sent_body
    assert sent_body["responseId"] == "X"


def test_the_created_response_is_returned_or_its_path_named() -> None:
    job = JobResponseBody(is_completed=False)
    assert answer_of(
        lambda c: c.actions.respond("G1", "A1", job), {"responseId": "X"}
    ) == ResponseCreated(response_id="X")
    error = unexpected(lambda c: c.actions.respond("G1", "A1", job), {})
    assert error.what == "POST /groups/G1/actions/A1/responses"


@pytest.mark.parametrize(
    ("call", "argument", "reason"),
    [
        (lambda c: c.actions.respond("G1", "A1", {"isCompleted": True}), "response", "must be a JobResponseBody or SurveyResponseBody"),
        (lambda c: c.actions.respond("G1", "A1", JobResponseBody(is_completed=True), package_id=""), "package_id", "must be a non-empty id string, not ''"),
        (lambda c: c.actions.respond("G1", "A1", JobResponseBody(is_completed=True), response_id=".."), "response_id", "'..' is not an id (it is a relative path step)"),
        (lambda c: c.actions.respond("G1", "", JobResponseBody(is_completed=True)), "action_id", "must be a non-empty id string, not ''"),
    ],
)  # fmt: skip
def test_a_response_is_refused_by_name(call: Any, argument: str, reason: str) -> None:
    assert refused(call) == (argument, reason)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.actions.get("", "A1"),
        lambda c: c.actions.respond("", "A1", JobResponseBody(is_completed=True)),
        lambda c: c.actions.list("", "Poll").collect(),
        lambda c: c.actions.send("", IMAGE),
    ],
)
def test_every_call_names_an_empty_group_id(call: Any) -> None:
    assert refused(call)[0] == "group_id"
