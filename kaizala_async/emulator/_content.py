"""Emulated content: media (D1, D2), reactions (R1-R4) and bots (B1-B6). State lives in
`Content`; the route handlers call it. Actions are `._actions`'."""

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

__all__ = ["Content", "ContentError", "bad_content", "iso"]

#: Sendable built-in action types, and the media ones (API reference, "Action types").
_MEDIA_CODES = {"Image": 3, "Album": 3, "Audio": 5, "Document": 6, "Video": 10}
_EXTENSIONS = {
    "Image": {".jpg", ".jpeg", ".png"},
    "Audio": {".mp3", ".wav"},
    "Document": {".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".pdf"},
    "Video": {".mp4", ".3gpp"},
}


class ContentError(Exception):
    def __init__(self, status: int, message: str, code: str = "InvalidParameters") -> None:
        self.status, self.message, self.code = status, message, code


def bad_content(message: str) -> ContentError:
    return ContentError(400, message)


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ticks(seconds: float) -> int:
    """.NET ticks (100 ns since 0001-01-01), the reaction cursor's unit (API reference)."""
    return int((seconds + 62_135_596_800) * 10_000_000)


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
            raise bad_content("no file part in the upload")
        part = parts[0]
        name = str(part.get_filename())
        part_type = part.get("Content-Type")
        ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        kind = next((k for k, exts in _EXTENSIONS.items() if ext in exts), None)
        if kind is None:
            raise bad_content(f"unsupported file type {ext or '(none)'}")
        if part_type is None or part.get_content_type() == "application/octet-stream":
            raise ContentError(
                415, "the file part needs its MIME type as Content-Type", "UnsupportedMediaType"
            )
        data = part.get_payload(decode=True) or b""
        if len(data) > self.max_media_bytes:
            raise bad_content(f"the file is larger than {self.max_media_bytes} bytes")
        return {
            "mediaResource": self._resource(
                kind, name, len(data), f"https://media.kaizala.emulator/{uuid.uuid4()}{ext}"
            )
        }

    def upload_url(self, data: dict[str, Any]) -> dict[str, str]:
        url = data.get("mediaurl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise bad_content("mediaUrl must be an http(s) URL")
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

    # -- reactions --------------------------------------------------------------------------
    def react(
        self, data: dict[str, Any], user_id: str, known: set[str], now: float
    ) -> dict[str, str]:
        reference, source = data.get("referenceid"), data.get("sourcegroupid")
        kind = str(data.get("reactiontype") or "").lower()
        if not isinstance(reference, str) or reference not in known:
            raise ContentError(404, "referenceId does not name a message or action", "NotFound")
        if not isinstance(source, str) or not source:
            raise bad_content("sourceGroupId is required")
        if kind not in {"like", "comment"}:
            raise bad_content("reactionType must be Like or Comment")
        comment = data.get("comment")
        if kind == "comment" and (not isinstance(comment, str) or not comment.strip()):
            raise bad_content("comment is required for a Comment")
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
            raise bad_content("sourceGroupId is required")
        return {"summary": [self._counts(reference, source, 0)]}

    def group_summary(self, query: dict[str, str]) -> dict[str, Any]:
        source = query.get("sourcegroupid")
        if not source:
            raise bad_content("sourceGroupId is required")
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
            raise bad_content("sourceGroupId and reactionType (Like or Comment) are required")
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
            raise bad_content("name is required")
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
        raise bad_content("cursor must be a value from a previous answer") from None


def expiry_in(hours: int, now: float) -> str:
    return iso(now + timedelta(hours=hours).total_seconds())
