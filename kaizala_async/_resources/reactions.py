"""``client.reactions``: likes and comments on messages and actions (API R1-R4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from kaizala_async._errors import ValidationError
from kaizala_async._models.content import Reaction, ReactionCreated, ReactionSummary
from kaizala_async._paging import Paginator
from kaizala_async._validate import check_id, check_limit, check_text, segment

from ._base import Resource, field

__all__ = ["ReactionType", "ReactionsResource"]

ReactionType = Literal["Like", "Comment"]


def _cursor_of(data: Any) -> int | None:
    value = field(data, "cursor")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _source(source_group_id: str | None, group_id: str) -> str:
    """The item's source group: ``group_id`` unless given (a given empty id is refused, not
    taken for "not given")."""
    return check_id(group_id if source_group_id is None else source_group_id, "source_group_id")


class ReactionsResource(Resource):
    """Likes and comments. ``source_group_id`` is the group the item was first sent to; it
    defaults to ``group_id`` (they differ only for items seen through a group hierarchy)."""

    async def like(
        self, group_id: str, reference_id: str, *, source_group_id: str | None = None
    ) -> ReactionCreated:
        """Like a message or action (``reference_id`` from its send)."""
        return await self._react(group_id, reference_id, source_group_id, "Like", None)

    async def comment(
        self, group_id: str, reference_id: str, text: str, *, source_group_id: str | None = None
    ) -> ReactionCreated:
        """Comment on a message or action."""
        return await self._react(
            group_id, reference_id, source_group_id, "Comment", check_text(text, "text")
        )

    async def _react(
        self,
        group_id: str,
        reference_id: str,
        source_group_id: str | None,
        kind: str,
        comment: str | None,
    ) -> ReactionCreated:
        path = f"/groups/{segment(group_id, 'group_id')}/reaction"
        body: dict[str, Any] = {
            "referenceId": check_id(reference_id, "reference_id"),
            "sourceGroupId": _source(source_group_id, group_id),
            "reactionType": kind,
        }
        if comment is not None:
            body["comment"] = comment
        return self._decode(
            await self._send("POST", path, json=body), ReactionCreated, f"POST {path}"
        )

    async def summary(
        self, group_id: str, reference_id: str, *, source_group_id: str | None = None
    ) -> ReactionSummary:
        """Like and comment counts of one item (R2)."""
        path = (
            f"/groups/{segment(group_id, 'group_id')}"
            f"/reaction/{segment(reference_id, 'reference_id')}/summary"
        )
        params = {"sourceGroupId": _source(source_group_id, group_id)}
        data = await self._send("GET", path, params=params)
        found = self._decode_list(data, "summary", ReactionSummary, f"GET {path}")
        if found:
            return found[0]
        return ReactionSummary(reference_id=reference_id)

    def summaries(
        self, group_id: str, *, source_group_id: str | None = None, limit: int | None = None
    ) -> Paginator[ReactionSummary]:
        """Counts for every reacted item of a group (R3), following the service's cursor until
        a page is empty or the cursor stops moving."""
        path = f"/groups/{segment(group_id, 'group_id')}/reaction/summary"
        source = _source(source_group_id, group_id)
        return self._cursor_pages(
            path, {"sourceGroupId": source}, "summary", ReactionSummary, limit
        )

    def list(
        self,
        group_id: str,
        reference_id: str,
        reaction_type: ReactionType,
        *,
        source_group_id: str | None = None,
        limit: int | None = None,
    ) -> Paginator[Reaction]:
        """The individual likes or comments on one item (R4), cursor-paged."""
        if reaction_type not in ("Like", "Comment"):
            raise ValidationError(
                "reaction_type", f"must be 'Like' or 'Comment', not {reaction_type!r}"
            )
        path = (
            f"/groups/{segment(group_id, 'group_id')}"
            f"/reaction/{segment(reference_id, 'reference_id')}"
        )
        params = {
            "sourceGroupId": _source(source_group_id, group_id),
            "reactionType": reaction_type,
        }
        return self._cursor_pages(path, params, "reactionDetails", Reaction, limit)

    def _cursor_pages(
        self,
        path: str,
        params: dict[str, str],
        key: str,
        item: type[Any],
        limit: int | None,
    ) -> Paginator[Any]:
        most = check_limit(limit)

        async def fetch(sent: int, _: int | None) -> tuple[Sequence[Any], Any]:
            data = await self._send("GET", path, params={**params, "cursor": sent})
            items = self._decode_list(data, key, item, f"GET {path}")
            following = _cursor_of(data)
            if not items or following is None or following == sent:
                return items, None
            return items, following

        return Paginator(fetch, limit=most, first=0, call=f"GET {path}")
