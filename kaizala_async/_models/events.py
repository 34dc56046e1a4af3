"""Webhook events (API K2): the envelope, and a typed ``data`` per event type.

`decode_event` never raises for a well-formed JSON object: an unknown ``eventType`` becomes
an `UnknownEvent` whose ``data`` is the raw mapping. Two payload shapes are read: the
service's envelope (``eventType`` + ``data``) and the flattened Power Automate trigger objects of
seed 004 (the ``data`` fields at the top level).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
import cattrs

from kaizala_async._converter import converter, structure

__all__ = [
    "ActionCreatedData",
    "ActionCreatedEvent",
    "ActionResponseEvent",
    "AnnouncementData",
    "AnnouncementEvent",
    "AnsweredQuestion",
    "AttachmentCreatedEvent",
    "AttachmentData",
    "EVENT_TYPES",
    "GroupAddedEvent",
    "GroupChangeData",
    "GroupRemovedEvent",
    "JobCreatedData",
    "JobCreatedEvent",
    "JobResponseData",
    "JobResponseEvent",
    "JobResponseItem",
    "LetsMeetCreatedEvent",
    "LetsMeetResponseEvent",
    "MediaItem",
    "MemberAddedEvent",
    "MemberChangeData",
    "MemberRemovedEvent",
    "PollCreatedEvent",
    "PollResponseEvent",
    "ResponseData",
    "SurveyCreatedEvent",
    "SurveyResponseEvent",
    "TextMessageCreatedEvent",
    "TextMessageData",
    "UnknownEvent",
    "WebhookEvent",
    "decode_event",
]

#: Envelope keys (API K2); everything else at the top level of a flattened payload is data.
_ENVELOPE = {
    "objectid",
    "objecttype",
    "eventtype",
    "eventid",
    "data",
    "context",
    "fromuser",
    "fromuserid",
    "fromusername",
    "fromuserprofilepic",
    "isbotfromuser",
}


@attrs.frozen(kw_only=True)
class MediaItem:
    """A media file in an event. Reads ``{mediaUrl, mediaFileName}``, ``{url, fileName}`` and the
    bare URL strings of the Power Automate schemas."""

    url: str
    file_name: str | None = None


def _structure_media(value: object, _: type) -> MediaItem:
    if isinstance(value, str):
        return MediaItem(url=value)
    if not isinstance(value, Mapping):
        raise TypeError("a media item must be an object or a URL")
    keys = {str(k).lower(): v for k, v in value.items()}
    url = keys.get("mediaurl", keys.get("url"))
    name = keys.get("mediafilename", keys.get("filename"))
    if not isinstance(url, str):
        raise TypeError("a media item needs a URL")
    return MediaItem(url=url, file_name=name if isinstance(name, str) else None)


converter.register_structure_hook(MediaItem, _structure_media)


@attrs.frozen(kw_only=True)
class TextMessageData:
    """``TextMessageCreated``: the text (``textMessage`` in the Power Automate schema)."""

    text: str | None = None
    text_message: str | None = None
    group_id: str | None = None
    source_group_id: str | None = None
    message_id: str | None = None
    is_reply: bool | None = None
    original_message_id: str | None = None

    def __attrs_post_init__(self) -> None:
        # One text, two names: the service's ``text`` and the Power Automate ``textMessage``;
        # whichever came, both attributes hold it.
        if self.text is None and self.text_message is not None:
            object.__setattr__(self, "text", self.text_message)
        elif self.text_message is None and self.text is not None:
            object.__setattr__(self, "text_message", self.text)

    @property
    def body(self) -> str:
        """The message text, whichever key carried it."""
        return self.text if self.text is not None else (self.text_message or "")


@attrs.frozen(kw_only=True)
class AttachmentData:
    """``AttachmentCreated``: media of an Image/Audio/Document/Video/Album action."""

    media: tuple[MediaItem, ...] = ()
    action_type: str | None = None
    caption: str | None = None
    group_id: str | None = None
    source_group_id: str | None = None
    message_id: str | None = None


@attrs.frozen(kw_only=True)
class AnnouncementData:
    """``Announcement``."""

    title: str | None = None
    text: str | None = None
    media: tuple[MediaItem, ...] = ()
    group_id: str | None = None
    source_group_id: str | None = None
    message_id: str | None = None


@attrs.frozen(kw_only=True)
class ActionCreatedData:
    """``ActionCreated``, ``SurveyCreated``, ``PollCreated``, ``LetsMeetCreated``."""

    action_id: str | None = None
    group_id: str | None = None
    action_type: str | None = None
    title: str | None = None
    action_title: str | None = None
    survey_title: str | None = None
    question: str | None = None


@attrs.frozen(kw_only=True)
class JobCreatedData:
    """``JobCreated``."""

    action_id: str | None = None
    group_id: str | None = None
    title: str | None = None
    due_date: datetime | None = None
    assigned_to: tuple[str, ...] = ()
    text: str | None = None


@attrs.frozen(kw_only=True)
class JobResponseItem:
    """One assignee's answer to a job."""

    assignee: str | None = None
    assignee_name: str | None = None
    assignee_profile_pic: str | None = None
    is_completed: bool | None = None


