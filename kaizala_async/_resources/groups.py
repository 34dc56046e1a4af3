"""``client.users``, ``client.groups``, ``client.subgroups`` and ``client.tenant`` (API U1, G, S, X1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from kaizala_async._constants import MAX_GROUP_MEMBERS, TENANT_SEARCH_PAGE
from kaizala_async._errors import ValidationError
from kaizala_async._models.groups import CreatedGroup, Group, User
from kaizala_async._paging import Paginator, single_page
from kaizala_async._validate import (
    check_bool,
    check_count,
    check_id,
    check_limit,
    check_text,
    optional_text,
    phone_list,
    segment,
)

from ._base import Resource, field, query_bool

__all__ = ["GroupType", "GroupsResource", "SubgroupsResource", "TenantResource", "UsersResource"]

GroupType = Literal["Group", "ConnectGroup"]


def _group_type(value: object) -> str:
    if value not in ("Group", "ConnectGroup"):
        raise ValidationError("group_type", f"must be 'Group' or 'ConnectGroup', not {value!r}")
    return str(value)


class UsersResource(Resource):
    """The token's user (API U1)."""

    async def me(self) -> User:
        """Profile of the user the refresh token belongs to."""
        return self._decode(await self._send("GET", "/users/me"), User, "GET /users/me")


class GroupsResource(Resource):
    """Create, list and read groups (API G1-G3)."""

    async def create(
        self,
        name: str,
        welcome_message: str,
        *,
        members: Iterable[str] | None = None,
        group_type: GroupType = "Group",
        short_description: str | None = None,
        long_description: str | None = None,
    ) -> CreatedGroup:
        """Create a group (``ConnectGroup`` for a managed public group) with up to 100 members.

        The token's user becomes its admin. ``CreatedGroup.members_added`` is False when some
        number could not be added: the group exists all the same. ``members`` is sent only when
        given.
        """
        body: dict[str, Any] = {
            "name": check_text(name, "name"),
            "welcomeMessage": check_text(welcome_message, "welcome_message"),
            "groupType": _group_type(group_type),
        }
        if members is not None:
            body["members"] = phone_list(members, "members", most=MAX_GROUP_MEMBERS)
        if optional_text(short_description, "short_description") is not None:
            body["shortDescriptionString"] = short_description
        if optional_text(long_description, "long_description") is not None:
            body["longDescriptionString"] = long_description
        data = await self._send("POST", "/groups", json=body)
        return self._decode(data, CreatedGroup, "POST /groups")

    def list(
        self, *, fetch_all: bool | None = None, show_detail: bool | None = None
    ) -> Paginator[Group]:
        """Groups the token can see (``fetch_all``: sub-groups too; ``show_detail``: the counts
        and flags). One request; not paged. Each option is sent only when given: the plain call
        is the service's "my groups"."""
        params: dict[str, str | int] = {}
        if fetch_all is not None:
            params["fetchAllGroups"] = query_bool(check_bool(fetch_all, "fetch_all"))
        if show_detail is not None:
            params["showDetail"] = query_bool(check_bool(show_detail, "show_detail"))

        async def fetch() -> Sequence[Group]:
            data = await self._send("GET", "/groups", params=params or None)
            return self._decode_list(data, "groups", Group, "GET /groups")

        return single_page(fetch)

    async def get(self, group_id: str, *, application_id: str | None = None) -> Group:
        """Details of one group (the answer may be wrapped in ``groups`` or bare).

        ``application_id``: the connector id sent as the ``applicationId`` header the service's
        swagger and its Postman sample give this request; by default this client's own."""
        path = f"/groups/{segment(group_id, 'group_id')}"
        if application_id is None:
            application_id = self._client.credentials.application_id
        # a header, as the swagger describes G3 (the service did not require it)
        headers = {"applicationId": check_id(application_id, "application_id")}
        data = await self._send("GET", path, headers=headers)
        wrapped = field(data, "groups")
        if isinstance(wrapped, list):
            if not wrapped:
                raise ValidationError("group_id", "the service returned no group for this id")
            data = wrapped[0]
        return self._decode(data, Group, f"GET {path}")


def _parent_and_children(data: Any) -> list[Any]:
    """S1 comes in two shapes (sources' inconsistency 9): ``{groups: [{subGroups}]}`` or a bare parent."""
    groups = field(data, "groups")
    if isinstance(groups, list):
        return [child for g in groups for child in (field(g, "subGroups") or [])]
    children = field(data, "subGroups")
    return children if isinstance(children, list) else []


