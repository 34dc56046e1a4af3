"""The ``kaizala`` command against the emulator: each subcommand, bad input and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from kaizala_async.cli import app
from tests.emulator.helpers import cli_env

KAIZALA = [sys.executable, "-c", "from kaizala_async.cli import main; main()"]


def _kaizala(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and command)
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def env(emulator: tuple[dict[str, str], str], tmp_path: Path) -> dict[str, str]:
    return cli_env(*emulator, tmp_path)


def _login(runner: CliRunner, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = env["KAIZALA_API_ROOT"]

    def pin_from_outbox(*_: object, **__: object) -> str:
        return str(httpx.get(f"{root}/_emulator/outbox").json()["messages"][-1]["pin"])

    monkeypatch.setattr("typer.prompt", pin_from_outbox)
    result = runner.invoke(app, ["login", "--mobile", "+911234567890"], env=env)
    assert result.exit_code == 0, result.output


def test_login_then_every_api_subcommand(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    _login(runner, env, monkeypatch)
    token_file = Path(env["KAIZALA_TOKEN_FILE"])
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    saved = token_file.read_text()

    who = runner.invoke(app, ["whoami"], env=env)
    assert who.exit_code == 0 and "+911234567890" in who.output
    created = runner.invoke(app, ["groups", "create", "Ops", "--member", "+919652000001"], env=env)
    assert created.exit_code == 0, created.output
    gid = created.output.strip().splitlines()[-1]
    listed = runner.invoke(app, ["groups", "list", "--json"], env=env)
    rows = [json.loads(x) for x in listed.output.splitlines()]
    ops = next(r for r in rows if r["groupId"] == gid)
    assert ops["groupName"] == "Ops" and len(ops) > 2  # the full model, not two fields
    added = runner.invoke(app, ["members", "add", gid, "+919652000002"], env=env)
    assert added.exit_code == 0 and "all added" in added.output
    members = runner.invoke(app, ["members", "list", gid], env=env)
    assert "+919652000002" in members.output
    sent = runner.invoke(app, ["send", gid, "hello from the shell"], env=env)
    assert sent.exit_code == 0 and sent.output.strip()
    hooks = runner.invoke(app, ["webhooks", "list", gid], env=env)
    assert hooks.exit_code == 0 and hooks.output.strip() == ""
    gone = runner.invoke(app, ["webhooks", "delete", "no-such-hook"], env=env)
    assert gone.exit_code == 1 and "Traceback" not in gone.output
    for result in (who, created, listed, added, members, sent):
        assert env["KAIZALA_APPLICATION_SECRET"] not in result.output
    assert all(
        secret not in who.output
        for secret in json.loads(saved).values()
        if isinstance(secret, str) and len(secret) > 20
    )


@pytest.mark.parametrize(
    ("args", "extra_env", "code", "message"),
    [
        (["login", "--mobile", "12345"], {}, 2, "mobile_number"),
        (["fanout", "--groups", "/no/such/file", "--text", "hi"], {}, 2, "no such file"),
        (["whoami"], {"KAIZALA_APPLICATION_SECRET": "wrong-secret"}, 3, "authentication failed"),
        # A refresh token given for that root: the saved tokens (the emulator's) are not used.
        (
            ["whoami"],
            {"KAIZALA_API_ROOT": "http://127.0.0.1:9", "KAIZALA_REFRESH_TOKEN": "a-refresh-token"},
            5,
            "network failure",
        ),
        (["send", "g", ""], {}, 2, "text"),
        (["whoami"], {"KAIZALA_LIMITS": "fast"}, 2, "KAIZALA_LIMITS"),
        (
            ["webhooks", "add", "g", "https://hooks.example.com/k/", "--event", "NoSuchEvent"],
            {"KAIZALA_CALLBACK_TOKEN": "a-long-random-value"},
            2,
            "unknown event type",
        ),
        (
            [
                "webhooks",
                "add",
                "g",
                "https://hooks.example.com/k/",
                "--event",
                "TextMessageCreated",
            ],
            {"KAIZALA_CALLBACK_TOKEN": ""},
            2,
            "KAIZALA_CALLBACK_TOKEN",
        ),
    ],
)
def test_bad_input_gives_one_line_and_its_exit_code(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    extra_env: dict[str, str],
    code: int,
    message: str,
) -> None:
    _login(CliRunner(), env, monkeypatch)
    result = CliRunner().invoke(app, args, env={**env, **extra_env})
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_fanout_in_a_subprocess_resumes_from_its_journal(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(CliRunner(), env, monkeypatch)
    root = env["KAIZALA_API_ROOT"]
    ids = httpx.post(
        f"{root}/_emulator/groups", json={"count": 30, "mobileNumber": "+911234567890"}
    ).json()["groupIds"]
    groups = tmp_path / "groups.txt"
    groups.write_text("\n".join(ids))
    journal = tmp_path / "run.db"
    command = [
        *KAIZALA,
        "fanout",
        "--groups",
        str(groups),
        "--text",
        "hi",
        "--journal",
        str(journal),
        "--json",
    ]
    first = _kaizala(command, env)
    again = _kaizala(command, env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["sent"] == 30
    assert json.loads(again.stdout)["skipped"] == 30
    per_group = httpx.get(f"{root}/_emulator/stats").json()["messagesPerGroup"]
    assert [per_group[g] for g in ids] == [1] * 30


def test_fanout_resend_settles_the_chosen_unknown_groups(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(CliRunner(), env, monkeypatch)
    root = env["KAIZALA_API_ROOT"]
    ids = httpx.post(
        f"{root}/_emulator/groups", json={"count": 4, "mobileNumber": "+911234567890"}
    ).json()["groupIds"]
    for group in ids[:2]:  # answers lost after the service acted: unknown
        httpx.post(f"{root}/_emulator/faults", json={
            "route": f"POST /v1/groups/{group}/messages", "resetRate": 1.0,
            "resetPhase": "after", "times": 1})  # fmt: skip
    groups = tmp_path / "groups.txt"
    groups.write_text("\n".join(ids))
    journal = tmp_path / "run.db"
    command = [*KAIZALA, "fanout", "--groups", str(groups), "--text", "hi",
               "--journal", str(journal), "--json"]  # fmt: skip
    first = json.loads(_kaizala(command, env).stdout)
    assert sorted(u["groupId"] for u in first["unknowns"]) == sorted(ids[:2])
    again = _kaizala([*command, "--resend", ids[0]], env)
    second = json.loads(again.stdout)
    assert [u["groupId"] for u in second["unknowns"]] == [ids[1]]  # only the one not chosen
    assert second["sent"] == 1 and second["skipped"] == 2
    per_group = httpx.get(f"{root}/_emulator/stats").json()["messagesPerGroup"]
    assert [per_group[g] for g in ids] == [2, 1, 1, 1]  # the resend was the user's call
    refused = _kaizala([*KAIZALA, "fanout", "--groups", str(groups), "--text", "hi",
                        "--resend", ids[1]], env)  # fmt: skip
    assert refused.returncode == 2 and "--journal" in refused.stderr


def test_emulator_subcommand_prints_its_api_root() -> None:
    process = subprocess.Popen(  # noqa: S603
        [*KAIZALA, "emulator", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        json.loads(process.stdout.readline())
        line = process.stdout.readline()
        assert line.startswith("Kaizala emulator API root: http://127.0.0.1:")
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_demo_in_a_subprocess_reports_everything_arrived() -> None:
    result = subprocess.run(  # noqa: S603
        [*KAIZALA, "demo", "--groups", "40"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "40 / 40" in result.stdout
    assert "everything arrived" in result.stdout
    assert "fast limit profile" in result.stdout


def test_help_reads_well() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "demo",
        "emulator",
        "login",
        "whoami",
        "groups",
        "members",
        "send",
        "webhooks",
        "fanout",
    ):
        assert command in result.output


def test_service_text_is_printed_literally_not_as_markup(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group named "[/x]" used to crash `groups list` (rich read it as a closing tag), and
    "[bold red]Alert" came out styled."""
    runner = CliRunner()
    _login(runner, env, monkeypatch)
    for name in ("[/x]", "[bold red]Alert"):
        created = runner.invoke(app, ["groups", "create", name], env=env)
        assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["groups", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "[/x]" in listed.output and "[bold red]Alert" in listed.output
    assert "Traceback" not in listed.output


def test_version_and_short_help() -> None:
    runner = CliRunner()
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip().startswith("kaizala 0.")
    short = runner.invoke(app, ["groups", "-h"])
    assert short.exit_code == 0 and "list" in short.output


def test_api_calls_any_endpoint_and_json_lists_every_field(
    env: dict[str, str], emulator: tuple[dict[str, str], str]
) -> None:
    """`kaizala api` for a GET and a POST; `--json` on the data commands prints full models.
    A portal refresh token in KAIZALA_REFRESH_TOKEN is enough: no login."""
    credentials, _ = emulator
    env = {**env, "KAIZALA_REFRESH_TOKEN": credentials["refreshToken"]}
    runner = CliRunner()
    created = runner.invoke(app, ["groups", "create", "Night shift"], env=env)
    assert created.exit_code == 0, created.output
    gid = created.output.strip().splitlines()[-1]
    got = runner.invoke(app, ["api", "GET", f"/groups/{gid}"], env=env)
    assert got.exit_code == 0, got.output
    body = json.loads(got.output)  # the service's own answer: G3 wraps the group in "groups"
    group = body["groups"][0] if "groups" in body else body
    assert group["groupName"] == "Night shift"
    posted = runner.invoke(
        app, ["api", "POST", f"/groups/{gid}/messages", "-f", "message=hello from api"], env=env
    )
    assert posted.exit_code == 0, posted.output
    assert json.loads(posted.output)["referenceId"]
    for command in (["members", "list", gid, "--json"], ["webhooks", "list", gid, "--json"]):
        listed = runner.invoke(app, command, env=env)
        assert listed.exit_code == 0, listed.output
        for line in listed.output.splitlines():
            assert isinstance(json.loads(line), dict)
    members = [json.loads(x) for x in runner.invoke(app, ["members", "list", gid, "--json"],
                                                     env=env).output.splitlines()]  # fmt: skip
    assert members and all("mobileNumber" in m for m in members)
    bad = runner.invoke(app, ["api", "GET", "/groups", "-f", "oops"], env=env)
    assert bad.exit_code == 2 and "key=value" in bad.output


def test_whoami_before_login_says_what_to_do(env: dict[str, str]) -> None:
    """One hint and one exit code wherever there is no login (``whoami`` said `kaizala login`,
    exit 2; ``auth status`` `kaizala auth login`, exit 3)."""
    for command in (["whoami"], ["auth", "status"], ["groups", "list"]):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 3, (command, result.output)
        assert result.output.startswith("not logged in: ")
        assert result.output.rstrip().endswith("run `kaizala auth login`")


def test_a_second_command_makes_no_token_call(
    env: dict[str, str], emulator: tuple[dict[str, str], str]
) -> None:
    """The access token is kept in the token file (0600) with its expiry: the next command
    reuses it. Counted by the emulator (every call counts, the token call too)."""
    credentials, root = emulator
    env = {**env, "KAIZALA_REFRESH_TOKEN": credentials["refreshToken"]}
    runner = CliRunner()

    def calls() -> int:
        stats = httpx.get(f"{root}/_emulator/stats").json()
        return int(stats["connectors"][credentials["applicationId"]]["calls"])

    before = calls()
    first = runner.invoke(app, ["groups", "list"], env=env)
    assert first.exit_code == 0, first.output
    middle = calls()
    second = runner.invoke(app, ["groups", "list"], env=env)
    assert second.exit_code == 0, second.output
    assert middle - before == 2  # a token call and the listing
    assert calls() - middle == 1  # the listing alone
    token_file = Path(env["KAIZALA_TOKEN_FILE"])
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"


def test_emulator_help_lists_its_options() -> None:
    result = CliRunner().invoke(app, ["emulator", "-h"])
    assert result.exit_code == 0
    for option in ("--connector-limit", "--throttle", "--network", "--port"):
        assert option in result.output
    assert "kaizala emulator" in result.output


def test_auth_login_with_a_token_on_stdin_status_and_logout(
    env: dict[str, str], emulator: tuple[dict[str, str], str]
) -> None:
    credentials, _ = emulator
    runner = CliRunner()
    saved = runner.invoke(app, ["auth", "login", "--with-token"], env=env,
                          input=credentials["refreshToken"] + "\n")  # fmt: skip
    assert saved.exit_code == 0, saved.output
    assert credentials["refreshToken"] not in saved.output
    token_file = Path(env["KAIZALA_TOKEN_FILE"])
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    who = runner.invoke(app, ["whoami"], env=env)
    assert who.exit_code == 0 and "+911234567890" in who.output
    status = runner.invoke(app, ["auth", "status"], env=env)
    assert status.exit_code == 0 and "access token valid" in status.output
    for secret in json.loads(token_file.read_text()).values():
        assert str(secret.get("refreshToken")) not in status.output
    gone = runner.invoke(app, ["auth", "logout"], env=env)
    assert gone.exit_code == 0 and "logged out" in gone.output
    after = runner.invoke(app, ["auth", "status"], env=env)
    assert after.exit_code == 3 and "kaizala auth login" in after.output
    both = runner.invoke(app, ["auth", "login"], env=env)
    assert both.exit_code == 2


def test_every_data_command_speaks_json_and_fields_selects(
    env: dict[str, str], emulator: tuple[dict[str, str], str]
) -> None:
    """`--json` on every command that prints data: one object per line with the model's
    fields; `--fields` keeps only the named ones."""
    credentials, _ = emulator
    env = {**env, "KAIZALA_REFRESH_TOKEN": credentials["refreshToken"]}
    runner = CliRunner()

    def lines(*args: str) -> list[dict[str, object]]:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.output.splitlines() if line.strip()]

    (me,) = lines("whoami", "--json")
    assert me["mobileNumber"] == "+911234567890"
    (created,) = lines("groups", "create", "Json team", "--json")
    gid = str(created["groupId"])
    (sent,) = lines("send", gid, "hello", "--json")
    assert sent["referenceId"]
    picked = lines("groups", "list", "--json", "--fields", "groupId,groupName")
    assert all(set(row) == {"groupId", "groupName"} for row in picked)
    assert {"groupId": gid, "groupName": "Json team"} in picked
    (member, *_) = lines("members", "list", gid, "--json", "--fields", "mobileNumber")
    assert set(member) == {"mobileNumber"}


