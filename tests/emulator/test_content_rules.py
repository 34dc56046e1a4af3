"""The emulator's content (``emulator._content``) on its own: media uploads (D1, D2), reactions
and their cursors (R1-R4), bots (B1-B6)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from kaizala_async.emulator._content import (
    Bot,
    Content,
    ContentError,
    _ticks,
    bad_content,
    expiry_in,
    iso,
)

BOUNDARY = "b0und"


def _multipart(name: str | None, part_type: str | None, data: bytes) -> tuple[str, bytes]:
    lines = [f"--{BOUNDARY}"]
    disposition = 'Content-Disposition: form-data; name="file"'
    lines.append(disposition + (f'; filename="{name}"' if name is not None else ""))
    if part_type is not None:
        lines.append(f"Content-Type: {part_type}")
    body = ("\r\n".join(lines) + "\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    return f"multipart/form-data; boundary={BOUNDARY}", body


def _files(resource: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(resource))
    return decoded


def _refused(call: Any, status: int, message: str, code: str = "InvalidParameters") -> None:
    with pytest.raises(ContentError) as caught:
        call()
    assert (caught.value.status, caught.value.message, caught.value.code) == (status, message, code)


def test_times_are_iso_utc_seconds_and_ticks_count_from_year_one() -> None:
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1_700_000_000.9) == "2023-11-14T22:13:20Z"
    assert expiry_in(2, 0) == "1970-01-01T02:00:00Z"
    assert _ticks(0) == 621_355_968_000_000_000
    assert _ticks(86_400) - _ticks(0) == 864_000_000_000  # a day
    at = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    assert _ticks(at) == 638_396_640_000_000_000  # DateTime(2024, 1, 1).Ticks in .NET
    error = bad_content("why")
    assert (error.status, error.message, error.code) == (400, "why", "InvalidParameters")


@pytest.mark.parametrize(
    ("name", "part_type", "code"),
    [("photo.JPG", "image/jpeg", 3), ("a.png", "image/png", 3), ("song.mp3", "audio/mpeg", 5),
     ("a.wav", "audio/wav", 5), ("report.pdf", "application/pdf", 6), ("a.docx", "application/x", 6),
     ("clip.mp4", "video/mp4", 10), ("a.3gpp", "video/3gpp", 10)],
)  # fmt: skip
def test_an_upload_is_a_media_resource_of_its_files_kind(
    name: str, part_type: str, code: int
) -> None:
    content = Content(max_media_bytes=10)
    kind, body = _multipart(name, part_type, b"0123456789")
    resource = content.upload(kind, body)["mediaResource"]
    payload = _files(resource)
    assert payload["ActionType"] == code
    (file,) = payload["Files"]
    assert (file["Name"], file["Size"]) == (name, 10)
    assert file["Url"].startswith("https://media.kaizala.emulator/")
    assert file["Url"].endswith("." + name.rsplit(".", 1)[1].lower())
    assert len(file["Id"]) == 36
    assert content.is_media(resource)
    assert resource in content.media


def test_an_upload_is_refused_for_each_documented_reason() -> None:
    content = Content(max_media_bytes=4)
    _refused(lambda: content.upload("application/json", b"{}"), 415,
             "the upload must be multipart/form-data", "UnsupportedMediaType")  # fmt: skip
    no_file = _multipart(None, "image/png", b"x")
    _refused(lambda: content.upload(*no_file), 400, "no file part in the upload")
    for name, shown in (("a.exe", ".exe"), ("noextension", "(none)"), ("a.gif", ".gif")):
        upload = _multipart(name, "image/png", b"x")
        _refused(lambda u=upload: content.upload(*u), 400, f"unsupported file type {shown}")  # type: ignore[misc]
    for part_type in (None, "application/octet-stream"):
        upload = _multipart("a.png", part_type, b"x")
        _refused(lambda u=upload: content.upload(*u), 415,  # type: ignore[misc]
                 "the file part needs its MIME type as Content-Type", "UnsupportedMediaType")  # fmt: skip
    big = _multipart("a.png", "image/png", b"12345")
    _refused(lambda: content.upload(*big), 400, "the file is larger than 4 bytes")
    assert content.upload(*_multipart("a.png", "image/png", b"1234"))  # at the bound: taken
    assert content.upload(
        "Multipart/Form-Data; boundary=b0und", _multipart("a.png", "image/png", b"")[1]
    )
    assert len(content.media) == 2


@pytest.mark.parametrize(
    ("url", "name", "code"),
    [("https://x.test/p/photo.png?sig=1", "photo.png", 3), ("http://x.test/v.mp4", "v.mp4", 10),
     ("https://x.test/s.mp3", "s.mp3", 5), ("https://x.test/r.pdf", "r.pdf", 6),
     ("https://x.test/dir/", "file", 6)],
)  # fmt: skip
def test_a_media_url_is_a_resource_named_after_its_last_part(
    url: str, name: str, code: int
) -> None:
    content = Content(max_media_bytes=1)
    resource = content.upload_url({"mediaurl": url})["mediaResource"]
    payload = _files(resource)
    assert payload["ActionType"] == code
    assert payload["Files"][0] | {"Id": "-"} == {"Id": "-", "Name": name, "Size": 0, "Url": url}


def test_a_media_url_must_be_http() -> None:
    content = Content(max_media_bytes=1)
    for data in ({}, {"mediaurl": 5}, {"mediaurl": "ftp://x.test/a.png"}):
        _refused(lambda d=data: content.upload_url(d), 400, "mediaUrl must be an http(s) URL")  # type: ignore[misc]


def test_media_is_what_was_issued_here_or_shaped_like_the_services_own() -> None:
    content = Content(max_media_bytes=1)
    own = base64.b64encode(json.dumps({"Files": []}).encode()).decode()
    not_files = base64.b64encode(json.dumps({"Files": "x"}).encode()).decode()
    a_list = base64.b64encode(b"[1]").decode()
    assert content.is_media(own)
    for value in (
        "",
        None,
        5,
        not_files,
        a_list,
        "not base64!",
        base64.b64encode(b"nope").decode(),
    ):
        assert not content.is_media(value)


def _reacting() -> Content:
    content = Content(max_media_bytes=1)
    react = content.react
    react({"referenceid": "m1", "sourcegroupid": "g", "reactiontype": "Like"}, "u1", {"m1"}, 10.0)
    react({"referenceid": "m1", "sourcegroupid": "g", "reactiontype": "comment", "comment": "hi"},
          "u2", {"m1"}, 20.0)  # fmt: skip
    react({"referenceid": "m2", "sourcegroupid": "g", "reactiontype": "LIKE"}, "u1", {"m2"}, 30.0)
    react(
        {"referenceid": "m1", "sourcegroupid": "other", "reactiontype": "Like"}, "u3", {"m1"}, 40.0
    )
    return content


def test_a_reaction_is_kept_as_a_like_or_a_comment() -> None:
    content = _reacting()
    assert [(r.reference_id, r.kind, r.comment, r.user_id, r.at) for r in content.reactions] == [
        ("m1", "Like", "", "u1", 10.0), ("m1", "Comment", "hi", "u2", 20.0),
        ("m2", "Like", "", "u1", 30.0), ("m1", "Like", "", "u3", 40.0),
    ]  # fmt: skip
    ids = {r.reaction_id for r in content.reactions}
    assert len(ids) == 4


def test_a_reaction_is_refused_for_each_documented_reason() -> None:
    content = Content(max_media_bytes=1)

    def react(**data: Any) -> Any:
        return lambda: content.react(data, "u", {"m1"}, 1.0)

    base = {"referenceid": "m1", "sourcegroupid": "g", "reactiontype": "Like"}
    missing = "referenceId does not name a message or action"
    _refused(react(**base | {"referenceid": "m9"}), 404, missing, "NotFound")
    _refused(react(**base | {"referenceid": 5}), 404, missing, "NotFound")
    for source in (None, "", 5):
        _refused(react(**base | {"sourcegroupid": source}), 400, "sourceGroupId is required")
    for kind in (None, "Love"):
        _refused(
            react(**base | {"reactiontype": kind}), 400, "reactionType must be Like or Comment"
        )
    for comment in (None, "  ", 5):
        _refused(react(**base | {"reactiontype": "Comment", "comment": comment}), 400,
                 "comment is required for a Comment")  # fmt: skip
    assert content.reactions == []
    assert "reactionId" in content.react(base, "u", {"m1"}, 1.0)


def test_an_items_summary_counts_its_likes_and_comments_in_one_group() -> None:
    content = _reacting()
    assert content.item_summary("m1", {"sourcegroupid": "g"}) == {
        "summary": [{"referenceId": "m1", "reactionsCountMap": {"like": 1, "comment": 1}}]
    }
    assert content.item_summary("m1", {"sourcegroupid": "other"})["summary"][0][
        "reactionsCountMap"
    ] == {"like": 1, "comment": 0}
    _refused(lambda: content.item_summary("m1", {}), 400, "sourceGroupId is required")


def test_a_groups_summary_pages_by_the_ticks_of_the_last_reaction() -> None:
    content = _reacting()
    first = content.group_summary({"sourcegroupid": "g"})
    assert first == {
        "cursor": _ticks(30.0),
        "summary": [
            {"referenceId": "m1", "reactionsCountMap": {"like": 1, "comment": 1}},
            {"referenceId": "m2", "reactionsCountMap": {"like": 1, "comment": 0}},
        ],
    }
    later = content.group_summary({"sourcegroupid": "g", "cursor": str(_ticks(10.0))})
    assert later["summary"] == [
        {"referenceId": "m1", "reactionsCountMap": {"like": 0, "comment": 1}},
        {"referenceId": "m2", "reactionsCountMap": {"like": 1, "comment": 0}},
    ]
    done = content.group_summary({"sourcegroupid": "g", "cursor": str(_ticks(30.0))})
    assert done == {"cursor": _ticks(30.0), "summary": []}  # the cursor stays where it was
    _refused(lambda: content.group_summary({}), 400, "sourceGroupId is required")
    _refused(lambda: content.group_summary({"sourcegroupid": "g", "cursor": "x"}), 400,
             "cursor must be a value from a previous answer")  # fmt: skip


def test_reaction_details_list_one_kind_oldest_first_fifty_a_page() -> None:
    content = Content(max_media_bytes=1)
    for n in range(55, 0, -1):  # added newest first
        content.react({"referenceid": "m", "sourcegroupid": "g", "reactiontype": "Comment",
                       "comment": f"c{n}"}, f"u{n}", {"m"}, float(n))  # fmt: skip
    content.react(
        {"referenceid": "m", "sourcegroupid": "g", "reactiontype": "Like"}, "u0", {"m"}, 0.5
    )
    page = content.reaction_details("m", {"sourcegroupid": "g", "reactiontype": "comment"})
    items = page["reactionDetails"]
    assert len(items) == 50
    assert [i["comment"] for i in items[:2]] == ["c1", "c2"]
    assert set(items[0]) == {"reactionId", "userId", "lastModifiedTime", "comment"}
    assert (items[0]["userId"], items[0]["lastModifiedTime"]) == ("u1", 1000)
    assert page["cursor"] == _ticks(50.0)
    rest = content.reaction_details(
        "m", {"sourcegroupid": "g", "reactiontype": "Comment", "cursor": str(page["cursor"])}
    )
    assert [i["comment"] for i in rest["reactionDetails"]] == ["c51", "c52", "c53", "c54", "c55"]
    likes = content.reaction_details("m", {"sourcegroupid": "g", "reactiontype": "LIKE"})
    assert likes["reactionDetails"][0] | {"reactionId": "-"} == {
        "reactionId": "-", "userId": "u0", "lastModifiedTime": 500,
    }  # fmt: skip
    empty = content.reaction_details(
        "m", {"sourcegroupid": "h", "reactiontype": "Like", "cursor": "7"}
    )
    assert empty == {"cursor": 7, "reactionDetails": []}
    needed = "sourceGroupId and reactionType (Like or Comment) are required"
    for query in ({"reactiontype": "Like"}, {"sourcegroupid": "g"},
                  {"sourcegroupid": "g", "reactiontype": "Love"}):  # fmt: skip
        _refused(lambda q=query: content.reaction_details("m", q), 400, needed)  # type: ignore[misc]


def test_a_bot_belongs_to_its_creator_and_shows_the_documented_fields() -> None:
    content = Content(max_media_bytes=1)
    bot_id = content.create_bot({"name": "Helper", "profilepic": "https://p"}, "t1", "+911")[
        "botUserId"
    ]
    bot = content.bot(bot_id, "+911")
    assert (bot.name, bot.profile_pic, bot.tenant, bot.creator, bot.groups) == (
        "Helper",
        "https://p",
        "t1",
        "+911",
        set(),
    )
    assert bot.as_json("creator-id") == {
        "botUserId": bot_id, "name": "Helper", "profilePic": "https://p", "tenantId": "t1",
        "creatorId": "creator-id", "creator": "+911", "creatorName": "+911",
        "creatorProfilePic": "", "status": "Active",
    }  # fmt: skip
    _refused(lambda: content.bot(bot_id, "+912"), 404, f"bot {bot_id} not found", "NotFound")
    _refused(lambda: content.bot("nope", "+911"), 404, "bot nope not found", "NotFound")
    plain = content.create_bot({"name": "P", "profilepic": None}, "t1", "+911")["botUserId"]
    assert content.bots[plain].profile_pic == ""
    for data in ({}, {"name": "  "}, {"name": 5}):
        _refused(lambda d=data: content.create_bot(d, "t", "+9"), 400, "name is required")  # type: ignore[misc]
    assert isinstance(bot, Bot)


def test_times_are_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert iso(0) == "1970-01-01T00:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_an_uploads_size_is_of_the_decoded_file_and_its_kind_is_its_last_extension() -> None:
    content = Content(max_media_bytes=100)
    kind, body = _multipart("a.tar.png", "image/png", b"")
    body = body.replace(
        b"Content-Type: image/png", b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64"
    )
    body = body.replace(b"\r\n\r\n\r\n", b"\r\n\r\n" + base64.b64encode(b"12345678") + b"\r\n")
    file = _files(content.upload(kind, body)["mediaResource"])["Files"][0]
    assert (file["Name"], file["Size"]) == ("a.tar.png", 8)
    empty = _files(content.upload(*_multipart("b.png", "image/png", b""))["mediaResource"])[
        "Files"
    ][0]
    assert empty["Size"] == 0


def test_a_media_urls_name_stops_at_the_first_question_mark() -> None:
    content = Content(max_media_bytes=1)
    resource = content.upload_url({"mediaurl": "https://x.test/a.png?x=1?y=2"})["mediaResource"]
    assert _files(resource)["Files"][0]["Name"] == "a.png"


def test_media_with_characters_outside_base64_is_not_media() -> None:
    content = Content(max_media_bytes=1)
    own = base64.b64encode(json.dumps({"Files": []}).encode()).decode()
    assert content.is_media(own)
    assert not content.is_media(own + "!!")


def test_each_bot_has_its_own_id() -> None:
    content = Content(max_media_bytes=1)
    first = content.create_bot({"name": "A"}, "t", "+91")["botUserId"]
    second = content.create_bot({"name": "B"}, "t", "+91")["botUserId"]
    assert first != second
    assert len(first) == 36
    assert content.bot(first, "+91").name == "A"
