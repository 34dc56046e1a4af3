"""``client.reactions`` (``_resources.reactions``) on its own: what liking, commenting, counting
and listing send, how the cursor pages end, and every refusal, named, before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kaizala_async import ReactionCreated, ReactionSummary
from kaizala_async._models.content import ReactionCounts
from kaizala_async._resources.reactions import _cursor_of
from tests.resources.wire import Answers, answer_of, refused, sent, unexpected

CREATED = {"reactionId": "X1"}


# -- like and comment --------------------------------------------------------------------------


def test_a_like_names_the_item_and_its_group_as_source_by_default() -> None:
    (request,) = sent(lambda c: c.reactions.like("G 1", "R1"), CREATED)
    assert (request.method, request.url.raw_path) == ("POST", b"/v1/groups/G%201/reaction")
    assert json.loads(request.content) == {
        "referenceId": "R1",
        "sourceGroupId": "G 1",
        "reactionType": "Like",
    }
    assert answer_of(lambda c: c.reactions.like("G1", "R1"), CREATED) == ReactionCreated(
        reaction_id="X1"
    )


def test_a_comment_carries_its_text_and_a_given_source_group() -> None:
    (request,) = sent(
        lambda c: c.reactions.comment("G1", "R1", "nice", source_group_id="P1"), CREATED
    )
    assert json.loads(request.content) == {
        "referenceId": "R1",
        "sourceGroupId": "P1",
        "reactionType": "Comment",
        "comment": "nice",
    }


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.reactions.like("G1", ""), "reference_id"),
        (lambda c: c.reactions.like("G1", "R1", source_group_id=".."), "source_group_id"),
        (lambda c: c.reactions.like("", "R1"), "group_id"),
        (lambda c: c.reactions.comment("G1", "R1", " "), "text"),
    ],
)
def test_a_reaction_is_refused_by_name(call: Any, argument: str) -> None:
    assert refused(call)[0] == argument


def test_a_reaction_answer_of_another_shape_names_the_path() -> None:
    assert (
        unexpected(lambda c: c.reactions.like("G1", "R1"), {"x": 1}).what
        == "POST /groups/G1/reaction"
    )


# -- summary -----------------------------------------------------------------------------------


def test_one_items_counts_are_read_with_its_source_group() -> None:
    answer = {"summary": [{"referenceId": "R1", "reactionsCountMap": {"like": 2, "comment": 1}}]}
    run = lambda c: c.reactions.summary("G1", "R 1")  # noqa: E731
    (request,) = sent(run, answer)
    assert (request.method, request.url.raw_path) == (
        "GET",
        b"/v1/groups/G1/reaction/R%201/summary?sourceGroupId=G1",
    )
    assert answer_of(run, answer) == ReactionSummary(
        reference_id="R1", reactions_count_map=ReactionCounts(like=2, comment=1)
    )
    (request,) = sent(lambda c: c.reactions.summary("G1", "R1", source_group_id="P"), answer)
    assert dict(request.url.params) == {"sourceGroupId": "P"}


def test_an_item_nobody_reacted_to_has_zero_counts() -> None:
    found = answer_of(lambda c: c.reactions.summary("G1", "R1"), {"summary": []})
    assert found == ReactionSummary(reference_id="R1")
    assert found.reactions_count_map == ReactionCounts(like=0, comment=0)


def test_a_summary_is_refused_or_its_answer_named() -> None:
    assert refused(lambda c: c.reactions.summary("G1", ""))[0] == "reference_id"
    assert (
        refused(lambda c: c.reactions.summary("G1", "R1", source_group_id=""))[0]
        == "source_group_id"
    )
    assert (
        unexpected(lambda c: c.reactions.summary("G1", "R1"), []).what
        == "GET /groups/G1/reaction/R1/summary"
    )


# -- cursor paging (summaries and list) --------------------------------------------------------


def summaries(cursor: Any, *refs: str) -> dict[str, Any]:
    return {"cursor": cursor, "summary": [{"referenceId": r} for r in refs]}


def paged(answers: Answers, **options: Any) -> tuple[list[dict[str, str]], list[str]]:
    run = lambda c: c.reactions.summaries("G1", **options).collect()  # noqa: E731
    queries = [dict(r.url.params) for r in sent(run, answers)]
    return queries, [s.reference_id for s in answer_of(run, answers)]


def test_the_cursor_starts_at_zero_and_follows_the_answers() -> None:
    queries, refs = paged(Answers([summaries(5, "a"), summaries("9", "b"), summaries(9, "c")]))
    assert queries == [{"sourceGroupId": "G1", "cursor": c} for c in ("0", "5", "9")]
    assert refs == ["a", "b", "c"]  # the cursor stopped moving: the end


def test_an_empty_page_ends_the_listing() -> None:
    queries, refs = paged(Answers([summaries(5, "a"), summaries(7)]))
    assert (len(queries), refs) == (2, ["a"])


@pytest.mark.parametrize("cursor", [None, True, "x", " ", "-3", 1.5])
def test_no_usable_cursor_ends_the_listing(cursor: Any) -> None:
    assert len(paged(Answers([summaries(cursor, "a")]))[0]) == 1


def test_a_cursor_that_goes_back_is_an_error_not_a_loop() -> None:
    # 5, 9, 5, 9, ... for ever: each page was asked for again, without end.
    answers = Answers([summaries(5, "a"), summaries(9, "b"), summaries(5, "c")])
    error = unexpected(lambda c: c.reactions.summaries("G1").collect(), answers)
    assert error.what == "GET /groups/G1/reaction/summary"
    assert error.problems == ["the cursor went back to a page already read"]


def test_a_limit_stops_the_paging() -> None:
    queries, refs = paged(Answers([summaries(5, "a", "b"), summaries(9, "c")]), limit=1)
    assert (len(queries), refs) == (1, ["a"])
    assert refused(lambda c: c.reactions.summaries("G1", limit=0).collect())[0] == "limit"


def test_summaries_take_a_source_group() -> None:
    queries, _ = paged(Answers([summaries(None, "a")]), source_group_id="P")
    assert queries[0]["sourceGroupId"] == "P"
    assert refused(lambda c: c.reactions.summaries("").collect())[0] == "group_id"


def test_cursor_values_are_read_as_whole_numbers_only() -> None:
    assert [_cursor_of({"cursor": v}) for v in (7, " 12 ", "636674054802000000")] == [
        7,
        12,
        636674054802000000,
    ]
    assert [_cursor_of(v) for v in ({"cursor": False}, {"cursor": "1e3"}, {}, [])] == [None] * 4


def test_the_reactions_on_an_item_are_listed_by_type() -> None:
    answer = {"cursor": 3, "reactionDetails": [{"reactionId": "X1", "comment": "hi"}]}
    answers = Answers([answer, {"reactionDetails": []}])
    run = lambda c: c.reactions.list("G1", "R 1", "Comment").collect()  # noqa: E731
    requests = sent(run, answers)
    assert (
        requests[0].url.raw_path
        == b"/v1/groups/G1/reaction/R%201?sourceGroupId=G1&reactionType=Comment&cursor=0"
    )
    assert dict(requests[1].url.params)["cursor"] == "3"
    assert [(r.reaction_id, r.comment) for r in answer_of(run, answers)] == [("X1", "hi")]
    assert unexpected(run, {"reactionDetails": [{}]}).what == "GET /groups/G1/reaction/R%201"


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.reactions.list("G1", "R1", "like"), "reaction_type"),
        (lambda c: c.reactions.list("G1", "", "Like"), "reference_id"),
        (lambda c: c.reactions.list("G1", "R1", "Like", source_group_id=""), "source_group_id"),
        (lambda c: c.reactions.list("G1", "R1", "Like", limit=-1), "limit"),
    ],
)
def test_a_reaction_listing_is_refused_by_name(call: Any, argument: str) -> None:
    assert refused(lambda c: call(c).collect())[0] == argument


def test_the_refused_type_is_shown() -> None:
    reason = refused(lambda c: c.reactions.list("G1", "R1", "Love").collect())[1]
    assert reason == "must be 'Like' or 'Comment', not 'Love'"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.reactions.summary("", "R1"),
        lambda c: c.reactions.list("", "R1", "Like").collect(),
    ],
)
def test_a_read_names_an_empty_group_id(call: Any) -> None:
    assert refused(call)[0] == "group_id"
