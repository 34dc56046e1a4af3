"""``client.messages`` and ``client.media`` (``_resources.messages``) on their own: what each call
sends, byte for byte where it matters, and every refusal, named, before anything is sent."""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import httpx
import pytest

from kaizala_async import KaizalaClient
from kaizala_async._resources.messages import MEDIA_TYPES
from tests.resources.wire import DEFAULT, refused, sent, unexpected

MEDIA = {"mediaResource": DEFAULT["mediaResource"]}


# -- messages.send -----------------------------------------------------------------------------


def test_a_text_goes_alone_by_default() -> None:
    (request,) = sent(lambda c: c.messages.send("G1", "hello"))
    assert (request.method, request.url.path) == ("POST", "/v1/groups/G1/messages")
    assert json.loads(request.content) == {"message": "hello"}


def test_every_option_goes_under_its_wire_name() -> None:
    (request,) = sent(
        lambda c: c.messages.send(
            "G1", "hi", subscribers=["+911234567890"], send_to_all_subscribers=True, reply_to="R9"
        )
    )
    assert json.loads(request.content) == {
        "message": "hi",
        "sendToAllSubscribers": True,
        "subscribers": ["+911234567890"],
        "replyToReferenceId": "R9",
    }


def test_the_answer_is_the_sent_message() -> None:
    found: list[Any] = []

    async def run(client: KaizalaClient) -> None:
        found.append(await client.messages.send("G1", "hello"))

    sent(run)
    assert found[0].reference_id == "r1"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"subscribers": []}, "subscribers"),  # none is a mistake: leave it out
        ({"subscribers": "+911234567890"}, "subscribers"),  # one string, not a list
        ({"send_to_all_subscribers": "yes"}, "send_to_all_subscribers"),
        ({"reply_to": ""}, "reply_to"),
        ({"reply_to": ".."}, "reply_to"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs: dict[str, Any], argument: str) -> None:
    assert refused(lambda c: c.messages.send("G1", "hi", **kwargs))[0] == argument


def test_a_text_over_4000_characters_is_refused_and_4000_go() -> None:
    assert sent(lambda c: c.messages.send("G1", "x" * 4000))
    argument, reason = refused(lambda c: c.messages.send("G1", "x" * 4001))
    assert (argument, reason) == ("text", "is 4001 characters long; the service takes at most 4000")


# -- media.upload ------------------------------------------------------------------------------


