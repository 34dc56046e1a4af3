"""The command line's shared parts (``cli._app``) on their own, without an emulator: where each
connection setting comes from, what is refused before any call, how each error becomes one line
and its exit code, what is printed literally, and what the JSON output holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kaizala_async import (
    APIError,
    AuthenticationError,
    KaizalaError,
    PermissionDeniedError,
    Rate,
    RateLimits,
    Secret,
    ThrottledError,
    TransportError,
    ValidationError,
    __version__,
)
from kaizala_async.cli import _app
from kaizala_async.cli._app import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_INPUT,
    EXIT_NETWORK,
    EXIT_THROTTLED,
    Connection,
    app,
    literal,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting leaks in from the machine: no variable, a config file of the test's own."""
    for name in (
        "APPLICATION_ID",
        "APPLICATION_SECRET",
        "API_ROOT",
        "TOKEN_FILE",
        "REFRESH_TOKEN",
        "LIMITS",
    ):
        monkeypatch.delenv(f"KAIZALA_{name}", raising=False)
    config = tmp_path / "config.json"
    monkeypatch.setenv("KAIZALA_CONFIG", str(config))
    return config


# -- where each setting comes from -------------------------------------------------------------


def test_without_anything_the_defaults_apply() -> None:
    settings = _app._settings()
    assert settings["application_id"] is None and settings["application_secret"] is None
    assert settings["api_root"] == "https://api.kaiza.la"
    assert settings["token_file"] == Path("~/.config/kaizala/tokens.json").expanduser()


def test_the_config_file_comes_after_the_environment_which_comes_after_the_options(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    clean_env.write_text(
        json.dumps(
            {
                "applicationId": "file-id",
                "applicationSecret": "file-secret",
                "apiRoot": "https://file",
                "tokenFile": "~/f.json",
            }
        )
    )
    settings = _app._settings()
    assert (settings["application_id"], settings["application_secret"], settings["api_root"]) == (
        "file-id",
        "file-secret",
        "https://file",
    )
    assert settings["token_file"] == Path("~/f.json").expanduser()
    monkeypatch.setenv("KAIZALA_APPLICATION_ID", "env-id")
    monkeypatch.setenv("KAIZALA_API_ROOT", "https://env")
    monkeypatch.setenv("KAIZALA_TOKEN_FILE", "/srv/env.json")
    monkeypatch.setenv("KAIZALA_APPLICATION_SECRET", "env-secret")
    settings = _app._settings()
    assert (settings["application_id"], settings["api_root"], settings["token_file"]) == (
        "env-id",
        "https://env",
        Path("/srv/env.json"),
    )
    assert settings["application_secret"] == "env-secret"
    token = _app._GIVEN.set(Connection("flag-id", "https://flag", Path("/srv/flag.json")))
    try:
        settings = _app._settings()
    finally:
        _app._GIVEN.reset(token)
    assert (settings["application_id"], settings["api_root"], settings["token_file"]) == (
        "flag-id",
        "https://flag",
        Path("/srv/flag.json"),
    )
    assert settings["application_secret"] == "env-secret"  # never a flag


def test_an_empty_variable_counts_as_not_set(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    clean_env.write_text(json.dumps({"applicationId": "file-id"}))
    monkeypatch.setenv("KAIZALA_APPLICATION_ID", "")
    assert _app._settings()["application_id"] == "file-id"


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_a_config_file_that_is_not_an_object(clean_env: Path, text: str) -> None:
    clean_env.write_text(text)
    if text.startswith("["):
        assert _app._config_file() == {}  # readable JSON but no settings in it
    else:
        with pytest.raises(ValidationError) as info:
            _app._config_file()
        assert info.value.argument == "config" and str(clean_env) in info.value.reason


def test_a_missing_config_file_is_no_settings(clean_env: Path) -> None:
    assert not clean_env.exists() and _app._config_file() == {}


def test_outside_a_command_line_no_option_was_given() -> None:
    assert _app._connection() == Connection()


# -- the client a command gets -----------------------------------------------------------------


def test_a_client_needs_an_application_id_then_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as info:
        _app._client()
    assert info.value.argument == "application_id"
    assert (
        info.value.reason == "give `kaizala --application-id ID ...` or set KAIZALA_APPLICATION_ID"
    )
    monkeypatch.setenv("KAIZALA_APPLICATION_ID", "app")
    with pytest.raises(ValidationError) as info:
        _app._client()
    assert (info.value.argument, info.value.reason) == (
        "application_secret",
        "set KAIZALA_APPLICATION_SECRET (never a flag)",
    )


def test_a_client_is_built_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KAIZALA_APPLICATION_ID", "app")
    monkeypatch.setenv("KAIZALA_APPLICATION_SECRET", "the-secret")
    monkeypatch.setenv("KAIZALA_API_ROOT", "http://127.0.0.1:9")
    monkeypatch.setenv("KAIZALA_TOKEN_FILE", str(tmp_path / "t.json"))
    monkeypatch.setenv("KAIZALA_LIMITS", "10/1,30/1")
    client = _app._client()
    assert client.credentials.application_id == "app"
    assert client.credentials.application_secret.reveal() == "the-secret"
    assert client.credentials.refresh_token is None
    assert client._api_root == "http://127.0.0.1:9"
    assert client._store.path == tmp_path / "t.json"  # type: ignore[union-attr]
    assert client.limits == RateLimits(connector=Rate(10, 1.0), tenant=Rate(30, 1.0))
    monkeypatch.setenv("KAIZALA_REFRESH_TOKEN", "portal-token")
    monkeypatch.delenv("KAIZALA_LIMITS")
    client = _app._client()
    assert client.credentials.refresh_token is not None
    assert client.credentials.refresh_token.reveal() == "portal-token"
    assert client.limits == RateLimits()


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (None, None),
        ("", None),
        ("100/1,300/1", RateLimits(connector=Rate(100, 1.0), tenant=Rate(300, 1.0))),
        (" 5/2.5 , 9/10 ", RateLimits(connector=Rate(5, 2.5), tenant=Rate(9, 10.0))),
    ],
)
def test_scaled_limits_are_read(text: str | None, found: RateLimits | None) -> None:
    assert _app._limits(text) == found


