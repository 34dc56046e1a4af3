"""The data commands (``cli._data``) on their own, in-process: each command's client is wired to
an in-process emulator, so what each prints, what it sends and what it refuses before sending
are checked without a server or a login."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from kaizala_async import EVENT_TYPES, KaizalaClient, RateLimits
from kaizala_async.cli import _data
from kaizala_async.cli._app import EXIT_INPUT, app
from kaizala_async.emulator import Emulator, EmulatorConfig

NUMBER = "+911234567890"


class Cli:
    """``kaizala`` run in-process against one emulator; counts the clients the commands open."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.clients = 0
        self.groups = emulator.create_groups(2)
        self.connector = emulator.create_connector()
        self.refresh = emulator.issue_refresh_token(self.connector, NUMBER)

    def client(self) -> KaizalaClient:
        from kaizala_async import Credentials

        self.clients += 1
        credentials = Credentials(
            self.connector.application_id, self.connector.application_secret, self.refresh
        )
        return KaizalaClient(
            credentials,
            api_root=self.emulator.api_root,
            transport=self.emulator.transport(),
            limits=RateLimits.unlimited(),
        )

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return CliRunner().invoke(app, list(args), env=env)

    def messages(self, group: str) -> int:
        return int(self.emulator.stats()["messagesPerGroup"].get(group, 0))


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    harness = Cli(Emulator(EmulatorConfig.fast()))
    monkeypatch.setattr(_data, "_client", harness.client)
    monkeypatch.delenv("KAIZALA_CALLBACK_TOKEN", raising=False)
    return harness


# -- groups and members ------------------------------------------------------------------------


def test_groups_are_listed_one_a_line_or_as_json(cli: Cli) -> None:
    plain = cli("groups", "list")
    assert plain.exit_code == 0
    lines = plain.output.splitlines()
    assert sorted(line.split("  ")[0] for line in lines) == sorted(cli.groups)
    shown = cli("groups", "list", "--json", "--fields", "groupId")
    assert sorted(json.loads(line)["groupId"] for line in shown.output.splitlines()) == sorted(
        cli.groups
    )
    assert all(list(json.loads(line)) == ["groupId"] for line in shown.output.splitlines())


def test_a_group_is_created_and_its_id_printed(cli: Cli) -> None:
    created = cli("groups", "create", "Stores", "--member", NUMBER)
    assert created.exit_code == 0
    group_id = created.output.strip()
    assert group_id and "warning" not in created.output
    as_json = cli("groups", "create", "Depots", "--welcome", "Hi", "--json")
    assert json.loads(as_json.output)["groupName"] == "Depots"


def test_members_are_listed_and_added(cli: Cli) -> None:
    group = cli.groups[0]
    listed = cli("members", "list", group)
    assert listed.exit_code == 0 and NUMBER in listed.output
    assert (
        json.loads(cli("members", "list", group, "--json").output.splitlines()[0])["mobileNumber"]
        == NUMBER
    )
    added = cli("members", "add", group, "+911234567891")
    assert (added.exit_code, added.output.strip()) == (0, "all added")


def test_a_bad_number_is_refused_before_anything_is_sent(cli: Cli) -> None:
    result = cli("members", "add", cli.groups[0], "12")
    assert result.exit_code == EXIT_INPUT
    assert "numbers[0]" in result.output


# -- send --------------------------------------------------------------------------------------


def test_a_message_is_sent_once_and_its_reference_printed(cli: Cli) -> None:
    group = cli.groups[0]
    result = cli("send", group, "hello")
    assert result.exit_code == 0 and result.output.strip()
    assert cli.messages(group) == 1
    as_json = cli("send", group, "again", "--json")
    assert json.loads(as_json.output)["referenceId"]
    assert cli.messages(group) == 2


# -- webhooks ----------------------------------------------------------------------------------


def test_an_unknown_event_type_is_refused_naming_the_known_ones(cli: Cli) -> None:
    result = cli(
        "webhooks",
        "add",
        cli.groups[0],
        "https://hooks.example.com/k",
        "--event",
        "Nope",
        "--no-token",
    )
    assert result.exit_code == EXIT_INPUT
    assert "unknown event type(s) Nope" in result.output and EVENT_TYPES[0] in result.output
    assert cli.clients == 0  # refused before any client was opened


def test_a_webhook_needs_a_callback_token_unless_told_not_to(cli: Cli) -> None:
    result = cli(
        "webhooks",
        "add",
        cli.groups[0],
        "https://hooks.example.com/k",
        "--event",
        "TextMessageCreated",
    )
    assert result.exit_code == EXIT_INPUT
    assert "KAIZALA_CALLBACK_TOKEN" in result.output and "--no-token" in result.output
    assert cli.clients == 0


def test_webhooks_are_listed_and_deleted(cli: Cli) -> None:
    group = cli.groups[0]
    listed = cli("webhooks", "list", group)
    assert (listed.exit_code, listed.output) == (0, "")
    deleted = cli("webhooks", "delete", "no-such-hook")
    assert deleted.exit_code != 0  # the service's 404, one line
    assert len(deleted.output.strip().splitlines()) == 1


# -- api ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("text", "text"),
        ("3", 3),
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("true", True),
        ("NaN", "NaN"),  # not strict JSON: kept as text
        ("Infinity", "Infinity"),
        ("", ""),
    ],
)
def test_a_field_value_is_json_when_strict_json_else_text(raw: str, value: Any) -> None:
    assert _data._field_value(raw) == value


def test_a_field_nested_too_deep_is_refused() -> None:
    assert _data._field_value("[" * 32 + "]" * 32) is not None
    with pytest.raises(_data._NestedTooDeeply):
        _data._field_value("[" * 33 + "]" * 33)
    with pytest.raises(_data._NestedTooDeeply):
        _data._field_value('{"a":' * 40 + "1" + "}" * 40)
    with pytest.raises(_data._NestedTooDeeply):
        _data._field_value("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("field", ["novalue", "=value"])
def test_a_field_that_is_not_key_value_is_refused(cli: Cli, field: str) -> None:
    result = cli("api", "GET", "/groups", "-f", field)
    assert result.exit_code == EXIT_INPUT
    assert f"{field!r} is not key=value" in result.output
    assert cli.clients == 0


def test_a_deep_field_is_refused_by_name(cli: Cli) -> None:
    result = cli("api", "POST", "/groups", "-f", "deep=" + "[" * 40 + "]" * 40)
    assert result.exit_code == EXIT_INPUT
    assert "'deep' is nested deeper than 32 levels" in result.output


def test_api_prints_the_answers_json(cli: Cli) -> None:
    result = cli("api", "get", "/groups")
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert sorted(g["groupId"] for g in body["groups"]) == sorted(cli.groups)
    assert result.output.startswith("{\n  ")  # indented


def test_api_sends_fields_as_a_body_for_post_and_as_a_query_for_get(cli: Cli) -> None:
    group = cli.groups[0]
    posted = cli("api", "POST", f"/groups/{group}/messages", "-f", "message=hi")
    assert posted.exit_code == 0 and "referenceId" in posted.output
    assert cli.messages(group) == 1
    queried = cli("api", "GET", "/groups", "-f", "fetchAllGroups=true", "-f", "showDetail=false")
    assert queried.exit_code == 0 and json.loads(queried.output)["groups"]
