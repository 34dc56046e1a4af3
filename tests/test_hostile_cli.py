"""Hostile input on the ``kaizala`` command (issue 25): one-line errors, never a traceback; what
the service sends is printed as sent, never interpreted by the terminal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from kaizala_async.cli import app
from tests.emulator.helpers import cli_env

MOBILE = "+911234567890"


@pytest.fixture
def env(emulator: tuple[dict[str, str], str], tmp_path: Path) -> dict[str, str]:
    return cli_env(*emulator, tmp_path, refresh_token=True)


def _group(env: dict[str, str], name: str = "Night shift") -> str:
    created = CliRunner().invoke(app, ["groups", "create", name], env=env)
    assert created.exit_code == 0, created.output
    return created.output.strip().splitlines()[-1]


# -- 6. `kaizala api`: bad values are one-line errors; the path cannot leave /v1 -----------------


def test_api_sends_nan_and_infinity_as_the_text_given(env: dict[str, str]) -> None:
    """``-f message=NaN`` printed a traceback (exit 1): NaN is not JSON, so it is text."""
    gid = _group(env)
    for text in ("NaN", "Infinity", "-Infinity"):
        sent = CliRunner().invoke(
            app, ["api", "POST", f"/groups/{gid}/messages", "-f", f"message={text}"], env=env
        )
        assert sent.exit_code == 0, sent.output
        assert json.loads(sent.output)["referenceId"]


@pytest.mark.parametrize("depth", [33, 100_000])
def test_api_refuses_a_deeply_nested_field_in_one_line(env: dict[str, str], depth: int) -> None:
    result = CliRunner().invoke(
        app, ["api", "POST", "/groups", "-f", "x=" + "[" * depth + "]" * depth], env=env
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error: field: 'x' is nested deeper than 32 levels"


@pytest.mark.parametrize("path", ["/%2e%2e/%2e%2e/admin", "/groups/%2E%2E/x", "/groups/..%2fx"])
def test_api_refuses_percent_encoded_dot_segments(env: dict[str, str], path: str) -> None:
    result = CliRunner().invoke(app, ["api", "GET", path], env=env)
    assert result.exit_code == 2, result.output
    assert "'.'/'..' segments" in result.output
    assert "Traceback" not in result.output


# -- 7. the service's text is printed as sent -------------------------------------------------


def test_group_names_are_printed_literally_with_control_characters_visible(
    env: dict[str, str],
) -> None:
    """A group name holding an emoji code, a terminal hyperlink and a screen-clearing sequence:
    rich turned ``:warning:`` into a picture, and the ESC sequences reached the terminal."""
    name = "Ops :warning: \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\u202eabc"
    created = CliRunner().invoke(app, ["api", "POST", "/groups", "-f", f"name={name}",
                                       "-f", "welcomeMessage=hi", "-f", "members=[]"], env=env)  # fmt: skip
    assert created.exit_code == 0, created.output
    listed = CliRunner().invoke(app, ["groups", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "\x1b" not in listed.output and "\u202e" not in listed.output
    assert "⚠" not in listed.output
    shown = (
        "Ops :warning: \\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\ \\x1b[2J\\u202eabc"
    )
    assert shown in listed.output


# -- 8. Ctrl-C during `kaizala fanout` counts the send in flight ------------------------------


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_counts_the_send_in_flight_as_unknown_and_the_rerun_names_resend(
    emulator: tuple[dict[str, str], str], env: dict[str, str], tmp_path: Path
) -> None:
    """The summary said ``0 unknown`` with a send in flight, which the rerun then reported
    Unknown, with a reason naming the Python keyword ``resend=[...]``."""
    _, root = emulator
    created = httpx.post(f"{root}/_emulator/groups", json={"count": 1, "mobileNumber": MOBILE})
    group = created.json()["groupIds"][0]
    httpx.post(f"{root}/_emulator/faults",
               json={"route": f"POST /v1/groups/{group}/messages", "hangRate": 1.0, "times": 1})  # fmt: skip
    listing = tmp_path / "groups.txt"
    listing.write_text(group + "\n")
    journal = tmp_path / "run.db"
    command = [sys.executable, "-m", "kaizala_async.cli", "fanout", "--groups", str(listing),
               "--text", "hi", "--journal", str(journal)]  # fmt: skip
    child = subprocess.Popen(  # noqa: S603 (our own interpreter and command)
        command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=_default_sigint,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _in_flight(journal):
            time.sleep(0.05)
        assert _in_flight(journal), "the send never went out"
        child.send_signal(signal.SIGINT)
        _, errors = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130, errors
    assert "interrupted: 0 sent, 0 failed, 1 unknown" in errors
    assert "--resend GROUP_ID" in errors and "Traceback" not in errors
    rerun = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True,  # noqa: S603
                           timeout=60, check=False)  # fmt: skip
    assert rerun.returncode == 6, rerun.stderr
    assert f"--resend {group} resends it" in rerun.stdout
    assert "resend=[" not in rerun.stdout


def _in_flight(journal: Path) -> bool:
    if not journal.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
            return bool(db.execute("SELECT 1 FROM targets WHERE state = 'inflight'").fetchall())
    except sqlite3.Error:
        return False


# -- 9. tokens kept for another API root ------------------------------------------------------


def _login(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    root = env["KAIZALA_API_ROOT"]

    def pin_from_outbox(*_: object, **__: object) -> str:
        return str(httpx.get(f"{root}/_emulator/outbox").json()["messages"][-1]["pin"])

    monkeypatch.setattr("typer.prompt", pin_from_outbox)
    runner = CliRunner()
    login_env = {k: v for k, v in env.items() if k != "KAIZALA_REFRESH_TOKEN"}
    result = runner.invoke(app, ["login", "--mobile", MOBILE], env=login_env)
    assert result.exit_code == 0, result.output
    assert "not checked" not in result.output
    return runner


def test_tokens_kept_for_another_api_root_say_so_and_send_nothing(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After using the emulator, ``whoami`` against another root said ``HTTP 308 EndpointMoved
    ... the token was not sent`` though no request was made."""
    runner = _login(env, monkeypatch)
    elsewhere = {k: v for k, v in env.items() if k != "KAIZALA_REFRESH_TOKEN"}
    elsewhere["KAIZALA_API_ROOT"] = "https://api.kaiza.la"
    result = runner.invoke(app, ["whoami"], env=elsewhere)
    assert result.exit_code == 3, result.output
    assert "belong to another API root" in result.output and "kaizala auth login" in result.output
    assert "308" not in result.output and "EndpointMoved" not in result.output