@attrs.frozen(kw_only=True)
class _JobResponseDetails:
    response: JobResponseItem = JobResponseItem()


@attrs.frozen(kw_only=True)
class JobResponseData:
    """``JobResponse``: who answered and whether the job is done."""

    action_id: str | None = None
    group_id: str | None = None
    response_id: str | None = None
    response_details: _JobResponseDetails = _JobResponseDetails()

    @property
    def response(self) -> JobResponseItem:
        return self.response_details.response


@attrs.frozen(kw_only=True)
class AnsweredQuestion:
    """One question of a response with its answer (text, list, epoch ms, media list, ...)."""

    title: str | None = None
    type: str | None = None
    options: tuple[Any, ...] = ()
    answer: Any = None
    is_invisible: bool | None = None


@attrs.frozen(kw_only=True)
class _ResponseDetails:
    response_with_questions: tuple[AnsweredQuestion, ...] = ()


@attrs.frozen(kw_only=True)
class ResponseData:
    """``SurveyResponse``, ``ActionResponse``, ``PollResponse``, ``LetsMeetResponse``."""

    action_id: str | None = None
    group_id: str | None = None
    response_id: str | None = None
    is_update_response: bool | None = None
    responder: str | None = None
    responder_name: str | None = None
    responder_profile_pic: str | None = None
    is_anonymous: bool | None = None
    response_details: _ResponseDetails = _ResponseDetails()

    @property
    def answers(self) -> tuple[AnsweredQuestion, ...]:
        return self.response_details.response_with_questions


@attrs.frozen(kw_only=True)
class MemberChangeData:
    """``MemberAdded`` / ``MemberRemoved``: ``type`` is the member's role."""

    member: str | None = None
    member_name: str | None = None
    member_profile_pic: str | None = None
    type: str | None = None


@attrs.frozen(kw_only=True)
class GroupChangeData:
    """``GroupAdded`` / ``GroupRemoved``: the sub-group that was attached or detached."""

    group_id: str | None = None
    group_name: str | None = None
    group_pic_url: str | None = None
    group_type: str | None = None


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """The envelope every event shares. ``raw`` is the payload as received."""

    event_type: str
    event_id: str | None = None
    object_id: str | None = None
    object_type: str | None = None
    context: str | None = None
    from_user: str | None = None
    from_user_id: str | None = None
    from_user_name: str | None = None
    from_user_profile_pic: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class TextMessageCreatedEvent(WebhookEvent):
    data: TextMessageData


@attrs.frozen(kw_only=True)
class AttachmentCreatedEvent(WebhookEvent):
    data: AttachmentData


@attrs.frozen(kw_only=True)
class AnnouncementEvent(WebhookEvent):
    data: AnnouncementData


@attrs.frozen(kw_only=True)
class ActionCreatedEvent(WebhookEvent):
    data: ActionCreatedData


@attrs.frozen(kw_only=True)
class SurveyCreatedEvent(WebhookEvent):
    data: ActionCreatedData


@attrs.frozen(kw_only=True)
class PollCreatedEvent(WebhookEvent):
    data: ActionCreatedData


@attrs.frozen(kw_only=True)
class LetsMeetCreatedEvent(WebhookEvent):
    data: ActionCreatedData


@attrs.frozen(kw_only=True)
class JobCreatedEvent(WebhookEvent):
    data: JobCreatedData


@attrs.frozen(kw_only=True)
class JobResponseEvent(WebhookEvent):
    data: JobResponseData


