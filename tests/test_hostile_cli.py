"""Hostile input on the ``kaizala`` command (issue 25): one-line errors, never a traceback; what
the service sends is printed as sent, never interpreted by the terminal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kaizala_async.cli import app
from tests.emulator.helpers import loopback_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[dict[str, str], str]]:
    with loopback_emulator("--connector-limit", "100/1", "--tenant-limit", "300/1") as found:
        yield found


@pytest.fixture
def env(emulator: tuple[dict[str, str], str], tmp_path: Path) -> dict[str, str]:
    credentials, root = emulator
    return {
        "KAIZALA_APPLICATION_ID": credentials["applicationId"],
        "KAIZALA_APPLICATION_SECRET": credentials["applicationSecret"],
        "KAIZALA_REFRESH_TOKEN": credentials["refreshToken"],
        "KAIZALA_API_ROOT": root,
        "KAIZALA_TOKEN_FILE": str(tmp_path / "tokens.json"),
        "KAIZALA_CONFIG": str(tmp_path / "absent.json"),
        "KAIZALA_LIMITS": "100/1,300/1",
    }


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
    shown = "Ops :warning: \\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\ \\x1b[2J\\u202eabc"
    assert shown in listed.output
