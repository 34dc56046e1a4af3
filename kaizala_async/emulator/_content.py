"""Emulated content endpoints: media (D1, D2), actions (C1-C4), reactions (R1-R4), bots (B1-B6)
and tenant search (X1). State lives in :class:`Content`; the app routes calls here."""

from __future__ import annotations

import base64
import json
import mimetypes
import uuid
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import attrs

__all__ = ["ACTION_TYPES", "Content", "ContentError"]

#: Sendable built-in action types, and the media ones (API reference, "Action types").
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
_MEDIA_CODES = {"Image": 3, "Album": 3, "Audio": 5, "Document": 6, "Video": 10}
_EXTENSIONS = {
    "Image": {".jpg", ".jpeg", ".png"},
    "Audio": {".mp3", ".wav"},
    "Document": {".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".pdf"},
    "Video": {".mp4", ".3gpp"},
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


class ContentError(Exception):
    def __init__(self, status: int, message: str, code: str = "InvalidParameters") -> None:
        self.status, self.message, self.code = status, message, code


def _bad(message: str) -> ContentError:
    return ContentError(400, message)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ticks(seconds: float) -> int:
    """.NET ticks (100 ns since 0001-01-01), the reaction cursor's unit (API reference)."""
    return int((seconds + 62_135_596_800) * 10_000_000)


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


@attrs.define
class Reaction:
    reaction_id: str
    reference_id: str
    source_group_id: str
    user_id: str
    kind: str  # Like / Comment
    comment: str
    at: float


@attrs.define
class Bot:
    bot_user_id: str
    name: str
    profile_pic: str
    tenant: str
    creator: str
    groups: set[str] = attrs.field(factory=set)

    def as_json(self, creator_id: str) -> dict[str, Any]:
        return {
            "botUserId": self.bot_user_id,
            "name": self.name,
            "profilePic": self.profile_pic,
            "tenantId": self.tenant,
            "creatorId": creator_id,
            "creator": self.creator,
            "creatorName": self.creator,
            "creatorProfilePic": "",
            "status": "Active",
        }


class Content:
    def __init__(self, max_media_bytes: int) -> None:
        self.max_media_bytes = max_media_bytes
        self.media: set[str] = set()
        self.actions: dict[str, Action] = {}
        self.reactions: list[Reaction] = []
        self.bots: dict[str, Bot] = {}

    # -- media ------------------------------------------------------------------------------
    def _resource(self, kind: str, name: str, size: int, url: str) -> str:
        payload = {
            "ActionType": _MEDIA_CODES.get(kind, 6),
            "Files": [{"Id": str(uuid.uuid4()), "Name": name, "Size": size, "Url": url}],
        }
        resource = base64.b64encode(json.dumps(payload).encode()).decode()
        self.media.add(resource)
        return resource

    def upload(self, content_type: str, body: bytes) -> dict[str, str]:
        if not content_type.lower().startswith("multipart/form-data"):
            raise ContentError(
                415, "the upload must be multipart/form-data", "UnsupportedMediaType"
            )
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        parts = (
            [p for p in message.iter_parts() if p.get_filename()] if message.is_multipart() else []
        )
        if not parts:
            raise _bad("no file part in the upload")
        part = parts[0]
        name = str(part.get_filename())
        part_type = part.get("Content-Type")
        ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        kind = next((k for k, exts in _EXTENSIONS.items() if ext in exts), None)
        if kind is None:
            raise _bad(f"unsupported file type {ext or '(none)'}")
        if part_type is None or part.get_content_type() == "application/octet-stream":
            raise ContentError(
                415, "the file part needs its MIME type as Content-Type", "UnsupportedMediaType"
            )
        data = part.get_payload(decode=True) or b""
        if len(data) > self.max_media_bytes:
            raise _bad(f"the file is larger than {self.max_media_bytes} bytes")
        return {
            "mediaResource": self._resource(
                kind, name, len(data), f"https://media.kaizala.emulator/{uuid.uuid4()}{ext}"
            )
        }

    def upload_url(self, data: dict[str, Any]) -> dict[str, str]:
        url = data.get("mediaurl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad("mediaUrl must be an http(s) URL")
        name = url.rsplit("/", 1)[-1].split("?", 1)[0] or "file"
        guessed = mimetypes.guess_type(name)[0] or ""
        kind = (
            "Image"
            if guessed.startswith("image/")
            else "Video"
            if guessed.startswith("video/")
            else "Audio"
            if guessed.startswith("audio/")
            else "Document"
        )
        return {"mediaResource": self._resource(kind, name, 0, url)}

    def is_media(self, value: object) -> bool:
        """Issued here, or shaped like the service's own: base64 JSON with ``Files`` (API reference ids)."""
        if not isinstance(value, str) or not value:
            return False
        if value in self.media:
            return True
        try:
            decoded = json.loads(base64.b64decode(value, validate=True))
        except ValueError:
            return False
        return isinstance(decoded, dict) and isinstance(decoded.get("Files"), list)

    # -- actions ----------------------------------------------------------------------------
    def send_action(
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
            media = [{"mediaUrl": str(m)} for m in body.get("mediaresources") or [] if m]
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
                        "dueDate": _iso(now + 3600 * int(body.get("duedate") or 24)),
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
                "expiryDate": _iso(action.sent_at + 3600 * int(body.get("expiryinhours") or 720)),
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
                "expiryDate": _iso(action.sent_at + 3600 * int(body.get("duedate") or 24)),
            }
        return {
            "referenceId": action.reference_id,
            "actionType": kind,
            "sender": action.sender,
            "sentAt": _iso(action.sent_at),
            "actionBody": details,
        }

    def list_actions(self, group_id: str, query: dict[str, str]) -> dict[str, Any]:
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
                {"responseId": rid} | _camelize(r) for rid, r in action.responses.items()
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
                        "responseWithQuestions": [
                            {"title": str(i), "type": "Text", "options": [], "answer": a}
                            for i, a in enumerate(body["answers"])
                        ]
                    },
                },
            )
        return response_id, [specific, ("ActionResponse", specific[1])]

    # -- reactions --------------------------------------------------------------------------
    def react(
        self, data: dict[str, Any], user_id: str, known: set[str], now: float
    ) -> dict[str, str]:
        reference, source = data.get("referenceid"), data.get("sourcegroupid")
        kind = str(data.get("reactiontype") or "").lower()
        if not isinstance(reference, str) or reference not in known:
            raise ContentError(404, "referenceId does not name a message or action", "NotFound")
        if not isinstance(source, str) or not source:
            raise _bad("sourceGroupId is required")
        if kind not in {"like", "comment"}:
            raise _bad("reactionType must be Like or Comment")
        comment = data.get("comment")
        if kind == "comment" and (not isinstance(comment, str) or not comment.strip()):
            raise _bad("comment is required for a Comment")
        reaction = Reaction(
            str(uuid.uuid4()), reference, source, user_id, kind.title(), str(comment or ""), now
        )
        self.reactions.append(reaction)
        return {"reactionId": reaction.reaction_id}

    def _counts(self, reference: str, source: str, since: int) -> dict[str, Any]:
        mine = [
            r
            for r in self.reactions
            if r.reference_id == reference and r.source_group_id == source and _ticks(r.at) > since
        ]
        return {
            "referenceId": reference,
            "reactionsCountMap": {
                "like": sum(r.kind == "Like" for r in mine),
                "comment": sum(r.kind == "Comment" for r in mine),
            },
        }

    def item_summary(self, reference: str, query: dict[str, str]) -> dict[str, Any]:
        source = query.get("sourcegroupid")
        if not source:
            raise _bad("sourceGroupId is required")
        return {"summary": [self._counts(reference, source, 0)]}

    def group_summary(self, query: dict[str, str]) -> dict[str, Any]:
        source = query.get("sourcegroupid")
        if not source:
            raise _bad("sourceGroupId is required")
        since = _cursor(query)
        fresh = [r for r in self.reactions if r.source_group_id == source and _ticks(r.at) > since]
        references = sorted({r.reference_id for r in fresh})
        cursor = max((_ticks(r.at) for r in fresh), default=since)
        return {
            "cursor": cursor,
            "summary": [self._counts(ref, source, since) for ref in references],
        }

    def reaction_details(self, reference: str, query: dict[str, str]) -> dict[str, Any]:
        source = query.get("sourcegroupid")
        kind = query.get("reactiontype", "").lower()
        if not source or kind not in {"like", "comment"}:
            raise _bad("sourceGroupId and reactionType (Like or Comment) are required")
        since = _cursor(query)
        found = sorted(
            (
                r
                for r in self.reactions
                if r.reference_id == reference
                and r.source_group_id == source
                and r.kind.lower() == kind
                and _ticks(r.at) > since
            ),
            key=lambda r: r.at,
        )[:50]
        items = [
            {"reactionId": r.reaction_id, "userId": r.user_id, "lastModifiedTime": int(r.at * 1000)}
            | ({"comment": r.comment} if r.kind == "Comment" else {})
            for r in found
        ]
        return {
            "cursor": max((_ticks(r.at) for r in found), default=since),
            "reactionDetails": items,
        }

    # -- bots -------------------------------------------------------------------------------
    def create_bot(self, data: dict[str, Any], tenant: str, creator: str) -> dict[str, str]:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("name is required")
        bot = Bot(str(uuid.uuid4()), name, str(data.get("profilepic") or ""), tenant, creator)
        self.bots[bot.bot_user_id] = bot
        return {"botUserId": bot.bot_user_id}

    def bot(self, bot_id: str, creator: str) -> Bot:
        bot = self.bots.get(bot_id)
        if bot is None or bot.creator != creator:
            raise ContentError(404, f"bot {bot_id} not found", "NotFound")
        return bot


def _cursor(query: dict[str, str]) -> int:
    try:
        return int(query.get("cursor") or 0)
    except ValueError:
        raise _bad("cursor must be a value from a previous answer") from None


def expiry_in(hours: int, now: float) -> str:
    return _iso(now + timedelta(hours=hours).total_seconds())


def _camel_table() -> dict[str, str]:
    """Lower-cased key -> the service's lowerCamelCase, from the SDK's body models' fields."""
    from kaizala_async._converter import to_camel
    from kaizala_async._models import actions as bodies

    table = {"responsename": "responseName", "responder": "responder"}
    for model in vars(bodies).values():
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
