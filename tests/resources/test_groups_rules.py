"""``client.users``, ``client.groups``, ``client.subgroups`` and ``client.tenant``
(``_resources.groups``) on their own: what each call sends, what it makes of the answer, and
every refusal, named, before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kaizala_async import CreatedGroup, Group, User
from tests.resources.wire import answer_of, refused, sent, unexpected

NUMBER = "+911234567890"
GROUP = {"groupId": "G1", "groupName": "Stores"}


def body(run: Any) -> Any:
    (request,) = sent(run, {"groupId": "N1", "groupName": "n"})
    return json.loads(request.content)


# -- users.me ----------------------------------------------------------------------------------


def test_me_reads_the_tokens_user() -> None:
    (request,) = sent(lambda c: c.users.me(), {"id": "U1"})
    assert (request.method, request.url.path) == ("GET", "/v1/users/me")
    assert answer_of(lambda c: c.users.me(), {"id": "U1", "name": "Asha"}) == User(
        id="U1", name="Asha"
    )


def test_me_names_itself_when_the_answer_has_no_id() -> None:
    assert unexpected(lambda c: c.users.me(), {"name": "x"}).what == "GET /users/me"


# -- groups.create -----------------------------------------------------------------------------


def test_a_group_is_created_with_its_name_welcome_and_type_only_by_default() -> None:
    (request,) = sent(lambda c: c.groups.create("Stores", "Welcome"), GROUP)
    assert (request.method, request.url.path) == ("POST", "/v1/groups")
    assert json.loads(request.content) == {
        "name": "Stores",
        "welcomeMessage": "Welcome",
        "groupType": "Group",
    }


def test_every_creation_option_goes_under_its_wire_name() -> None:
    assert body(
        lambda c: c.groups.create(
            "Stores",
            "Welcome",
            members=[NUMBER],
            group_type="ConnectGroup",
            short_description="short",
            long_description="",  # given, so sent, even empty
        )
    ) == {
        "name": "Stores",
        "welcomeMessage": "Welcome",
        "groupType": "ConnectGroup",
        "members": [NUMBER],
        "shortDescriptionString": "short",
        "longDescriptionString": "",
    }


def test_an_empty_member_list_is_sent_as_given() -> None:
    assert body(lambda c: c.groups.create("S", "W", members=[]))["members"] == []


def test_the_created_group_is_returned() -> None:
    answer = {"groupId": "G9", "groupName": "Stores", "membersAdded": False}
    found = answer_of(lambda c: c.groups.create("Stores", "W"), answer)
    assert found == CreatedGroup(group_id="G9", group_name="Stores", members_added=False)


def test_a_creation_answer_without_an_id_names_the_call() -> None:
    assert unexpected(lambda c: c.groups.create("S", "W"), {"x": 1}).what == "POST /groups"


@pytest.mark.parametrize(
    ("call", "argument", "reason"),
    [
        (lambda c: c.groups.create("", "W"), "name", "must be a non-empty string"),
        (lambda c: c.groups.create("S", " "), "welcome_message", "must be a non-empty string"),
        (
            lambda c: c.groups.create("S", "W", group_type="group"),
            "group_type",
            "must be 'Group' or 'ConnectGroup', not 'group'",
        ),
        (
            lambda c: c.groups.create("S", "W", members=NUMBER),
            "members",
            "must be a list of phone numbers, not one string",
        ),
        (
            lambda c: c.groups.create("S", "W", short_description=1),
            "short_description",
            "must be a string, not int",
        ),
        (
            lambda c: c.groups.create("S", "W", long_description=b"x"),
            "long_description",
            "must be a string, not bytes",
        ),
    ],
)
def test_a_creation_is_refused_by_name(call: Any, argument: str, reason: str) -> None:
    assert refused(call) == (argument, reason)


def test_a_group_takes_at_most_a_hundred_members() -> None:
    numbers = [f"+9112345{n:05d}" for n in range(101)]
    assert refused(lambda c: c.groups.create("S", "W", members=numbers))[0] == "members"
    assert len(body(lambda c: c.groups.create("S", "W", members=numbers[:100]))["members"]) == 100


# -- groups.list and groups.get ----------------------------------------------------------------


def listing(run: Any, answer: Any) -> tuple[list[Any], Any]:
    requests = sent(lambda c: run(c).collect(), answer)
    return requests, answer_of(lambda c: run(c).collect(), answer)


def test_the_plain_listing_sends_no_option() -> None:
    (request,), groups = listing(lambda c: c.groups.list(), {"groups": [GROUP]})
    assert (request.method, request.url.path, request.url.query) == ("GET", "/v1/groups", b"")
    assert groups == [Group(group_id="G1", group_name="Stores")]


@pytest.mark.parametrize(
    ("options", "query"),
    [
        ({"fetch_all": True}, {"fetchAllGroups": "true"}),
        ({"show_detail": False}, {"showDetail": "false"}),
        (
            {"fetch_all": False, "show_detail": True},
            {"fetchAllGroups": "false", "showDetail": "true"},
        ),
    ],
)
def test_each_listing_option_is_sent_only_when_given(options: Any, query: Any) -> None:
    (request,), _ = listing(lambda c: c.groups.list(**options), {"groups": []})
    assert dict(request.url.params) == query


def test_a_listing_option_must_be_a_boolean() -> None:
    assert refused(lambda c: c.groups.list(fetch_all=1).collect())[0] == "fetch_all"
    assert refused(lambda c: c.groups.list(show_detail="yes").collect())[0] == "show_detail"


def test_a_listing_answer_of_another_shape_names_the_call() -> None:
    assert unexpected(lambda c: c.groups.list().collect(), []).what == "GET /groups"


def test_one_group_is_read_with_this_clients_connector_id_by_default() -> None:
    (request,) = sent(lambda c: c.groups.get("G1"), GROUP)
    assert (request.method, request.url.path) == ("GET", "/v1/groups/G1")
    assert request.headers["applicationId"] == "app"


def test_another_connector_id_may_be_given_and_is_checked() -> None:
    (request,) = sent(lambda c: c.groups.get("G1", application_id="other"), GROUP)
    assert request.headers["applicationId"] == "other"
    assert refused(lambda c: c.groups.get("G1", application_id=""))[0] == "application_id"
    assert refused(lambda c: c.groups.get(".."))[0] == "group_id"


def test_the_group_id_is_one_escaped_path_segment() -> None:
    (request,) = sent(lambda c: c.groups.get("a/b c"), GROUP)
    assert request.url.raw_path == b"/v1/groups/a%2Fb%20c"


@pytest.mark.parametrize(
    "answer",
    [GROUP, {"groups": [GROUP]}, {"GROUPS": [GROUP, {"groupId": "G2"}]}],
    ids=["bare", "wrapped", "wrapped-any-case-first-of-many"],
)
def test_one_group_is_read_bare_or_wrapped(answer: Any) -> None:
    assert answer_of(lambda c: c.groups.get("G1"), answer) == Group(
        group_id="G1", group_name="Stores"
    )


def test_an_empty_wrapper_means_no_such_group() -> None:
    assert refused_after_send(lambda c: c.groups.get("G1"), {"groups": []}) == (
        "group_id",
        "the service returned no group for this id",
    )


def refused_after_send(run: Any, answer: Any) -> tuple[str, str]:
    from kaizala_async import ValidationError

    async def guarded(client: Any) -> ValidationError:
        with pytest.raises(ValidationError) as info:
            await run(client)
        return info.value

    error = answer_of(guarded, answer)
    return error.argument, error.reason


def test_a_group_answer_of_another_shape_names_the_path() -> None:
    assert unexpected(lambda c: c.groups.get("G1"), {"groups": [{"x": 1}]}).what == "GET /groups/G1"


# -- subgroups ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"groups": [{"groupId": "P", "subGroups": [GROUP, {"groupId": "G2"}]}]},
        {"groupId": "P", "SUBGROUPS": [GROUP, {"groupId": "G2"}]},
        {
            "groups": [
                {"groupId": "P", "subGroups": [GROUP]},
                {"groupId": "Q", "subGroups": [{"groupId": "G2"}]},
            ]
        },
    ],
    ids=["wrapped", "bare", "two-parents"],
)
def test_subgroups_are_read_in_either_shape(answer: Any) -> None:
    (request,), groups = listing(lambda c: c.subgroups.list("P"), answer)
    assert (request.method, request.url.path, request.url.query) == (
        "GET",
        "/v1/groups/P/subGroups",
        b"",
    )
    assert [g.group_id for g in groups] == ["G1", "G2"]


@pytest.mark.parametrize(
    "answer",
    [
        {"groups": [{"groupId": "P"}]},
        {"groupId": "P"},
        {"subGroups": "no"},
        [],
        {"groups": [{"subGroups": None}]},
    ],
)
def test_a_parent_without_children_has_no_subgroups(answer: Any) -> None:
    assert listing(lambda c: c.subgroups.list("P"), answer)[1] == []


def test_the_whole_hierarchy_is_asked_for_only_when_given() -> None:
    (request,), _ = listing(lambda c: c.subgroups.list("P", fetch_all=True), {})
    assert dict(request.url.params) == {"fetchAllGroups": "true"}
    (request,), _ = listing(lambda c: c.subgroups.list("P", fetch_all=False), {})
    assert dict(request.url.params) == {"fetchAllGroups": "false"}
    assert refused(lambda c: c.subgroups.list("P", fetch_all=None or 0).collect())[0] == "fetch_all"
    assert refused(lambda c: c.subgroups.list("").collect())[0] == "group_id"


def test_a_subgroup_answer_of_another_shape_names_the_path() -> None:
    error = unexpected(lambda c: c.subgroups.list("P").collect(), {"subGroups": [{"x": 1}]})
    assert error.what == "GET /groups/P/subGroups"


def test_a_subgroup_is_created_with_its_members_always_sent() -> None:
    (request,) = sent(lambda c: c.subgroups.create("P", "Child", "Welcome"), GROUP)
    assert (request.method, request.url.path) == ("POST", "/v1/groups/P/subGroups")
    assert json.loads(request.content) == {
        "name": "Child",
        "welcomeMessage": "Welcome",
        "members": [],
    }


def test_every_subgroup_option_goes_under_its_wire_name() -> None:
    assert body(
        lambda c: c.subgroups.create(
            "P",
            "Child",
            "Welcome",
            members=[NUMBER],
            group_type="ConnectGroup",
            group_image="https://media.kaiza.la/i",
            add_caller=False,
            short_description="s",
            long_description="l",
        )
    ) == {
        "name": "Child",
        "welcomeMessage": "Welcome",
        "members": [NUMBER],
        "groupType": "ConnectGroup",
        "groupImageUrl": "https://media.kaiza.la/i",
        "addUserToGroup": False,
        "shortDescriptionString": "s",
        "longDescriptionString": "l",
    }


def test_the_created_subgroup_is_returned_and_its_path_named_when_malformed() -> None:
    found = answer_of(lambda c: c.subgroups.create("P", "C", "W"), {"groupId": "C1"})
    assert found == CreatedGroup(group_id="C1")
    error = unexpected(lambda c: c.subgroups.create("P", "C", "W"), {"x": 1})
    assert error.what == "POST /groups/P/subGroups"


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"group_type": "Connect"}, "group_type"),
        ({"group_image": 3}, "group_image"),
        ({"add_caller": "no"}, "add_caller"),
        ({"short_description": 1}, "short_description"),
        ({"long_description": 1}, "long_description"),
        ({"members": NUMBER}, "members"),
    ],
)
def test_a_subgroup_creation_is_refused_by_name(options: Any, argument: str) -> None:
    assert refused(lambda c: c.subgroups.create("P", "C", "W", **options))[0] == argument


def test_a_subgroup_needs_a_parent_a_name_and_a_welcome() -> None:
    assert refused(lambda c: c.subgroups.create("", "C", "W"))[0] == "group_id"
    assert refused(lambda c: c.subgroups.create("P", "", "W"))[0] == "name"
    assert refused(lambda c: c.subgroups.create("P", "C", ""))[0] == "welcome_message"


def test_existing_groups_are_attached_by_id() -> None:
    (request,) = sent(lambda c: c.subgroups.attach("P", ["A", "B"]), {})
    assert (request.method, request.url.path) == ("PUT", "/v1/groups/P/subGroups")
    assert json.loads(request.content) == {"subGroups": ["A", "B"]}
    assert answer_of(lambda c: c.subgroups.attach("P", iter(["A"])), {}) is None


@pytest.mark.parametrize(
    ("ids", "argument", "reason"),
    [
        ("AB", "sub_group_ids", "must be a list of ids, not one string"),
        ([], "sub_group_ids", "must hold at least one group id"),
        (["A", ""], "sub_group_ids[1]", "must be a non-empty id string, not ''"),
    ],
)
def test_an_attachment_is_refused_by_name(ids: Any, argument: str, reason: str) -> None:
    assert refused(lambda c: c.subgroups.attach("P", ids)) == (argument, reason)


def test_a_subgroup_is_detached_by_both_ids_escaped() -> None:
    (request,) = sent(lambda c: c.subgroups.detach("P 1", "C/2"), {})
    assert request.method == "DELETE"
    assert request.url.raw_path == b"/v1/groups/P%201/subGroups/C%2F2"
    assert refused(lambda c: c.subgroups.detach("P", ""))[0] == "sub_group_id"
    assert refused(lambda c: c.subgroups.detach("", "C"))[0] == "group_id"


# -- tenant.find_groups ------------------------------------------------------------------------


def page(count: int, start: int = 0) -> dict[str, Any]:
    return {"groups": [{"groupId": f"G{n}"} for n in range(start, start + count)]}


def test_a_tenant_search_pages_by_offset_until_a_short_page() -> None:
    run = lambda c: c.tenant.find_groups("store", page_size=2, limit=4).collect()  # noqa: E731
    requests = sent(run, page(2))  # every page full: the limit ends it
    assert len(requests) == 2
    assert len(answer_of(run, page(2))) == 4
    first, second = requests[:2]
    assert first.url.path == "/v1/tenant/findGroupsByQuery"
    assert dict(first.url.params) == {"query": "store", "resultsOffset": "0", "pageSize": "2"}
    assert dict(second.url.params)["resultsOffset"] == "2"


def test_a_short_page_ends_the_search() -> None:
    requests = sent(lambda c: c.tenant.find_groups("s", page_size=3).collect(), page(2))
    assert len(requests) == 1
    found = answer_of(lambda c: c.tenant.find_groups("s", page_size=3).collect(), page(2))
    assert [g.group_id for g in found] == ["G0", "G1"]


def test_a_limit_asks_only_for_what_remains() -> None:
    requests = sent(lambda c: c.tenant.find_groups("s", page_size=10, limit=3).collect(), page(3))
    assert [dict(r.url.params)["pageSize"] for r in requests] == ["3"]


def test_the_default_page_is_ten() -> None:
    (request,) = sent(lambda c: c.tenant.find_groups("s").collect(), page(0))
    assert dict(request.url.params)["pageSize"] == "10"


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"query": ""}, "query"),
        ({"query": "s", "page_size": 0}, "page_size"),
        ({"query": "s", "limit": 0}, "limit"),
    ],
)
def test_a_tenant_search_is_refused_by_name(options: Any, argument: str) -> None:
    assert refused(lambda c: c.tenant.find_groups(**options).collect())[0] == argument


def test_a_tenant_answer_of_another_shape_names_the_call() -> None:
    error = unexpected(lambda c: c.tenant.find_groups("s").collect(), {"groups": 3})
    assert error.what == "GET /tenant/findGroupsByQuery"


def test_a_subgroup_takes_at_most_a_hundred_members() -> None:
    numbers = [f"+9112345{n:05d}" for n in range(101)]
    assert refused(lambda c: c.subgroups.create("P", "S", "W", members=numbers))[0] == "members"
    assert (
        len(body(lambda c: c.subgroups.create("P", "S", "W", members=numbers[:100]))["members"])
        == 100
    )


def test_an_attachment_names_an_empty_group_id() -> None:
    assert refused(lambda c: c.subgroups.attach("", ["A"]))[0] == "group_id"
