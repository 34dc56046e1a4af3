"""`kaizala fanout` in a real pseudo-terminal: the live progress bar and Ctrl-C."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pexpect
import pytest

from kaizala_async.emulator import EmulatorProcess, emulator_process

GROUPS = 60


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with emulator_process("--connector-limit", "100/1", "--tenant-limit", "300/1") as emu:
        yield emu


def _env(emu: EmulatorProcess, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment a user would give `kaizala` for this emulator (its first connector)."""
    c = emu.credentials[0]
    return {
        **os.environ,
        "KAIZALA_APPLICATION_ID": c["applicationId"],
        "KAIZALA_APPLICATION_SECRET": c["applicationSecret"],
        "KAIZALA_REFRESH_TOKEN": c["refreshToken"],
        "KAIZALA_API_ROOT": emu.root,
        "KAIZALA_TOKEN_FILE": str(tmp_path / "tokens.json"),
        "KAIZALA_CONFIG": str(tmp_path / "absent.json"),
        **extra,
    }


def _spawn(
    emu: EmulatorProcess, tmp_path: Path, *extra: str, limits: str = "15/1,45/1"
) -> pexpect.spawn:
    answer = httpx.post(f"{emu.root}/_emulator/groups",
                        json={"count": GROUPS, "mobileNumber": "+911234567890"})  # fmt: skip
    listing = tmp_path / "groups.txt"
    listing.write_text("\n".join(answer.json()["groupIds"]))
    # KAIZALA_LIMITS: slower than the emulator, so there are a few seconds to watch.
    env = _env(emu, tmp_path, KAIZALA_LIMITS=limits, TERM="xterm-256color")
    command = ["-m", "kaizala_async.cli", "fanout", "--groups", str(listing), "--text", "hi",
               "--journal", str(tmp_path / "run.journal"), *extra]  # fmt: skip
    # codec_errors: a Ctrl-C makes the terminal drop the output it still holds (the tty flushes
    # on an interrupt), which may cut a bar character in half. preexec_fn: the child answers
    # Ctrl-C as a user's shell would start it, even when pytest itself was started in the
    # background of a script (SIGINT ignored, and an ignored signal stays ignored across exec).
    return pexpect.spawn(sys.executable, command, env=env, encoding="utf-8", timeout=60,
                         codec_errors="replace", dimensions=(30, 140),
                         preexec_fn=_default_sigint)  # fmt: skip


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _counts(child: pexpect.spawn, until: int) -> list[int]:
    """Progress counts drawn on the terminal, until one reaches ``until``."""
    seen: list[int] = []
    while not seen or seen[-1] < until:
        child.expect(re.compile(rf"(\d+)/{GROUPS}"))
        seen.append(int(child.match.group(1)))
    return seen


def test_the_progress_bar_is_drawn_and_updated(emulator: EmulatorProcess, tmp_path: Path) -> None:
    child = _spawn(emulator, tmp_path)
    screen = io.StringIO()
    child.logfile_read = screen
    seen = _counts(child, GROUPS)
    child.expect("sent=60")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert len(set(seen)) >= 5  # redrawn as it went, not one line at the end
    drawn = screen.getvalue()
    assert "429s 0" in drawn and "in flight" in drawn and "/s" in drawn