@attrs.frozen(kw_only=True)
class ActionResponseEvent(WebhookEvent):
    data: ResponseData


@attrs.frozen(kw_only=True)
class SurveyResponseEvent(WebhookEvent):
    data: ResponseData


@attrs.frozen(kw_only=True)
class PollResponseEvent(WebhookEvent):
    data: ResponseData


@attrs.frozen(kw_only=True)
class LetsMeetResponseEvent(WebhookEvent):
    data: ResponseData


@attrs.frozen(kw_only=True)
class MemberAddedEvent(WebhookEvent):
    data: MemberChangeData


@attrs.frozen(kw_only=True)
class MemberRemovedEvent(WebhookEvent):
    data: MemberChangeData


@attrs.frozen(kw_only=True)
class GroupAddedEvent(WebhookEvent):
    data: GroupChangeData


@attrs.frozen(kw_only=True)
class GroupRemovedEvent(WebhookEvent):
    data: GroupChangeData


@attrs.frozen(kw_only=True)
class UnknownEvent(WebhookEvent):
    """An event type this SDK does not know (or whose data did not decode): ``data`` as sent."""

    data: Mapping[str, Any] = attrs.field(factory=dict)


_EVENT_CLASSES: dict[str, tuple[type[WebhookEvent], type[Any]]] = {
    "TextMessageCreated": (TextMessageCreatedEvent, TextMessageData),
    "AttachmentCreated": (AttachmentCreatedEvent, AttachmentData),
    "Announcement": (AnnouncementEvent, AnnouncementData),
    "ActionCreated": (ActionCreatedEvent, ActionCreatedData),
    "SurveyCreated": (SurveyCreatedEvent, ActionCreatedData),
    "PollCreated": (PollCreatedEvent, ActionCreatedData),
    "LetsMeetCreated": (LetsMeetCreatedEvent, ActionCreatedData),
    "JobCreated": (JobCreatedEvent, JobCreatedData),
    "JobResponse": (JobResponseEvent, JobResponseData),
    "ActionResponse": (ActionResponseEvent, ResponseData),
    "SurveyResponse": (SurveyResponseEvent, ResponseData),
    "PollResponse": (PollResponseEvent, ResponseData),
    "LetsMeetResponse": (LetsMeetResponseEvent, ResponseData),
    "MemberAdded": (MemberAddedEvent, MemberChangeData),
    "MemberRemoved": (MemberRemovedEvent, MemberChangeData),
    "GroupAdded": (GroupAddedEvent, GroupChangeData),
    "GroupRemoved": (GroupRemovedEvent, GroupChangeData),
}
_BY_LOWER = {name.lower(): (name, *classes) for name, classes in _EVENT_CLASSES.items()}

#: The 17 event type names the API reference lists (13 documented + 4 from the Postman sample).
EVENT_TYPES: tuple[str, ...] = tuple(_EVENT_CLASSES)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def decode_event(payload: Mapping[str, Any]) -> WebhookEvent:
    """Decode one delivery into its typed event; unknown or undecodable data → `UnknownEvent`."""
    keys = {str(k).lower(): v for k, v in payload.items()}
    data = keys.get("data")
    if not isinstance(data, Mapping):
        data = {k: v for k, v in payload.items() if str(k).lower() not in _ENVELOPE}
    raw_type = _text(keys.get("eventtype")) or ""
    envelope: dict[str, Any] = {
        "event_id": _text(keys.get("eventid")),
        "object_id": _text(keys.get("objectid")),
        "object_type": _text(keys.get("objecttype")),
        "context": _text(keys.get("context")),
        "from_user": _text(keys.get("fromuser")),
        "from_user_id": _text(keys.get("fromuserid")),
        "from_user_name": _text(keys.get("fromusername")),
        "from_user_profile_pic": _text(keys.get("fromuserprofilepic")),
        "raw": payload,
    }
    known = _BY_LOWER.get(raw_type.lower())
    if known is not None:
        name, cls, data_type = known
        try:
            typed = structure(data, data_type)
        except (cattrs.BaseValidationError, TypeError, ValueError):
            pass
        else:
            return cls(event_type=name, data=typed, **envelope)  # type: ignore[call-arg]
    return UnknownEvent(event_type=raw_type, data=dict(data), **envelope)