# -- 10. credentials are checked at login ------------------------------------------------------


def test_login_with_token_checks_the_token_and_saves_nothing_when_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    login_env = {k: v for k, v in env.items() if k != "KAIZALA_REFRESH_TOKEN"}
    refused = CliRunner().invoke(app, ["auth", "login", "--with-token"], env=login_env,
                                 input="not-a-refresh-token\n")  # fmt: skip
    assert refused.exit_code == 3, refused.output
    assert (
        "login refused: the service did not accept the refresh token or the application id"
        in refused.output
    )
    assert not Path(env["KAIZALA_TOKEN_FILE"]).exists()
    accepted = CliRunner().invoke(app, ["auth", "login", "--with-token"], env=login_env,
                                  input=env["KAIZALA_REFRESH_TOKEN"] + "\n")  # fmt: skip
    assert accepted.exit_code == 0, accepted.output
    saved = json.loads(Path(env["KAIZALA_TOKEN_FILE"]).read_text())
    entry = saved[env["KAIZALA_APPLICATION_ID"]]
    assert entry["apiRoot"] == env["KAIZALA_API_ROOT"] and entry["accessToken"]


def test_a_wrong_secret_is_noticed_though_an_access_token_is_kept(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept access token used to be reused whatever secret the next command had."""
    runner = _login(env, monkeypatch)
    kept = {k: v for k, v in env.items() if k != "KAIZALA_REFRESH_TOKEN"}
    assert runner.invoke(app, ["whoami"], env=kept).exit_code == 0
    wrong = {**kept, "KAIZALA_APPLICATION_SECRET": "a-wrong-secret"}
    result = runner.invoke(app, ["whoami"], env=wrong)
    assert result.exit_code == 3, result.output
    assert "authentication failed" in result.output
