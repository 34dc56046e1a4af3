"""Typed bodies for responding to actions (API C4): a Job done or not, a survey's answers.

Every body checks itself when it is built (a `ValidationError` naming the field before
anything is sent); ``to_json()`` gives the wire ``actionBody``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from kaizala_async._converter import epoch_ms
from kaizala_async._errors import ValidationError

from .actions import _answers, _drop_none, _is_list, _place
from .content import Place

__all__ = ["JobResponseBody", "ResponseBody", "SurveyResponseBody"]


class ResponseBody:
    """Base of the C4 response bodies."""

    action_type: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


@attrs.frozen(kw_only=True)
class JobResponseBody(ResponseBody):
    """Mark a job done (or not done)."""

    action_type: ClassVar[str] = "Job"
    is_completed: bool

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.is_completed, bool):
            raise ValidationError("is_completed", "must be True or False")

    def to_json(self) -> dict[str, Any]:
        return {"isCompleted": self.is_completed}


@attrs.frozen(kw_only=True)
class SurveyResponseBody(ResponseBody):
    """Answers to a survey (or custom action), one per question in order.

    Answer types by question: SingleOption/Text/Image → ``str``; MultiOption/AttachmentList →
    list of ``str``; Numeric → number; DateTime → ``datetime`` (sent as epoch ms); Location →
    `Place`.
    """

    action_type: ClassVar[str] = "Survey"
    answers: tuple[Any, ...] = attrs.field(converter=_answers)
    response_name: str | None = None
    response_location: Place | None = None

    def __attrs_post_init__(self) -> None:
        if not _is_list(self.answers) or not self.answers:
            raise ValidationError("answers", "must be a non-empty list, one answer per question")
        for i, answer in enumerate(self.answers):
            if answer is None:
                raise ValidationError(f"answers[{i}]", "must not be None")
        _place(self.response_location, "response_location")

    def to_json(self) -> dict[str, Any]:
        answers: list[Any] = []
        for answer in self.answers:
            if isinstance(answer, datetime):
                answers.append(epoch_ms(answer))
            elif isinstance(answer, Place):
                answers.append({"lt": answer.latitude, "lg": answer.longitude, "n": answer.name})
            elif isinstance(answer, tuple | list):
                answers.append(list(answer))
            else:
                answers.append(answer)
        return _drop_none(
            {
                "responseName": self.response_name,
                "responseLocation": _place(self.response_location, "response_location"),
                "answers": answers,
            }
        )