@pytest.mark.parametrize("text", ["100/1", "100,300", "a/1,3/1", "1/1,2/1,3/1", "0/1,1/1"])
def test_scaled_limits_of_another_shape_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        _app._limits(text)
    assert info.value.argument == "KAIZALA_LIMITS"
    assert (
        info.value.reason
        == f"must be CONNECTOR/SECONDS,TENANT/SECONDS, e.g. 100/1,300/1, not {text!r}"
    )


# -- errors: one line, one exit code -----------------------------------------------------------


def fails(error: BaseException) -> Any:
    async def work() -> None:
        raise error

    return lambda: _app._run(work)


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (ValidationError("groups", "must be a list"), EXIT_INPUT, "error: groups: must be a list"),
        (ValidationError("credentials", "no refresh token"), EXIT_AUTH, "not logged in: no refresh token; run `kaizala auth login`"),
        (AuthenticationError(401, "AuthFailed", "bad token"), EXIT_AUTH, "authentication failed: HTTP 401 AuthFailed: bad token"),
        (PermissionDeniedError(403, "", "no"), EXIT_AUTH, "authentication failed: HTTP 403: no"),
        (ThrottledError(30.0), EXIT_THROTTLED, "throttled, gave up: "),
        (TransportError("refused", method="GET", url="https://x/v1/g", request_sent=False), EXIT_NETWORK, "network failure: refused (GET https://x/v1/g)"),
        (APIError(500, "Boom", "down"), EXIT_API, "error: HTTP 500 Boom: down"),
        (KaizalaError("odd"), EXIT_API, "error: odd"),
    ],
)  # fmt: skip
def test_each_error_is_one_line_and_its_exit_code(
    error: BaseException, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as info:
        fails(error)()
    assert info.value.exit_code == code
    printed = capsys.readouterr().err
    assert printed.startswith(line) and printed.count("\n") == 1


def test_what_is_not_the_sdks_error_is_not_hidden() -> None:
    with pytest.raises(ZeroDivisionError):
        fails(ZeroDivisionError())()


def test_a_result_comes_back() -> None:
    async def work() -> int:
        return 7

    assert _app._run(work) == 7


def test_a_missing_application_id_exits_2_saying_where_to_give_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit) as info:
        _app._require_application_id({"application_id": None})
    assert info.value.exit_code == EXIT_INPUT
    assert capsys.readouterr().err == (
        "error: application_id: give `kaizala --application-id ID ...` or set KAIZALA_APPLICATION_ID\n"
    )
    assert _app._require_application_id({"application_id": "app"}) == "app"


# -- what is printed ---------------------------------------------------------------------------


