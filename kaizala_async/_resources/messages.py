"""``client.messages`` and ``client.media`` (API T1, D1, D2)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import PurePath
from typing import IO, Any

import anyio

from kaizala_async._constants import MAX_MESSAGE_LENGTH
from kaizala_async._errors import ValidationError
from kaizala_async._models.content import MediaResource, SentMessage
from kaizala_async._validate import check_bool, check_id, check_text, check_url, phone_list, segment

from ._base import Resource

__all__ = ["MEDIA_TYPES", "MediaSource", "MediaUploads", "MessagesResource"]

#: Supported extensions and their MIME types (API reference, "Media"). The service answers 415 when the
#: file part has no proper content type, so it is never left to chance or to the platform.
MEDIA_TYPES: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".3gpp": "video/3gpp",
}

#: What `MediaUploads.upload` reads: bytes, a path, or an open binary file.
MediaSource = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]


class MessagesResource(Resource):
    """Text messages (API T1)."""

    async def send(
        self,
        group_id: str,
        text: str,
        *,
        subscribers: Iterable[str] | None = None,
        send_to_all_subscribers: bool = False,
        reply_to: str | None = None,
    ) -> SentMessage:
        """Send ``text`` (at most 4000 characters) to a group.

        For a public group, ``send_to_all_subscribers`` or ``subscribers`` (phone numbers) reach
        its subscribers; those it could not reach are in ``SentMessage.failed_result``.
        ``reply_to`` is the ``reference_id`` of the message answered. A send is never repeated
        after it may have reached the service.
        """
        path = f"/groups/{segment(group_id, 'group_id')}/messages"
        body: dict[str, Any] = {"message": check_text(text, "text", most=MAX_MESSAGE_LENGTH)}
        if check_bool(send_to_all_subscribers, "send_to_all_subscribers"):
            body["sendToAllSubscribers"] = True
        if subscribers is not None:
            body["subscribers"] = phone_list(subscribers, "subscribers", allow_empty=False)
        if reply_to is not None:
            body["replyToReferenceId"] = check_id(reply_to, "reply_to")
        data = await self._send("POST", path, json=body)
        return self._decode(data, SentMessage, f"POST {path}")


def _media_type(filename: str, content_type: str | None) -> str:
    extension = PurePath(filename).suffix.lower()
    if extension not in MEDIA_TYPES:
        raise ValidationError(
            "filename",
            f"{extension or 'no extension'} is not a supported media type "
            f"({', '.join(sorted(MEDIA_TYPES))})",
        )
    if content_type is None:
        return MEDIA_TYPES[extension]
    if not isinstance(content_type, str) or "/" not in content_type:
        raise ValidationError("content_type", "must be a MIME type such as 'image/png'")
    return content_type


class MediaUploads(Resource):
    """Uploads (API D1, D2): the returned ``media_resource`` goes into a media action body."""

    async def upload(
        self,
        source: MediaSource,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> MediaResource:
        """Upload bytes, a file path or an open binary file (multipart, part ``files``).

        ``filename`` is required for bytes and defaults to the path's (or file's) name; its
        extension must be a supported one, and sets the content type unless ``content_type``
        is given. Files are read whole (the service documents no size limit or streaming).
        """
        data, name = await _read(source, filename)
        if not data:
            raise ValidationError("source", "is empty")
        kind = _media_type(name, content_type)
        files = {"files": (PurePath(name).name, data, kind)}
        answer = await self._send("POST", "/media", files=files)
        return self._decode(answer, MediaResource, "POST /media")

    async def upload_url(self, url: str) -> MediaResource:
        """Have the service fetch the media at ``url`` (D2)."""
        answer = await self._send("POST", "/media/url", json={"mediaUrl": check_url(url, "url")})
        return self._decode(answer, MediaResource, "POST /media/url")


async def _read(source: object, filename: str | None) -> tuple[bytes, str]:
    if filename is not None:
        check_text(filename, "filename")
    if isinstance(source, bytes | bytearray | memoryview):
        if filename is None:
            raise ValidationError("filename", "is required when uploading bytes")
        return bytes(source), filename
    if isinstance(source, str | os.PathLike):
        path = anyio.Path(os.fspath(source))
        name = filename or path.name
        _media_type(name, None)  # a bad extension fails before the file is read
        try:
            return await path.read_bytes(), name
        except OSError as exc:
            raise ValidationError("source", f"cannot read {path.name!r}: {exc.strerror}") from None
    read = getattr(source, "read", None)
    if callable(read):
        name = filename or os.path.basename(str(getattr(source, "name", "") or ""))
        if not name:
            raise ValidationError("filename", "is required for a file object without a name")
        _media_type(name, None)
        data = await anyio.to_thread.run_sync(read)
        if not isinstance(data, bytes):
            raise ValidationError("source", "must be opened in binary mode ('rb')")
        return data, name
    raise ValidationError(
        "source", f"must be bytes, a file path or an open binary file, not {type(source).__name__}"
    )