def test_ctrl_c_prints_a_summary_and_how_to_resume(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    # 4 sends a second: the run lasts 15 s, so the Ctrl-C sent once 3 are drawn lands mid-run
    # even when this process reads the terminal seconds late.
    child = _spawn(emulator, tmp_path, limits="4/1,12/1")
    _counts(child, 3)
    child.sendintr()
    child.expect("interrupted: ")
    child.expect(r"\d+ sent")
    child.expect("same --journal")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")


async def test_listen_receives_prints_and_forwards_an_event(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    """`kaizala listen --forward-to`: a TextMessageCreated sent to the group arrives, is printed
    and reaches the user's app; Ctrl-C deletes the webhook and exits 0."""
    import asyncio
    import json

    from kaizala_async._asgi import read_body
    from kaizala_async._loopback import serve_loopback

    received: list[dict[str, object]] = []

    async def app(scope: dict[str, object], receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        received.append(json.loads(body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with httpx.AsyncClient() as http:
        created = await http.post(f"{emulator.root}/_emulator/groups",
                                  json={"count": 1, "mobileNumber": "+911234567890"})  # fmt: skip
    group = created.json()["groupIds"][0]
    env = _env(emulator, tmp_path)
    async with serve_loopback(app) as origin:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "kaizala_async.cli", "listen", "--group", group, "--forward-to", f"{origin}/hook"],
            env=env, encoding="utf-8", timeout=30, preexec_fn=_default_sigint,
        )  # fmt: skip
        await asyncio.to_thread(child.expect, "listening on")
        token = await asyncio.to_thread(_token, emulator, env)
        answer = await asyncio.to_thread(
            httpx.post, f"{emulator.root}/v1/groups/{group}/messages",
            json={"message": "hello listener"}, headers={"accessToken": token},
        )  # fmt: skip
        assert answer.status_code == 200
        await asyncio.to_thread(child.expect, r"TextMessageCreatedEvent\s+\S+\s+-> 204")
        async with httpx.AsyncClient() as http:
            during = await http.get(f"{emulator.root}/v1/webhook",
                                    params={"objectId": group, "objectType": "Group"},
                                    headers={"accessToken": token})  # fmt: skip
        assert len(during.json()["webhooks"]) == 1  # registered while listening ...
        child.sendintr()
        await asyncio.to_thread(child.expect, pexpect.EOF)
        child.close()
    assert child.exitstatus == 0
    assert [e.get("eventType") for e in received] == ["TextMessageCreated"]
    async with httpx.AsyncClient() as http:
        listed = await http.get(f"{emulator.root}/v1/webhook",
                                params={"objectId": group, "objectType": "Group"},
                                headers={"accessToken": token})  # fmt: skip
    hooks = listed.json()
    assert hooks["webhooks"] == []  # ... and deleted on Ctrl-C


def _token(emulator: EmulatorProcess, env: dict[str, str]) -> str:
    c = emulator.credentials[0]
    answer = httpx.get(f"{emulator.root}/v1/accessToken", headers={
        "applicationId": c["applicationId"], "applicationSecret": c["applicationSecret"],
        "refreshToken": c["refreshToken"]})  # fmt: skip
    return str(answer.json()["accessToken"])


def test_a_group_named_like_markup_lists_literally_on_a_terminal(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    env = _env(emulator, tmp_path, TERM="xterm-256color")
    for name in ("[/x]", "[bold red]Alert"):
        child = pexpect.spawn(sys.executable, ["-m", "kaizala_async.cli", "groups", "create", name],
                              env=env, encoding="utf-8", timeout=30)  # fmt: skip
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    child = pexpect.spawn(sys.executable, ["-m", "kaizala_async.cli", "groups", "list"], env=env,
                          encoding="utf-8", timeout=30)  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "[/x]" in child.before and "[bold red]Alert" in child.before
    assert "\x1b[1;31m" not in child.before  # not styled bold red
    assert "Traceback" not in child.before


def test_a_journal_of_another_message_is_refused_before_any_bar_is_drawn(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    """Reusing a journal with another text drew an empty progress bar before the error."""
    journal = tmp_path / "run.journal"
    listing = tmp_path / "groups.txt"
    listing.write_text("g-unused\n")
    env = _env(emulator, tmp_path, TERM="xterm-256color")
    for text, status in (("first", 6), ("second", 2)):  # g-unused fails: 6; then refused: 2
        child = pexpect.spawn(sys.executable, ["-m", "kaizala_async.cli", "fanout", "--groups",
                              str(listing), "--text", text, "--journal", str(journal)],
                              env=env, encoding="utf-8", timeout=60, dimensions=(30, 140))  # fmt: skip
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == status, child.before
    assert "different message" in child.before
    assert "sending" not in child.before and "0/1" not in child.before  # no bar at all
