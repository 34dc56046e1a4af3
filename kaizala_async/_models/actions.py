"""Typed bodies for sending actions (API C1); those responding to them (C4) are in ``responses``.

Every body checks itself when it is built, so a bad action fails with a `ValidationError`
naming the field before anything is sent. ``to_json()`` gives the wire ``actionBody``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import attrs

from kaizala_async._errors import ValidationError
from kaizala_async._validate import check_count, check_id, check_text, phone_list

from .content import Place

__all__ = [  # the response bodies live in .responses and are re-exported here
    "ActionBody",
    "ActionProperty",
    "AlbumAction",
    "AnnouncementAction",
    "AudioAction",
    "CustomAction",
    "DocumentAction",
    "ImageAction",
    "JobAction",
    "JobResponseBody",
    "LetsMeetAction",
    "PollAction",
    "PollChoice",
    "QuestionType",
    "ResponseBody",
    "SurveyAction",
    "SurveyQuestion",
    "SurveyResponseBody",
    "VideoAction",
]

QuestionType = Literal[
    "SingleOption",
    "MultiOption",
    "Text",
    "Image",
    "Numeric",
    "DateTime",
    "Location",
    "AttachmentList",
]
_QUESTION_TYPES = frozenset(QuestionType.__args__)  # type: ignore[attr-defined]
_PROPERTY_TYPES = frozenset(
    {
        "Text",
        "Numeric",
        "Location",
        "DateTime",
        "StringList",
        "Attachment",
        "StringSet",
        "AttachmentList",
    }
)


def _frozen(values: Any) -> Any:
    """Lists become tuples; a string or a non-iterable is kept so the check names the field."""
    if isinstance(values, str | bytes):
        return values
    try:
        return tuple(values)
    except TypeError:
        return values


def _strs(values: Iterable[str]) -> tuple[str, ...]:
    return _frozen(values)  # type: ignore[no-any-return]


def _choices(values: Iterable[PollChoice | str]) -> tuple[PollChoice | str, ...]:
    return _frozen(values)  # type: ignore[no-any-return]


def _questions(values: Iterable[SurveyQuestion]) -> tuple[SurveyQuestion, ...]:
    return _frozen(values)  # type: ignore[no-any-return]


def _properties(values: Iterable[ActionProperty]) -> tuple[ActionProperty, ...]:
    return _frozen(values)  # type: ignore[no-any-return]


def _answers(values: Iterable[Any]) -> tuple[Any, ...]:
    return _frozen(values)  # type: ignore[no-any-return]


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _texts(values: object, argument: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValidationError(argument, "must be a list of strings")
    return tuple(check_text(v, f"{argument}[{i}]") for i, v in enumerate(values))


def _place(place: Place | None, argument: str) -> dict[str, Any] | None:
    if place is None:
        return None
    if not isinstance(place, Place):
        raise ValidationError(argument, "must be a kaizala_async.Place")
    return {"latitude": place.latitude, "longitude": place.longitude, "name": place.name}


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


class ActionBody:
    """Base of every sendable action body."""

    #: The C1 ``actionType`` (None for a custom action, which is sent by package ``id``).
    action_type: ClassVar[str | None] = None

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


@attrs.frozen(kw_only=True)
class _Media(ActionBody):
    media_resource: str = attrs.field()
    caption: str | None = None

    @media_resource.validator
    def _check(self, attribute: attrs.Attribute[str], value: object) -> None:
        check_id(value, "media_resource")

    def to_json(self) -> dict[str, Any]:
        return _drop_none({"mediaResource": self.media_resource, "caption": self.caption})


@attrs.frozen(kw_only=True)
class ImageAction(_Media):
    """A picture (``media_resource`` from ``client.media.upload``), with an optional caption."""

    action_type: ClassVar[str | None] = "Image"


@attrs.frozen(kw_only=True)
class AlbumAction(_Media):
    """An album of pictures."""

    action_type: ClassVar[str | None] = "Album"


@attrs.frozen(kw_only=True)
class AudioAction(_Media):
    """An audio file (.mp3, .wav)."""

    action_type: ClassVar[str | None] = "Audio"


@attrs.frozen(kw_only=True)
class DocumentAction(_Media):
    """A document (.pdf, .docx, .xlsx, .pptx, ...)."""

    action_type: ClassVar[str | None] = "Document"


@attrs.frozen(kw_only=True)
class VideoAction(_Media):
    """A video (.mp4, .3gpp)."""

    action_type: ClassVar[str | None] = "Video"


@attrs.frozen(kw_only=True)
class AnnouncementAction(ActionBody):
    """An announcement: ``message`` required, ``title`` recommended, images optional."""

    action_type: ClassVar[str | None] = "Announcement"
    message: str
    title: str | None = None
    media_resources: tuple[str, ...] = attrs.field(default=(), converter=_strs)

    def __attrs_post_init__(self) -> None:
        check_text(self.message, "message")
        if self.title is not None:
            check_text(self.title, "title")
        _texts(self.media_resources, "media_resources")

    def to_json(self) -> dict[str, Any]:
        body = _drop_none({"title": self.title, "message": self.message})
        if self.media_resources:
            body["mediaResources"] = list(self.media_resources)
        return body


@attrs.frozen(kw_only=True)
class JobAction(ActionBody):
    """A job assigned to phone numbers, due ``due_in_hours`` from now (service default 24)."""

    action_type: ClassVar[str | None] = "Job"
    title: str
    assigned_to: tuple[str, ...] = attrs.field(converter=_strs)
    due_in_hours: int | None = None

    def __attrs_post_init__(self) -> None:
        check_text(self.title, "title")
        phone_list(self.assigned_to, "assigned_to", allow_empty=False)
        if self.due_in_hours is not None:
            check_count(self.due_in_hours, "due_in_hours")

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "title": self.title,
                "assignedTo": list(self.assigned_to),
                "dueDate": self.due_in_hours,
            }
        )


@attrs.frozen(kw_only=True)
class PollChoice:
    """One poll choice; ``image`` is a media resource."""

    title: str
    image: str | None = None

    def __attrs_post_init__(self) -> None:
        check_text(self.title, "choices.title")


@attrs.frozen(kw_only=True)
class PollAction(ActionBody):
    """A quick poll with at least two choices (plain strings or `PollChoice`)."""

    action_type: ClassVar[str | None] = "Poll"
    question: str
    choices: tuple[PollChoice | str, ...] = attrs.field(converter=_choices)
    expiry_in_hours: int | None = None
    is_sender_only: bool | None = None

    def __attrs_post_init__(self) -> None:
        check_text(self.question, "question")
        if not _is_list(self.choices):
            raise ValidationError("choices", "must be a list of choices")
        if len(self.choices) < 2:
            raise ValidationError("choices", "a poll needs at least two choices")
        for i, choice in enumerate(self.choices):
            if not isinstance(choice, PollChoice):
                check_text(choice, f"choices[{i}]")
        if self.expiry_in_hours is not None:
            check_count(self.expiry_in_hours, "expiry_in_hours")

    def to_json(self) -> dict[str, Any]:
        choices = [
            _drop_none({"title": c.title, "image": c.image})
            if isinstance(c, PollChoice)
            else {"title": c}
            for c in self.choices
        ]
        return _drop_none(
            {
                "question": self.question,
                "choices": choices,
                "expiryInHours": self.expiry_in_hours,
                "isSenderOnly": self.is_sender_only,
            }
        )


@attrs.frozen(kw_only=True)
class LetsMeetAction(ActionBody):
    """A meeting invitation; ``starting_time`` must carry a time zone."""

    action_type: ClassVar[str | None] = "LetsMeet"
    title: str
    starting_time: datetime
    duration_minutes: int = 30
    place: Place | None = None
    agenda: str | None = None
    is_sender_only: bool | None = None

    def __attrs_post_init__(self) -> None:
        check_text(self.title, "title")
        if not isinstance(self.starting_time, datetime) or self.starting_time.tzinfo is None:
            raise ValidationError("starting_time", "must be a timezone-aware datetime")
        check_count(self.duration_minutes, "duration_minutes")
        _place(self.place, "place")

    def to_json(self) -> dict[str, Any]:
        start = self.starting_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return _drop_none(
            {
                "title": self.title,
                "startingTime": start,
                "duration": self.duration_minutes,
                "place": _place(self.place, "place"),
                "agenda": self.agenda,
                "isSenderOnly": self.is_sender_only,
            }
        )


@attrs.frozen(kw_only=True)
class SurveyQuestion:
    """A survey question; ``options`` are required for SingleOption and MultiOption."""

    title: str
    type: QuestionType
    options: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    is_invisible: bool | None = None

    def __attrs_post_init__(self) -> None:
        check_text(self.title, "questions.title")
        if self.type not in _QUESTION_TYPES:
            raise ValidationError(
                "questions.type", f"must be one of {sorted(_QUESTION_TYPES)}, not {self.type!r}"
            )
        options = _texts(self.options, "questions.options")
        if self.type in {"SingleOption", "MultiOption"} and not options:
            raise ValidationError("questions.options", f"a {self.type} question needs options")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"title": self.title, "type": self.type}
        if self.options:
            body["options"] = [{"title": o} for o in self.options]
        if self.is_invisible is not None:
            body["isInvisible"] = self.is_invisible
        return body


@attrs.frozen(kw_only=True)
class ActionProperty:
    """A property of a custom action package instance."""

    name: str
    type: str
    value: str

    def __attrs_post_init__(self) -> None:
        check_text(self.name, "properties.name")
        if self.type not in _PROPERTY_TYPES:
            raise ValidationError(
                "properties.type", f"must be one of {sorted(_PROPERTY_TYPES)}, not {self.type!r}"
            )
        if not isinstance(self.value, str):
            raise ValidationError("properties.value", "must be a string")


@attrs.frozen(kw_only=True)
class SurveyAction(ActionBody):
    """A survey with at least one question."""

    action_type: ClassVar[str | None] = "Survey"
    title: str
    questions: tuple[SurveyQuestion, ...] = attrs.field(converter=_questions)
    due_in_hours: int | None = None
    is_anonymous: bool | None = None
    is_sender_only: bool | None = None
    accept_multiple_responses: bool | None = None

    def __attrs_post_init__(self) -> None:
        check_text(self.title, "title")
        if not isinstance(self.questions, Sequence) or not self.questions:
            raise ValidationError("questions", "a survey needs at least one question")
        if not all(isinstance(q, SurveyQuestion) for q in self.questions):
            raise ValidationError("questions", "must be SurveyQuestion objects")
        if self.due_in_hours is not None:
            check_count(self.due_in_hours, "due_in_hours")

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "title": self.title,
                "dueDate": self.due_in_hours,
                "isAnonymous": self.is_anonymous,
                "isSenderOnly": self.is_sender_only,
                "acceptMultipleResponses": self.accept_multiple_responses,
                "questions": [q.to_json() for q in self.questions],
            }
        )


@attrs.frozen(kw_only=True)
class CustomAction(ActionBody):
    """An instance of an action package, sent by its ``package_id`` (C1 ``id``).

    ``properties`` fill the package's fields; ``title`` overrides its title; ``validity_hours``
    is sent as ``validity``. ``extra`` carries any other documented survey field as-is.
    """

    action_type: ClassVar[str | None] = None
    package_id: str
    properties: tuple[ActionProperty, ...] = attrs.field(default=(), converter=_properties)
    title: str | None = None
    validity_hours: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        check_id(self.package_id, "package_id")
        if not all(isinstance(p, ActionProperty) for p in self.properties):
            raise ValidationError("properties", "must be ActionProperty objects")
        if self.validity_hours is not None:
            check_count(self.validity_hours, "validity_hours")

    def to_json(self) -> dict[str, Any]:
        body = dict(self.extra)
        if self.properties:
            body["properties"] = [
                {"name": p.name, "type": p.type, "value": p.value} for p in self.properties
            ]
        if self.title is not None:
            body["title"] = self.title
        if self.validity_hours is not None:
            body["validity"] = self.validity_hours
        return body


from .responses import JobResponseBody, ResponseBody, SurveyResponseBody  # noqa: E402
