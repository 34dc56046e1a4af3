"""Emulated actions: send (C1), list (C2), details (C3) and respond (C4); the events they raise."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import attrs

from ._content import ContentError, iso
from ._content import bad_content as _bad

__all__ = ["ACTION_TYPES", "MEDIA_TYPES", "Action", "Actions"]

MEDIA_TYPES = {
    "image": "Image",
    "album": "Album",
    "audio": "Audio",
    "document": "Document",
    "video": "Video",
}
ACTION_TYPES = {
    **MEDIA_TYPES,
    "announcement": "Announcement",
    "job": "Job",
    "poll": "Poll",
    "letsmeet": "LetsMeet",
    "survey": "Survey",
}
LISTABLE = {
    "image",
    "job",
    "survey",
    "poll",
    "letsmeet",
    "photowithlocation",
    "sharelocation",
    "document",
}
QUESTION_TYPES = {
    "singleoption",
    "multioption",
    "text",
    "image",
    "numeric",
    "date",
    "datetime",
    "location",
    "attachmentlist",
}


@attrs.define
class Action:
    action_id: str
    reference_id: str
    group_id: str
    action_type: str  # PascalCase, or the package id for a custom action
    body: dict[str, Any]
    sender: str
    sent_at: float
    responses: dict[str, dict[str, Any]] = attrs.field(factory=dict)


class Actions:
    """Every action sent, by id; ``is_media`` says whether a value is a /media resource."""

    def __init__(self, is_media: Callable[[object], bool]) -> None:
        self.is_media = is_media
        self.actions: dict[str, Action] = {}

    def send(
        self, group_id: str, data: dict[str, Any], sender: str, now: float
    ) -> tuple[Action, list[tuple[str, dict[str, Any]]]]:
        """Validate and store an action; returns it and the events it raises."""
        body = data.get("actionbody")
        if not isinstance(body, dict):
            raise _bad("actionBody must be an object")
        package = data.get("id")
        raw_type = data.get("actiontype")
        if package is None and not isinstance(raw_type, str):
            raise _bad("one of actionType or id is required")
        action_type = (
            package
            if isinstance(package, str) and package
            else ACTION_TYPES.get(str(raw_type).lower())
        )
        if action_type is None:
            raise _bad(f"actionType {raw_type!r} cannot be sent")
        self._check_body(action_type, body, custom=bool(package))
        action = Action(
            str(uuid.uuid4()), str(uuid.uuid4()), group_id, action_type, body, sender, now
        )
        self.actions[action.action_id] = action
        events: list[tuple[str, dict[str, Any]]] = []
        title = str(body.get("title") or body.get("question") or "")
        created = {
            "actionId": action.action_id,
            "groupId": group_id,
            "actionType": action_type,
            "title": title,
        }
        # Where it happened, as the text-message event says it (API reference K2).
        where = {"groupId": group_id, "sourceGroupId": group_id, "messageId": action.reference_id}
        if action_type in MEDIA_TYPES.values():
            events.append(
                (
                    "AttachmentCreated",
                    {
                        "media": [
                            {
                                "mediaUrl": f"https://media.kaizala.emulator/{action.reference_id}",
                                "mediaFileName": f"{action.reference_id}.bin",
                            }
                        ],
                        "actionType": action_type,
                        "caption": str(body.get("caption") or ""),
                        **where,
                    },
                )
            )
        elif action_type == "Announcement":
            media = [item for m in body.get("mediaresources") or [] if m
                     for item in _announcement_media(str(m))]  # fmt: skip
            events.append(
                (
                    "Announcement",
                    {
                        "title": title,
                        "text": str(body.get("message") or ""),
                        "media": media,
                        **where,
                    },
                )
            )
        elif action_type == "Job":
            events.append(
                (
                    "JobCreated",
                    {
                        "actionId": action.action_id,
                        "groupId": group_id,
                        "title": title,
                        "dueDate": iso(now + 3600 * int(body.get("duedate") or 24)),
                        "assignedTo": list(body["assignedto"]),
                    },
                )
            )
        elif action_type == "Survey":
            events.append(("SurveyCreated", created | {"surveyTitle": title}))
        elif action_type == "Poll":
            events.append(("PollCreated", created))
        elif action_type == "LetsMeet":
            events.append(("LetsMeetCreated", created))
        events.append(("ActionCreated", created | {"actionTitle": title}))
        return action, events

    def _check_body(self, action_type: str, body: dict[str, Any], *, custom: bool) -> None:
        def text(key: str, label: str) -> None:
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise _bad(f"actionBody.{label} is required")

        if custom:
            return
        if action_type in MEDIA_TYPES.values():
            if not self.is_media(body.get("mediaresource")):
                raise _bad("actionBody.mediaResource must come from /media")
        elif action_type == "Announcement":
            text("message", "message")
        elif action_type == "Job":
            text("title", "title")
            assigned = body.get("assignedto")
            if not isinstance(assigned, list) or not assigned:
                raise _bad("actionBody.assignedTo must be a non-empty list of phone numbers")
        elif action_type == "Poll":
            text("question", "question")
            choices = body.get("choices")
            if (
                not isinstance(choices, list)
                or len(choices) < 2
                or not all(isinstance(c, dict) and c.get("title") for c in choices)
            ):
                raise _bad("actionBody.choices needs at least two {title} entries")
        elif action_type == "LetsMeet":
            text("title", "title")
            text("startingtime", "startingTime")
        elif action_type == "Survey":
            text("title", "title")
            questions = body.get("questions")
            if not isinstance(questions, list) or not questions:
                raise _bad("actionBody.questions must be a non-empty list")
            for q in questions:
                if (
                    not isinstance(q, dict)
                    or not q.get("title")
                    or str(q.get("type", "")).lower() not in QUESTION_TYPES
                ):
                    raise _bad("each question needs a title and a known type")

    def summary(self, action: Action) -> dict[str, Any]:
        body, kind = action.body, action.action_type
        responses = len(action.responses)
        details: dict[str, Any] = {"actionId": action.action_id}
        if kind == "Image":
            details = {"imageUrl": f"https://media.kaizala.emulator/{action.reference_id}.jpg"}
        elif kind == "Job":
            done = [r for r in action.responses.values() if r.get("iscompleted")]
            details |= {
                "title": body.get("title"),
                "assigneeCount": len(body.get("assignedto", [])),
                "responseCount": responses,
                "isCompleted": bool(done) and len(done) >= len(body.get("assignedto", [])),
            }
        elif kind == "Poll":
            details |= {
                "question": body.get("question"),
                "isSenderOnly": bool(body.get("issenderonly", False)),
                "expiryDate": iso(action.sent_at + 3600 * int(body.get("expiryinhours") or 720)),
                "choices": [
                    {"title": c.get("title"), "image": c.get("image", "")}
                    for c in body.get("choices", [])
                ],
            }
        elif kind == "LetsMeet":
            details |= {
                "title": body.get("title"),
                "startingTime": body.get("startingtime"),
                "agenda": body.get("agenda", ""),
                "duration": int(body.get("duration") or body.get("durationinmins") or 30),
                "isSenderOnly": bool(body.get("issenderonly", False)),
                "place": body.get("place") or {},
            }
        else:
            details |= {
                "title": body.get("title"),
                "responseCount": responses,
                "expiryDate": iso(action.sent_at + 3600 * int(body.get("duedate") or 24)),
            }
        return {
            "referenceId": action.reference_id,
            "actionType": kind,
            "sender": action.sender,
            "sentAt": iso(action.sent_at),
            "actionBody": details,
        }

    def of_type(self, group_id: str, query: dict[str, str]) -> dict[str, Any]:
        kind = query.get("actiontype", "")
        if kind.lower() not in LISTABLE:
            raise _bad("actionType is required and must be a listable type")
        try:
            count = int(query.get("count") or 30)
            since = float(query.get("fromdate") or 0)
        except ValueError:
            raise _bad("count and fromDate must be numbers") from None
        since = since / 1000 if since >= 1e11 else since
        found = sorted(
            (
                a
                for a in self.actions.values()
                if a.group_id == group_id
                and a.action_type.lower() == kind.lower()
                and a.sent_at >= since
            ),
            key=lambda a: a.sent_at,
        )
        return {"actions": [self.summary(a) for a in found[:count]], "hasMore": len(found) > count}

    def details(self, action: Action, with_responses: bool) -> dict[str, Any]:
        summary = self.summary(action)
        details = dict(summary["actionBody"])
        if with_responses:
            # Stored as received, keys lower-cased for leniency: answered in lowerCamelCase.
            details["responses"] = [
                _response_item(action.action_type, rid, r) for rid, r in action.responses.items()
            ]
        return {
            "actionType": action.action_type,
            "actionDetails": details,
            "sender": action.sender,
            "sentAt": summary["sentAt"],
        }

    def respond(
        self, action: Action, data: dict[str, Any], responder: str
    ) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        body = data.get("actionbody")
        if not isinstance(body, dict):
            raise _bad("actionBody must be an object")
        if action.action_type == "Job":
            if not isinstance(body.get("iscompleted"), bool | str):
                raise _bad("actionBody.isCompleted is required for a Job")
        elif action.action_type in {"Survey"} or action.action_type not in ACTION_TYPES.values():
            if not isinstance(body.get("answers"), list):
                raise _bad("actionBody.answers must be a list")
        else:
            raise _bad(f"{action.action_type} actions take no responses through the API")
        response_id = str(data.get("responseid") or "")
        update = bool(response_id) and response_id in action.responses
        if response_id and not update:
            raise ContentError(404, f"response {response_id} not found", "NotFound")
        response_id = response_id or str(uuid.uuid4())
        action.responses[response_id] = {"responder": responder} | body
        common = {
            "actionId": action.action_id,
            "groupId": action.group_id,
            "responseId": response_id,
        }
        specific: tuple[str, dict[str, Any]]
        if action.action_type == "Job":
            done = body["iscompleted"] in (True, "true", "True")
            specific = (
                "JobResponse",
                common
                | {
                    "responseDetails": {
                        "response": {
                            "assignee": responder,
                            "assigneeName": responder,
                            "assigneeProfilePic": "",
                            "isCompleted": done,
                        }
                    }
                },
            )
        else:
            specific = (
                "SurveyResponse",
                common
                | {
                    "isUpdateResponse": update,
                    "responder": responder,
                    "responderName": responder,
                    "responderProfilePic": "",
                    "isAnonymous": False,
                    "responseDetails": {
                        "responseWithQuestions": _answered(action, body["answers"])
                    },
                },
            )
        return response_id, [specific, ("ActionResponse", specific[1])]


def _answered(action: Action, answers: list[Any]) -> list[dict[str, Any]]:
    """Each answer with its question (answers go by index, API C4): the survey's title, type and
    options; a custom action's answers have no stored questions and are typed ``Text``."""
    questions = action.body.get("questions")
    questions = questions if isinstance(questions, list) else []
    answered = []
    for index, answer in enumerate(answers):
        question = questions[index] if index < len(questions) else {}
        question = question if isinstance(question, dict) else {}
        answered.append(
            {
                "title": str(question.get("title") or index),
                "type": _QUESTION_TYPE_NAMES.get(str(question.get("type", "text")).lower(), "Text"),
                "options": [
                    {"title": str(o.get("title", ""))}
                    for o in question.get("options") or []
                    if isinstance(o, dict)
                ],
                "answer": answer,
            }
        )
    return answered


