"""The pytest plugin users test their own code with (``kaizala_async.testing``, auto-loaded)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kaizala_async import KaizalaClient, Sent
from kaizala_async.emulator import Emulator, EmulatorProcess


async def notify_all(client: KaizalaClient, text: str) -> int:
    """A user's own code under test: send ``text`` to every group the user administers."""
    groups = [g.group_id async for g in client.groups.list()]
    report = await client.fan_out(groups, text=text)
    return report.sent


async def test_the_fixtures_give_an_emulator_and_a_connected_client(
    kaizala_emulator: Emulator, kaizala_client: KaizalaClient
) -> None:
    kaizala_emulator.create_groups(3)
    assert await notify_all(kaizala_client, "Door 3 is open") == 3
    stats = kaizala_emulator.stats()
    assert sorted(stats["messagesPerGroup"].values()) == [1, 1, 1]


async def test_each_test_gets_a_fresh_emulator(kaizala_emulator: Emulator) -> None:
    assert kaizala_emulator.stats()["messagesPerGroup"] == {}


def test_the_loopback_emulator_is_served_for_the_session(
    kaizala_loopback: EmulatorProcess,
) -> None:
    c = kaizala_loopback.credentials[0]
    answer = httpx.get(
        f"{kaizala_loopback.root}/v1/accessToken",
        headers={
            "applicationId": c["applicationId"],
            "applicationSecret": c["applicationSecret"],
            "refreshToken": c["refreshToken"],
        },
        timeout=10,
    )
    assert answer.status_code == 200 and "accessToken" in answer.json()


def test_the_plugin_is_registered_by_the_package(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("kaizala")
    assert plugin is not None and plugin.__name__ == "kaizala_async.testing"


async def test_sent_outcomes_are_reported(
    kaizala_emulator: Emulator, kaizala_client: KaizalaClient
) -> None:
    group = kaizala_emulator.create_groups(1)[0]
    outcomes = [o async for o in _stream(kaizala_client, group)]
    assert [type(o) for o in outcomes] == [Sent]


async def _stream(client: KaizalaClient, group: str):  # type: ignore[no-untyped-def]
    async with client.fan_out_stream([group], text="hello") as stream:
        async for outcome in stream:
            yield outcome


def test_the_example_test_file_passes() -> None:
    """``examples/test_notify.py`` is what the guide shows: it runs, as a user would run it."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/test_notify.py"],
        cwd=root, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_users_project_runs_the_fixtures_with_warnings_as_errors(tmp_path: Path) -> None:
    """A project of its own (its own folder and configuration, the plugin loaded by its entry
    point) using ``kaizala_client`` passes with ``-W error``: the plugin causes no warning.
    (pytest-asyncio warns, with or without this plugin, when a project leaves
    ``asyncio_default_fixture_loop_scope`` unset: the guide says to set it.)"""
    import subprocess
    import sys

    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    (tmp_path / "test_mine.py").write_text(
        "async def test_mine(kaizala_client, kaizala_emulator):\n"
        "    kaizala_emulator.create_groups(2)\n"
        "    assert len([g async for g in kaizala_client.groups.list()]) == 2\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider",
         "-p", "no:randomly"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout and "warning" not in result.stdout.lower()