def part(request: httpx.Request) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of the one ``files`` part."""
    body = request.content
    head, _, rest = body.partition(b"\r\n\r\n")
    data = rest.rsplit(b"\r\n--", 1)[0]
    headers = head.decode()
    assert 'name="files"' in headers
    name = headers.split('filename="', 1)[1].split('"', 1)[0]
    kind = headers.lower().split("content-type: ", 1)[1].split("\r\n", 1)[0]
    return name, kind, data


@pytest.mark.parametrize(("extension", "kind"), sorted(MEDIA_TYPES.items()))
def test_bytes_go_with_the_type_of_their_extension(extension: str, kind: str) -> None:
    (request,) = sent(lambda c: c.media.upload(b"\x01\x02", filename=f"a{extension.upper()}"))
    assert (request.method, request.url.path) == ("POST", "/v1/media")
    assert part(request) == (f"a{extension.upper()}", kind, b"\x01\x02")


def test_a_type_given_wins_over_the_extension() -> None:
    (request,) = sent(lambda c: c.media.upload(b"x", filename="a.png", content_type="image/x-own"))
    assert part(request)[1] == "image/x-own"


def test_a_path_is_read_and_named_after_its_file(tmp_path: pathlib.Path) -> None:
    photo = tmp_path / "shop.jpg"
    photo.write_bytes(b"JPEGDATA")
    (by_path,) = sent(lambda c: c.media.upload(photo))
    (by_text,) = sent(lambda c: c.media.upload(str(photo), filename="renamed.png"))
    assert part(by_path) == ("shop.jpg", "image/jpeg", b"JPEGDATA")
    assert part(by_text) == ("renamed.png", "image/png", b"JPEGDATA")


def test_an_open_binary_file_is_read_and_named_after_it(tmp_path: pathlib.Path) -> None:
    doc = tmp_path / "report.pdf"
    doc.write_bytes(b"%PDF")
    with doc.open("rb") as handle:
        (request,) = sent(lambda c: c.media.upload(handle))
    assert part(request) == ("report.pdf", "application/pdf", b"%PDF")
    (named,) = sent(lambda c: c.media.upload(io.BytesIO(b"abc"), filename="clip.mp4"))
    assert part(named) == ("clip.mp4", "video/mp4", b"abc")


def test_a_path_given_as_a_file_name_keeps_only_its_last_part() -> None:
    (request,) = sent(lambda c: c.media.upload(b"x", filename="../../etc/a.png"))
    assert part(request)[0] == "a.png"


@pytest.mark.parametrize(
    ("call", "argument", "reason"),
    [
        (lambda c: c.media.upload(b"x"), "filename", "is required when uploading bytes"),
        (lambda c: c.media.upload(b"", filename="a.png"), "source", "is empty"),
        (lambda c: c.media.upload(b"x", filename=""), "filename", "must be a non-empty string"),
        (
            lambda c: c.media.upload(io.BytesIO(b"x")),
            "filename",
            "is required for a file object without a name",
        ),
        (
            lambda c: c.media.upload(io.StringIO("text"), filename="a.png"),
            "source",
            "must be opened in binary mode ('rb')",
        ),
        (
            lambda c: c.media.upload(42),
            "source",
            "must be bytes, a file path or an open binary file, not int",
        ),
        (
            lambda c: c.media.upload(b"x", filename="a.png", content_type="png"),
            "content_type",
            "must be a MIME type such as 'image/png'",
        ),
    ],
)
def test_refusals_name_the_argument_and_say_why(call: Any, argument: str, reason: str) -> None:
    assert refused(call) == (argument, reason)


@pytest.mark.parametrize(("filename", "shown"), [("a.gif", ".gif"), ("noext", "no extension")])
def test_an_unsupported_media_type_lists_the_supported_ones(filename: str, shown: str) -> None:
    argument, reason = refused(lambda c: c.media.upload(b"x", filename=filename))
    assert argument == "filename"
    assert reason == f"{shown} is not a supported media type ({', '.join(sorted(MEDIA_TYPES))})"


def test_a_bad_extension_is_refused_before_the_file_is_read(tmp_path: pathlib.Path) -> None:
    # The path does not exist: the extension is what is reported, not the missing file.
    assert refused(lambda c: c.media.upload(tmp_path / "x.gif"))[0] == "filename"
    handle = io.BytesIO(b"x")
    handle.name = "x.gif"  # type: ignore[attr-defined]
    assert refused(lambda c: c.media.upload(handle))[0] == "filename"
    assert handle.tell() == 0  # not read


def test_a_file_that_cannot_be_read_says_which(tmp_path: pathlib.Path) -> None:
    assert refused(lambda c: c.media.upload(tmp_path / "missing.png")) == (
        "source", "cannot read 'missing.png': No such file or directory",
    )  # fmt: skip


# -- media.upload_url --------------------------------------------------------------------------


def test_a_url_upload_sends_the_url() -> None:
    (request,) = sent(lambda c: c.media.upload_url("https://example.com/a.png"))
    assert (request.method, request.url.path) == ("POST", "/v1/media/url")
    assert json.loads(request.content) == {"mediaUrl": "https://example.com/a.png"}


def test_a_url_upload_answers_the_media_resource() -> None:
    found: list[Any] = []

    async def run(client: KaizalaClient) -> None:
        found.append(await client.media.upload_url("https://example.com/a.png"))
        found.append(await client.media.upload(b"x", filename="a.png"))

    sent(run)
    assert [m.media_resource for m in found] == [MEDIA["mediaResource"]] * 2


def test_a_url_that_is_not_one_is_refused() -> None:
    assert refused(lambda c: c.media.upload_url("not a url"))[0] == "url"


def test_a_group_id_that_is_no_id_is_refused_by_name() -> None:
    assert refused(lambda c: c.messages.send("..", "hi"))[0] == "group_id"


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda c: c.messages.send("G1", "hi"), "POST /groups/G1/messages"),
        (lambda c: c.media.upload(b"x", filename="a.png"), "POST /media"),
        (lambda c: c.media.upload_url("https://example.com/a.png"), "POST /media/url"),
    ],
)
def test_an_answer_of_another_shape_names_the_call(call: Any, what: str) -> None:
    assert unexpected(call, ["not", "an", "object"]).what == what


@pytest.mark.parametrize("reference", [None, {"id": "r1"}, ["r1"], True])
def test_a_reference_id_that_is_not_text_is_an_unexpected_answer(reference: object) -> None:
    # It used to be sent on as "None", "{'id': 'r1'}", ...: a fan-out journal kept it as sent.
    error = unexpected(lambda c: c.messages.send("G1", "hi"), {"referenceId": reference})
    assert error.what == "POST /groups/G1/messages"