_QUESTION_TYPE_NAMES = {
    name.lower(): name
    for name in (
        "SingleOption",
        "MultiOption",
        "Text",
        "Image",
        "Numeric",
        "Date",
        "DateTime",
        "Location",
        "AttachmentList",
    )
}


def _camel_table() -> dict[str, str]:
    """Lower-cased key -> the service's lowerCamelCase, from the SDK's body models' fields."""
    from kaizala_async._converter import to_camel
    from kaizala_async._models import actions, responses

    table = {"responsename": "responseName", "responder": "responder"}
    models = {**vars(actions), **vars(responses)}.values()
    for model in models:
        if isinstance(model, type) and attrs.has(model):
            for f in attrs.fields(model):
                camel = to_camel(f.alias or f.name)
                table[camel.lower()] = camel
    return table


_CAMEL = _camel_table()


def _camelize(value: Any) -> Any:
    """``value`` with the keys the table knows back in lowerCamelCase (others as they are)."""
    if isinstance(value, dict):
        return {_CAMEL.get(k, k): _camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camelize(v) for v in value]
    return value


def _announcement_media(resource: str) -> list[dict[str, str]]:
    """An Announcement event's media items, as the service's sample shows them: ``{url,
    fileName}`` per file of the media resource (its base64 JSON names each file's URL and name);
    a resource that does not decode is given as its own URL."""
    try:
        files = json.loads(base64.b64decode(resource, validate=True)).get("Files")
    except (ValueError, AttributeError):
        files = None
    if not isinstance(files, list):
        return [{"url": resource, "fileName": resource.rsplit("/", 1)[-1]}]
    return [
        {"url": str(f.get("Url") or ""), "fileName": str(f.get("Name") or "")}
        for f in files
        if isinstance(f, dict)
    ]


def _response_item(action_type: str, response_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    """A C3 ``getDetails`` response item, as the API reference recommends (its JobResponse and
    SurveyResponse events' fields): a Job's says its assignee, a Survey's its responder, each
    with a name (the emulator knows users by number: the number)."""
    item: dict[str, Any] = dict(_camelize(stored))
    who = str(item.pop("responder", ""))
    if action_type == "Job":
        return {"responseId": response_id, "assignee": who, "assigneeName": who, **item}
    return {"responseId": response_id, "responder": who, "responderName": who, **item}