def test_control_characters_are_shown_not_obeyed() -> None:
    assert literal("a\x1b[2Jb\x07\u202e\x9b") == "a\\x1b[2Jb\\x07\\u202e\\x9b"
    assert literal("one\ntwo") == "one\\x0atwo"
    assert literal("one\ntwo", lines=True) == "one\ntwo"
    assert literal("plain [b]text[/b] :smile: é") == "plain [b]text[/b] :smile: é"


def test_the_console_prints_markup_and_escapes_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _app.out.print("[/x] [bold]g[/bold] :smile: \x1b]0;title\x07")
    assert capsys.readouterr().out == "[/x] [bold]g[/bold] :smile: \\x1b]0;title\\x07\n"


def test_json_output_holds_every_field_or_those_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kaizala_async import Group

    group = Group(group_id="G1", group_name="Stores", user_count=3)
    _app._emit_json(group)
    assert json.loads(capsys.readouterr().out) == {
        "groupId": "G1",
        "groupName": "Stores",
        "userCount": 3,
    }
    _app._emit_json(group, " groupName, , missing ")
    assert json.loads(capsys.readouterr().out) == {"groupName": "Stores", "missing": None}
    _app._emit_json(group, "")
    assert json.loads(capsys.readouterr().out)["groupId"] == "G1"


def test_json_output_never_shows_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    from kaizala_async import BotToken

    _app._emit_json(BotToken(access_token=Secret("bot-secret-value")))
    printed = capsys.readouterr().out
    assert "bot-secret-value" not in printed and "***" in printed


# -- the commands of this module ---------------------------------------------------------------


def test_version_is_printed() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"kaizala {__version__}\n")


@pytest.mark.parametrize("groups", ["0", "2001"])
def test_the_demo_refuses_a_group_count_out_of_range(groups: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--groups", groups])
    assert result.exit_code == EXIT_INPUT
    assert "groups: must be between 1 and 2000" in result.output


def test_the_emulator_command_passes_every_option_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[list[str], str]] = []

    def fake(argv: list[str], prog: str) -> int:
        seen.append((argv, prog))
        return 3

    monkeypatch.setattr("kaizala_async.emulator.__main__.main", fake)
    result = CliRunner().invoke(
        app, ["emulator", "--port", "0", "--throttle", "gcra", "--connectors", "2"]
    )
    assert result.exit_code == 3
    argv, prog = seen[0]
    assert prog == "kaizala emulator"
    assert argv == [
        "--host", "127.0.0.1", "--port", "0", "--throttle", "gcra", "--connector-limit", "100/60",
        "--tenant-limit", "300/60", "--token-ttl", "86400.0", "--fault-rate", "0.0", "--seed", "0",
        "--connectors", "2",
    ]  # fmt: skip
    result = CliRunner().invoke(app, ["emulator", "--network", "fixed:0.1"])
    assert seen[1][0][-2:] == ["--network", "fixed:0.1"]


def test_a_command_family_speaks_plainly_and_takes_h() -> None:
    family = _app.command_group("Some family.")
    assert family.info.help == "Some family."
    assert family.info.no_args_is_help is True
    assert family.rich_markup_mode is None
    assert family.info.context_settings == {"help_option_names": ["-h", "--help"]}
    assert _app.command_group("x", no_args_is_help=False).info.no_args_is_help is False


def test_a_fresh_console_prints_text_as_it_is_with_no_wrap_or_style() -> None:
    import io

    buffer = io.StringIO()
    console = _app._LiteralConsole(file=buffer, force_terminal=True, width=20)
    console.print("[bold]x[/bold] :smile: 12345 " + "word " * 8)
    assert (
        buffer.getvalue() == "[bold]x[/bold] :smile: 12345 " + "word " * 8 + "\n"
    )  # one line, no ANSI


def test_a_console_keeps_line_breaks_prints_other_objects_and_takes_options() -> None:
    import io

    buffer = io.StringIO()
    console = _app._LiteralConsole(file=buffer, width=80)
    console.print("one\ntwo\x1b", 5, end="")
    assert buffer.getvalue() == "one\ntwo\\x1b 5"


def test_json_output_shows_what_json_cannot_hold_as_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _app._emit_json({"path": Path("/srv/x"), "numbers": {7}})  # a set: not JSON
    assert json.loads(capsys.readouterr().out) == {"path": "/srv/x", "numbers": "{7}"}


def test_the_config_file_is_looked_for_in_the_users_config_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KAIZALA_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / ".config" / "kaizala"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(
        json.dumps({"applicationId": "from-home-é"}), encoding="utf-8"
    )
    assert _app._config_file() == {"applicationId": "from-home-é"}