class SubgroupsResource(Resource):
    """Sub-groups of a group (API S1-S4)."""

    def list(self, group_id: str, *, fetch_all: bool | None = None) -> Paginator[Group]:
        """Sub-groups of ``group_id`` (``fetch_all``: the whole hierarchy, sent only when
        given). Not paged."""
        path = f"/groups/{segment(group_id, 'group_id')}/subGroups"
        params: dict[str, str | int] | None = None
        if fetch_all is not None:
            params = {"fetchAllGroups": query_bool(check_bool(fetch_all, "fetch_all"))}

        async def fetch() -> Sequence[Group]:
            data = await self._send("GET", path, params=params)
            return [self._decode(c, Group, f"GET {path}") for c in _parent_and_children(data)]

        return single_page(fetch)

    async def create(
        self,
        group_id: str,
        name: str,
        welcome_message: str,
        *,
        members: Iterable[str] = (),
        group_type: GroupType | None = None,
        group_image: str | None = None,
        add_caller: bool | None = None,
        short_description: str | None = None,
        long_description: str | None = None,
    ) -> CreatedGroup:
        """Create a new group as a sub-group of ``group_id``.

        ``group_image`` is a media resource; ``add_caller=False`` keeps the token's user out of it.
        """
        path = f"/groups/{segment(group_id, 'group_id')}/subGroups"
        body: dict[str, Any] = {
            "name": check_text(name, "name"),
            "welcomeMessage": check_text(welcome_message, "welcome_message"),
            "members": phone_list(members, "members", most=MAX_GROUP_MEMBERS),
        }
        if group_type is not None:
            body["groupType"] = _group_type(group_type)
        if optional_text(group_image, "group_image") is not None:
            body["groupImageUrl"] = group_image
        if add_caller is not None:
            body["addUserToGroup"] = check_bool(add_caller, "add_caller")
        if optional_text(short_description, "short_description") is not None:
            body["shortDescriptionString"] = short_description
        if optional_text(long_description, "long_description") is not None:
            body["longDescriptionString"] = long_description
        data = await self._send("POST", path, json=body)
        return self._decode(data, CreatedGroup, f"POST {path}")

    async def attach(self, group_id: str, sub_group_ids: Iterable[str]) -> None:
        """Make existing groups sub-groups of ``group_id``."""
        path = f"/groups/{segment(group_id, 'group_id')}/subGroups"
        if isinstance(sub_group_ids, str):
            raise ValidationError("sub_group_ids", "must be a list of ids, not one string")
        ids = [check_id(g, f"sub_group_ids[{i}]") for i, g in enumerate(sub_group_ids)]
        if not ids:
            raise ValidationError("sub_group_ids", "must hold at least one group id")
        await self._send("PUT", path, json={"subGroups": ids})

    async def detach(self, group_id: str, sub_group_id: str) -> None:
        """Remove ``sub_group_id`` from the sub-groups of ``group_id`` (both groups remain)."""
        path = (
            f"/groups/{segment(group_id, 'group_id')}"
            f"/subGroups/{segment(sub_group_id, 'sub_group_id')}"
        )
        await self._send("DELETE", path)


class TenantResource(Resource):
    """Tenant-wide queries (API X1; needs the Tenant Data permission)."""

    def find_groups(
        self, query: str, *, page_size: int = TENANT_SEARCH_PAGE, limit: int | None = None
    ) -> Paginator[Group]:
        """Tenant groups whose name contains ``query``, paged by offset."""
        text = check_text(query, "query")
        size = check_count(page_size, "page_size")
        most = check_limit(limit)

        async def fetch(offset: int | None, remaining: int | None) -> tuple[Sequence[Group], Any]:
            start = offset or 0
            want = size if remaining is None else min(size, remaining)
            params: Mapping[str, str | int] = {
                "query": text,
                "resultsOffset": start,
                "pageSize": want,
            }
            data = await self._send("GET", "/tenant/findGroupsByQuery", params=params)
            groups = self._decode_list(data, "groups", Group, "GET /tenant/findGroupsByQuery")
            return groups, (start + len(groups) if len(groups) >= want else None)

        return Paginator(fetch, limit=most)
