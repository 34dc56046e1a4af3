"""Messages, media, sent actions, action queries and reactions (API T1, D1-D2, C1-C4, R1-R4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "ActionDetails",
    "ActionResponseRecord",
    "ActionSummary",
    "ActionSummaryBody",
    "FailedRecipient",
    "MediaResource",
    "Place",
    "PollChoiceSummary",
    "Reaction",
    "ReactionCounts",
    "ReactionCreated",
    "ReactionSummary",
    "ResponseCreated",
    "SentAction",
    "SentMessage",
]


@attrs.frozen(kw_only=True)
class FailedRecipient:
    """One subscriber a message or action did not reach (``failedResult`` of T1 and C1)."""

    subscriber: str | None = None
    subscriber_id: str | None = None
    error_reason: str | None = None
    error_code: str | None = None


@attrs.frozen(kw_only=True)
class SentMessage:
    """Answer of T1. ``failed_result`` lists subscribers it did not reach (public groups)."""

    reference_id: str
    failed_result: tuple[FailedRecipient, ...] = ()


@attrs.frozen(kw_only=True)
class SentAction:
    """Answer of C1: the carrying message's ``reference_id`` and, for actions that take
    responses, the ``action_id``."""

    reference_id: str
    action_id: str | None = None
    failed_result: tuple[FailedRecipient, ...] = ()


@attrs.frozen(kw_only=True)
class MediaResource:
    """An uploaded file (D1, D2): pass ``media_resource`` to a media action body."""

    media_resource: str


@attrs.frozen(kw_only=True)
class Place:
    """A place of a Let's Meet or a response location."""

    latitude: float
    longitude: float
    name: str = ""


@attrs.frozen(kw_only=True)
class PollChoiceSummary:
    """A poll choice as the service lists it (``image`` is a URL)."""

    title: str
    image: str | None = None


@attrs.frozen(kw_only=True)
class ActionResponseRecord:
    """One response in C3 ``getDetails`` (shape undocumented; API reference recommendation)."""

    response_id: str | None = None
    assignee: str | None = None
    assignee_name: str | None = None
    is_completed: bool | None = None
    responder: str | None = None
    responder_name: str | None = None
    answers: tuple[Any, ...] | None = None


@attrs.frozen(kw_only=True)
class ActionSummaryBody:
    """The type-specific ``actionBody`` of C2 and ``actionDetails`` of C3: every field optional."""

    action_id: str | None = None
    title: str | None = None
    question: str | None = None
    image_url: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    assignee_count: int | None = None
    response_count: int | None = None
    is_completed: bool | None = None
    status: bool | None = None
    is_sender_only: bool | None = None
    expiry_date: datetime | None = None
    due_date: datetime | None = None
    starting_time: datetime | None = None
    agenda: str | None = None
    duration: int | None = None
    place: Place | None = None
    choices: tuple[PollChoiceSummary, ...] = ()
    responses: tuple[ActionResponseRecord, ...] = ()


@attrs.frozen(kw_only=True)
class ActionSummary:
    """An action instance in a group (C2). ``sent_at`` also reads the older ``creationTime``."""

    reference_id: str
    action_type: str | None = None
    sender: str | None = None
    sent_at: datetime | None = None
    creation_time: datetime | None = None
    action_body: ActionSummaryBody = ActionSummaryBody()

    @property
    def time(self) -> datetime | None:
        """When it was sent, from whichever of ``sentAt`` / ``creationTime`` the service gave."""
        return self.sent_at or self.creation_time


@attrs.frozen(kw_only=True)
class ActionDetails:
    """One action instance (C3), with its responses when asked for."""

    action_type: str | None = None
    sender: str | None = None
    sent_at: datetime | None = None
    action_details: ActionSummaryBody = ActionSummaryBody()


@attrs.frozen(kw_only=True)
class ResponseCreated:
    """Answer of C4: keep ``response_id`` to update the response later."""

    response_id: str


@attrs.frozen(kw_only=True)
class ReactionCreated:
    """Answer of R1."""

    reaction_id: str


@attrs.frozen(kw_only=True)
class ReactionCounts:
    """How many likes and comments an item has."""

    like: int = 0
    comment: int = 0


@attrs.frozen(kw_only=True)
class ReactionSummary:
    """Like and comment counts of one message or action (R2, R3)."""

    reference_id: str
    reactions_count_map: ReactionCounts = ReactionCounts()


@attrs.frozen(kw_only=True)
class Reaction:
    """One like or comment (R4); ``comment`` is an emulator extra the service may not send."""

    reaction_id: str
    user_id: str | None = None
    last_modified_time: datetime | None = None
    comment: str | None = None