def test_connection_options_are_declared_once_before_the_command(
    env: dict[str, str], emulator: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    """`--application-id`, `--api-root` and `--token-file` belong to `kaizala` itself (as
    `stripe --api-key`): given there they win over the environment for every command, and a
    command's own help no longer repeats them."""
    credentials, root = emulator
    wrong = {
        **env,
        "KAIZALA_APPLICATION_ID": "not-this-one",
        "KAIZALA_API_ROOT": "http://127.0.0.1:9",
        "KAIZALA_TOKEN_FILE": str(tmp_path / "not-this.json"),
        "KAIZALA_REFRESH_TOKEN": credentials["refreshToken"],
    }
    chosen = tmp_path / "chosen.json"
    options = ["--application-id", credentials["applicationId"], "--api-root", root,
               "--token-file", str(chosen)]  # fmt: skip
    runner = CliRunner()
    listed = runner.invoke(app, [*options, "groups", "list", "--json"], env=wrong)
    assert listed.exit_code == 0, listed.output
    assert chosen.exists() and not (tmp_path / "not-this.json").exists()
    status = runner.invoke(app, [*options, "auth", "status"], env=wrong)
    assert status.exit_code == 0 and credentials["applicationId"] in status.output

    top = runner.invoke(app, ["--help"], env={"COLUMNS": "100"})
    assert "--application-id ID" in top.output and "--token-file PATH" in top.output
    for command in (["groups", "list"], ["send"], ["fanout"], ["auth", "status"], ["whoami"]):
        own = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
        assert own.exit_code == 0 and "--application-id" not in own.output, command
    after = runner.invoke(app, ["groups", "list", "--api-root", root], env=wrong)
    assert after.exit_code == 2 and "No such option" in after.output


def _every_command() -> list[list[str]]:
    import typer.main

    def walk(command: object, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in getattr(command, "commands", {}).items():
            found += walk(sub, [*path, name])
        return found

    return walk(typer.main.get_command(app), [])


def test_every_command_has_one_plain_look() -> None:
    """One look throughout, as `gh` and `stripe` print help: no `<bool>` after a flag, no
    reStructuredText double backquotes, no rich boxes for some commands and argparse's look for
    others; each command's short help is a whole sentence, never cut with "..."."""
    commands = _every_command()
    assert ["emulator"] in commands and ["fanout", "status"] in commands and len(commands) > 15
    for path in commands:
        shown = CliRunner().invoke(app, [*path, "-h"], env={"COLUMNS": "100"})
        assert shown.exit_code == 0, path
        text = shown.output
        assert text.startswith(f"Usage: kaizala {' '.join(path)}".rstrip() + " "), path
        for wrong in ("<bool>", "``", "╭", "│", ":func:", "usage: "):
            assert wrong not in text, (path, wrong)
        if "Commands:" in text:
            listed = text.split("Commands:", 1)[1]
            assert "..." not in listed, (path, listed)
