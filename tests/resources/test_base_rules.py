"""What every resource namespace shares (``_resources._base``), on its own: the call it
describes from the client's options, how an answer's body is read, and how it is decoded."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import attrs
import httpx
import pytest

from kaizala_async import UnexpectedResponseError
from kaizala_async._call import Call
from kaizala_async._options import CallOptions
from kaizala_async._resources._base import Resource, field, query_bool


@attrs.frozen
class Item:
    item_id: str
    count: int = 0


class Pipeline:
    """The transport as a resource sees it: records each call, answers ``answer``."""

    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.calls: list[Call] = []

    async def send(self, call: Call) -> httpx.Response:
        self.calls.append(call)
        return self.answer


class Client:
    """The client as a resource sees it."""

    def __init__(self, answer: httpx.Response, options: CallOptions | None = None) -> None:
        self.pipeline = Pipeline(answer)
        self._call_options = options or CallOptions()
        self._bot_tokens: object = None

    def _require(self) -> Pipeline:
        return self.pipeline


def send(
    answer: httpx.Response, options: CallOptions | None = None, **kwargs: Any
) -> tuple[Any, Call]:
    client = Client(answer, options)
    resource = Resource(client)  # type: ignore[arg-type]
    found = asyncio.run(resource._send("POST", "/groups/g/x", **kwargs))
    return found, client.pipeline.calls[0]


def test_query_booleans_are_lower_case_words() -> None:
    assert (query_bool(True), query_bool(False)) == ("true", "false")


def test_a_namespace_shows_its_kind_only() -> None:
    assert repr(Resource(Client(httpx.Response(200)))) == "<Resource>"  # type: ignore[arg-type]


# -- the call described ------------------------------------------------------------------------


def test_the_call_carries_what_was_given_and_the_clients_options() -> None:
    options = CallOptions(timeout=7.0, max_retries=2, max_wait=3.0)
    _, call = send(
        httpx.Response(200, json={}), options, json={"a": 1}, params={"p": "1"},
        headers={"applicationId": "app"},
    )  # fmt: skip
    assert (call.method, call.path, call.json, call.params, call.headers) == (
        "POST", "/groups/g/x", {"a": 1}, {"p": "1"}, {"applicationId": "app"},
    )  # fmt: skip
    assert (call.timeout, call.max_retries, call.max_wait) == (7.0, 2, 3.0)
    assert call.files is None and call.tokens is None and call.authenticated


def test_a_bot_views_calls_carry_its_tokens() -> None:
    client = Client(httpx.Response(200, json={}))
    client._bot_tokens = marker = object()
    asyncio.run(Resource(client)._send("GET", "/x"))  # type: ignore[arg-type]
    assert client.pipeline.calls[0].tokens is marker


# -- the answer's body -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        (httpx.Response(200, json={"a": [1, 2]}), {"a": [1, 2]}),
        (httpx.Response(200, json=[]), []),
        (httpx.Response(204), None),  # nothing
        (httpx.Response(200, text="OK"), None),  # not JSON
        (httpx.Response(200, json=0), 0),
    ],
)
def test_the_body_is_json_or_none(answer: httpx.Response, found: object) -> None:
    assert send(answer)[0] == found


def test_a_body_nested_too_deep_is_a_typed_error() -> None:
    deep = b"[" * (sys.getrecursionlimit() * 20) + b"]" * (sys.getrecursionlimit() * 20)
    with pytest.raises(UnexpectedResponseError) as info:
        send(httpx.Response(200, content=deep))
    assert (info.value.what, info.value.problems) == ("/groups/g/x", ["nested too deep"])


# -- decoding ----------------------------------------------------------------------------------


def test_a_body_of_the_documented_shape_is_decoded() -> None:
    assert Resource._decode({"itemId": "i1", "count": 3}, Item, "GET /x") == Item("i1", 3)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([1, 2], "TypeError"),  # not an object
        ("text", "TypeError"),
    ],
)
def test_a_body_of_another_shape_names_the_call_and_the_problem(data: object, problem: str) -> None:
    with pytest.raises(UnexpectedResponseError) as info:
        Resource._decode(data, Item, "GET /x")
    assert (info.value.what, info.value.problems) == ("GET /x", [problem])


def test_a_missing_field_is_named() -> None:
    with pytest.raises(UnexpectedResponseError) as info:
        Resource._decode({"count": 1}, Item, "GET /x")
    assert info.value.what == "GET /x"
    assert any("itemId" in p or "item_id" in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("data", "found"),
    [
        ({"items": [{"itemId": "a"}, {"itemId": "b"}]}, [Item("a"), Item("b")]),
        ({"ITEMS": [{"itemId": "a"}]}, [Item("a")]),  # the key in any case
        ({"other": 1}, []),  # absent: none
        ({"items": None}, []),
    ],
)
def test_a_list_under_its_key_is_decoded(data: object, found: list[Item]) -> None:
    assert Resource._decode_list(data, "items", Item, "GET /x") == found


@pytest.mark.parametrize(
    ("data", "problem"),
    [([], "expected an object with 'items'"), ({"items": {"a": 1}}, "'items' is not a list")],
)
def test_a_list_of_another_shape_is_a_typed_error(data: object, problem: str) -> None:
    with pytest.raises(UnexpectedResponseError) as info:
        Resource._decode_list(data, "items", Item, "GET /x")
    assert (info.value.what, info.value.problems) == ("GET /x", [problem])


def test_a_field_is_found_whatever_its_case_first_spelling_winning() -> None:
    assert field({"Key": 1, "key": 2}, "KEY") == 1
    assert field({1: "one"}, "1") == "one"  # keys that are not strings are compared as text
    assert field({"a": 1}, "b") is None
    assert field(["key"], "key") is None
