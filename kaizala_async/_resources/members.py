"""``client.members`` and ``client.subscribers`` (API M1-M3, P1-P3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from kaizala_async._constants import SUBSCRIBER_BATCH, SUBSCRIBER_PAGE
from kaizala_async._models.groups import Member, Subscriber, SubscriberChanges, SubscriberOutcome
from kaizala_async._paging import Paginator, single_page
from kaizala_async._validate import check_count, check_limit, phone_list, segment

from ._base import Resource, field

__all__ = ["MembersAdded", "MembersResource", "SubscribersResource"]


@attrs.frozen(kw_only=True)
class MembersAdded:
    """Answer of M2: ``result`` is True only when *every* number was added."""

    result: bool

    @property
    def all_added(self) -> bool:
        return self.result


class MembersResource(Resource):
    """Members of a group (API M1-M3)."""

    def list(self, group_id: str) -> Paginator[Member]:
        """Members of ``group_id`` with their roles. One request; not paged."""
        path = f"/groups/{segment(group_id, 'group_id')}/members"

        async def fetch() -> Sequence[Member]:
            return self._decode_list(
                await self._send("GET", path), "members", Member, f"GET {path}"
            )

        return single_page(fetch)

    async def add(self, group_id: str, numbers: Iterable[str]) -> MembersAdded:
        """Add members by phone number. Check ``.all_added``: a 200 may still leave some out."""
        path = f"/groups/{segment(group_id, 'group_id')}/members"
        body = {"members": phone_list(numbers, "numbers", allow_empty=False)}
        return self._decode(await self._send("PUT", path, json=body), MembersAdded, f"PUT {path}")

    async def remove(self, group_id: str, member_id: str) -> None:
        """Remove one member (``member_id`` is `Member.id`)."""
        path = f"/groups/{segment(group_id, 'group_id')}/members/{segment(member_id, 'member_id')}"
        await self._send("DELETE", path)


class SubscribersResource(Resource):
    """Subscribers of a managed public (``ConnectGroup``) group (API P1-P3)."""

    def list(
        self, group_id: str, *, page_size: int = SUBSCRIBER_PAGE, limit: int | None = None
    ) -> Paginator[Subscriber]:
        """Every subscriber, fetched page by page (at most 50 per page) as you iterate."""
        path = f"/groups/{segment(group_id, 'group_id')}/subscribers"
        size = check_count(page_size, "page_size", most=SUBSCRIBER_PAGE)
        most = check_limit(limit)

        async def fetch(
            cursor: str | None, remaining: int | None
        ) -> tuple[Sequence[Subscriber], Any]:
            body: dict[str, Any] = {"count": size if remaining is None else min(size, remaining)}
            if cursor is not None:
                body["cursor"] = cursor
            data = await self._send("POST", path, json=body)
            items = self._decode_list(data, "subscribers", Subscriber, f"POST {path}")
            following = field(data, "cursor")
            if not isinstance(following, str) or not following:
                return items, None
            return items, following

        return Paginator(fetch, limit=most, call=f"POST {path}")

    async def add(
        self, group_id: str, numbers: Iterable[str], *, batch_size: int = SUBSCRIBER_BATCH
    ) -> SubscriberChanges:
        """Add subscribers, ``batch_size`` numbers per request; per-number results merged."""
        return await self._change(group_id, numbers, "add", batch_size)

    async def remove(
        self, group_id: str, numbers: Iterable[str], *, batch_size: int = SUBSCRIBER_BATCH
    ) -> SubscriberChanges:
        """Remove subscribers, ``batch_size`` numbers per request; per-number results merged."""
        return await self._change(group_id, numbers, "remove", batch_size)

    async def _change(
        self, group_id: str, numbers: Iterable[str], verb: str, batch_size: int
    ) -> SubscriberChanges:
        path = f"/groups/{segment(group_id, 'group_id')}/subscribers/{verb}"
        listed = phone_list(numbers, "numbers", allow_empty=False)
        size = check_count(batch_size, "batch_size")
        results: dict[str, SubscriberOutcome] = {}
        for start in range(0, len(listed), size):
            batch = listed[start : start + size]
            data = await self._send("PUT", path, json={"subscribers": batch})
            found = field(data, "result")
            decoded = self._decode(
                found if isinstance(found, dict) else {},
                dict[str, SubscriberOutcome],
                f"PUT {path}",
            )
            for number in batch:
                # A number the answer does not mention is reported as failed, not assumed done.
                results[number] = decoded.get(
                    number, SubscriberOutcome(error_reason="not in the service's answer")
                )
        return SubscriberChanges(results=results)
