"""``client.actions``: send, list, read and respond to actions (API C1-C4)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from kaizala_async._constants import ACTION_PAGE
from kaizala_async._converter import epoch_ms
from kaizala_async._errors import UnexpectedResponseError, ValidationError
from kaizala_async._models.actions import ActionBody, CustomAction, ResponseBody
from kaizala_async._models.content import ActionDetails, ActionSummary, ResponseCreated, SentAction
from kaizala_async._paging import Paginator
from kaizala_async._validate import (
    aware_epoch_ms,
    check_bool,
    check_count,
    check_id,
    check_limit,
    phone_list,
    segment,
)

from ._base import Resource, field, query_bool

__all__ = ["LISTABLE_ACTION_TYPES", "ActionsResource"]

#: Types C2 can list (API reference, "Action types", inconsistency 21).
LISTABLE_ACTION_TYPES = frozenset(
    {"Image", "Job", "Survey", "Poll", "LetsMeet", "PhotoWithLocation", "ShareLocation", "Document"}
)


class ActionsResource(Resource):
    """Actions: media, announcements, jobs, polls, meetings, surveys, custom packages."""

    async def send(
        self,
        group_id: str,
        action: ActionBody,
        *,
        subscribers: Iterable[str] | None = None,
        send_to_all_subscribers: bool = False,
    ) -> SentAction:
        """Send ``action`` (an `ImageAction`, `PollAction`, ... or
        `CustomAction`) to a group. Like a message, never repeated once it may have
        reached the service."""
        path = f"/groups/{segment(group_id, 'group_id')}/actions"
        if not isinstance(action, ActionBody):
            raise ValidationError(
                "action", f"must be an action body such as PollAction, not {type(action).__name__}"
            )
        body: dict[str, Any]
        if isinstance(action, CustomAction):
            body = {"id": action.package_id, "actionBody": action.to_json()}
        else:
            body = {"actionType": action.action_type, "actionBody": action.to_json()}
        if check_bool(send_to_all_subscribers, "send_to_all_subscribers"):
            body["sendToAllSubscribers"] = True
        if subscribers is not None:
            body["subscribers"] = phone_list(subscribers, "subscribers", allow_empty=False)
        return self._decode(await self._send("POST", path, json=body), SentAction, f"POST {path}")

    def list(
        self,
        group_id: str,
        action_type: str,
        *,
        since: datetime | None = None,
        page_size: int = ACTION_PAGE,
        limit: int | None = None,
    ) -> Paginator[ActionSummary]:
        """Actions of one type in a group, oldest first, from ``since`` on.

        The service pages with ``hasMore`` only; the next page starts at the last item's send
        time (``fromDate``, inclusive), and items already seen at that instant are skipped.
        """
        path = f"/groups/{segment(group_id, 'group_id')}/actions"
        if action_type not in LISTABLE_ACTION_TYPES:
            raise ValidationError(
                "action_type",
                f"must be one of {sorted(LISTABLE_ACTION_TYPES)}, not {action_type!r}",
            )
        size = check_count(page_size, "page_size")
        most = check_limit(limit)
        start = aware_epoch_ms(since, "since") if since is not None else None

        async def fetch(
            state: tuple[int, frozenset[str], int] | None, remaining: int | None
        ) -> tuple[Sequence[ActionSummary], Any]:
            from_ms, seen, count = state if state is not None else (start, frozenset(), size)
            params: dict[str, str | int] = {"actionType": action_type, "count": count}
            if from_ms is not None:
                params["fromDate"] = from_ms
            data = await self._send("GET", path, params=params)
            items = self._decode_list(data, "actions", ActionSummary, f"GET {path}")
            fresh = [a for a in items if a.reference_id not in seen]
            more = field(data, "hasMore")
            if not (more is True or more in ("true", "True")) or not items:
                return fresh, None
            if not fresh and len(items) < count:
                # Asked for more than it gave, yet nothing new and "more": asking again would
                # get the same page for ever (a server that does not page as documented).
                raise UnexpectedResponseError(
                    f"GET {path}", ["hasMore is true but the page holds no action not yet listed"]
                )
            last = items[-1].time
            if last is None:
                raise ValidationError("page_size", "the service's actions carry no time to page by")
            last_ms = epoch_ms(last)
            at_last = frozenset(a.reference_id for a in items if a.time == last)
            # A page made only of already-seen items (many sent in one instant): widen the page.
            following = count * 2 if not fresh else size
            carried = seen | at_last if last_ms == from_ms else at_last
            return fresh, (last_ms, carried, following)

        return Paginator(fetch, limit=most)

    async def get(
        self, group_id: str, action_id: str, *, with_responses: bool = False
    ) -> ActionDetails:
        """One action instance; ``with_responses`` adds its responses (``getDetails``)."""
        path = f"/groups/{segment(group_id, 'group_id')}/actions/{segment(action_id, 'action_id')}"
        params = {"getDetails": query_bool(check_bool(with_responses, "with_responses"))}
        data = await self._send("GET", path, params=params)
        listed = field(data, "actions")
        if isinstance(listed, list) and listed:  # the docs' sample is a copy of the C2 list
            first = listed[0]
            data = {
                "actionType": field(first, "actionType"),
                "sender": field(first, "sender"),
                "sentAt": field(first, "sentAt") or field(first, "creationTime"),
                "actionDetails": field(first, "actionBody") or {},
            }
        return self._decode(data, ActionDetails, f"GET {path}")

    async def respond(
        self,
        group_id: str,
        action_id: str,
        response: ResponseBody,
        *,
        response_id: str | None = None,
        package_id: str | None = None,
    ) -> ResponseCreated:
        """Respond to a Job or Survey (or, with ``package_id``, a custom action instance).

        Pass ``response_id`` (from an earlier answer) to update that response.
        """
        path = (
            f"/groups/{segment(group_id, 'group_id')}"
            f"/actions/{segment(action_id, 'action_id')}/responses"
        )
        if not isinstance(response, ResponseBody):
            raise ValidationError("response", "must be a JobResponseBody or SurveyResponseBody")
        body: dict[str, Any] = {"actionBody": response.to_json()}
        if package_id is not None:
            body["id"] = check_id(package_id, "package_id")
        else:
            body["actionType"] = response.action_type
        if response_id is not None:
            body["responseId"] = check_id(response_id, "response_id")
        data = await self._send("POST", path, json=body)
        return self._decode(data, ResponseCreated, f"POST {path}")
