"""``python -m kaizala_async.emulator`` (``emulator.__main__``) run in this process, and the
helper that runs it in a child process (``emulator._process``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any, ClassVar

import httpx
import pytest

from kaizala_async._ratelimit import Rate
from kaizala_async.emulator import Emulator, EmulatorConfig, NetworkProfile, emulator_process
from kaizala_async.emulator import __main__ as cli


def test_limits_read_as_limit_slash_seconds() -> None:
    assert cli._rate("100/60") == Rate(100, 60.0)
    assert cli._rate("5/0.5") == Rate(5, 0.5)
    assert cli._rate("7") == Rate(7, 60.0)  # seconds default to a minute
    for wrong in ("x/60", "100/x", "1.5/60"):
        with pytest.raises(argparse.ArgumentTypeError) as caught:
            cli._rate(wrong)
        assert str(caught.value) == f"expected LIMIT/SECONDS such as 100/60, not {wrong!r}"


def test_a_network_profile_that_does_not_parse_is_an_argument_error_saying_why() -> None:
    assert cli._network("fixed:0.5") == NetworkProfile(base=0.5)
    with pytest.raises(argparse.ArgumentTypeError, match="use fixed:S, uniform:LOW-HIGH"):
        cli._network("gauss:1")


def test_bad_options_are_refused_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--throttle", "nope"], ["--connector-limit", "a/b"], ["--network", "x"]):
        with pytest.raises(SystemExit) as caught:
            cli.main(argv)
        assert caught.value.code == 2
    assert capsys.readouterr().err.startswith("usage: python -m kaizala_async.emulator [-h]")


def test_without_uvicorn_it_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # the import then fails
    assert cli.main(["--port", "0"]) == 2
    assert capsys.readouterr().err == (
        "the loopback emulator needs uvicorn: pip install '.[emulator]' (from a checkout of kaizala-async)\n"
    )


def _headers(credentials: dict[str, str]) -> dict[str, str]:
    return {key: credentials[key] for key in ("applicationId", "applicationSecret", "refreshToken")}


class _Lines:
    """A stdout for the server's thread: the lines it prints, as they come."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        self.lines.extend(done)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def wait_for(self, count: int) -> list[str]:
        deadline = time.monotonic() + 20
        while len(self.lines) < count:
            assert time.monotonic() < deadline, self.lines
            time.sleep(0.01)
        return self.lines[:count]


def test_it_serves_with_the_options_given_and_prints_each_connectors_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    built: list[Emulator] = []
    servers: list[uvicorn.Server] = []

    class Recorded(Emulator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    class Server(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            servers.append(self)

    out = _Lines()
    monkeypatch.setattr(cli, "Emulator", Recorded)
    monkeypatch.setattr(uvicorn, "Server", Server)
    monkeypatch.setattr(sys, "stdout", out)
    argv = ["--port", "0", "--connectors", "2", "--throttle", "gcra", "--connector-limit", "5/2",
            "--tenant-limit", "9/3", "--token-ttl", "30", "--seed", "4", "--fault-rate", "1",
            "--network", "fixed:0"]  # fmt: skip
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(cli.main(argv)))
    thread.start()
    try:
        first, second, banner = out.wait_for(3)
        (emu,) = built
        config = emu.config
        assert (config.throttle, config.connector_limit, config.tenant_limit) == (
            "gcra",
            Rate(5, 2.0),
            Rate(9, 3.0),
        )
        assert (config.access_token_ttl, config.seed) == (30.0, 4)
        assert config.network == NetworkProfile(base=0.0)
        assert [f.error_rate for f in emu.app.faults.faults] == [1.0]
        assert servers[0].config.host == "127.0.0.1"
        root = banner.removeprefix("Kaizala emulator API root: ")
        assert root == emu.api_root and root.startswith("http://127.0.0.1:")
        assert not root.endswith(":0")
        credentials = [json.loads(first), json.loads(second)]
        assert [set(c) for c in credentials] == [
            {"applicationId", "applicationSecret", "refreshToken"}
        ] * 2
        assert credentials[0]["applicationId"] != credentials[1]["applicationId"]
        assert set(emu.app.world.connectors) == {c["applicationId"] for c in credentials}
        assert {c.tenant.name for c in emu.app.world.connectors.values()} == {"contoso"}
        # Every API call is answered 503 (the fault rate of 1), over real loopback HTTP.
        token = httpx.get(f"{root}/v1/accessToken", headers=_headers(credentials[0]))
        assert token.status_code == 200, token.text
        answer = httpx.get(
            f"{root}/v1/groups", headers={"accessToken": token.json()["accessToken"]}
        )
        assert answer.status_code == 503
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout=20)
    assert result == [0]


def test_the_child_process_helper_yields_its_root_and_credentials_and_stops_it() -> None:
    with emulator_process("--seed", "2", connectors=2) as process:
        assert len(process.credentials) == 2
        assert process.root.startswith("http://127.0.0.1:")
        answer = httpx.get(
            f"{process.root}/v1/accessToken", headers=_headers(process.credentials[1])
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["accessToken"]
        pid = process.pid
        os.kill(pid, 0)  # running
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the emulator process {pid} outlived its with block")


def test_the_help_names_every_option_with_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--help"], prog="kaizala emulator")
    assert caught.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    assert text.startswith("usage: kaizala emulator [-h]")
    for part in (
        " Run the Kaizala emulator on loopback. ",
        "--host HOST address to bind (default 127.0.0.1)",
        "--port PORT port (0 picks a free one)",
        "--throttle {sliding-log,fixed-window,sliding-window-counter,token-bucket,gcra}",
        "--connector-limit N/SECONDS",
        "--tenant-limit N/SECONDS",
        "--token-ttl TOKEN_TTL access token lifetime, seconds",
        "--fault-rate FAULT_RATE share of calls answered 503",
        "--seed SEED",
        "--network PROFILE per-call delays each way: fixed:S, uniform:LOW-HIGH or spikes:BASE,RATE,LOW-HIGH",
        "--connectors CONNECTORS connectors to create in tenant 'contoso'",
    ):
        assert part in text, part


class _Config:
    """uvicorn.Config's stand-in: records what it is given."""

    given: ClassVar[dict[str, Any]] = {}

    def __init__(self, app: Any, **options: Any) -> None:
        _Config.given = {"app": app, **options}


class _Server:
    """uvicorn.Server's stand-in: "listens" on the port it is given for a moment, then stops."""

    def __init__(self, config: _Config) -> None:
        self.started = False
        socket = SimpleNamespace(getsockname=lambda: ("127.0.0.1", _Config.given["port"]))
        self.servers = [SimpleNamespace(sockets=[socket])]

    async def serve(self) -> None:
        self.started = True
        await asyncio.sleep(0.05)


def test_the_defaults_are_the_services_limits_on_port_8080_of_the_local_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[Emulator] = []

    class Recorded(Emulator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    import uvicorn.protocols.http.auto  # the real protocol, loaded before uvicorn is replaced

    del uvicorn
    monkeypatch.setitem(sys.modules, "uvicorn", SimpleNamespace(Config=_Config, Server=_Server))
    monkeypatch.setattr(cli, "Emulator", Recorded)
    assert cli.main([]) == 0
    (emu,) = built
    assert emu.config == EmulatorConfig()
    assert emu.app.faults.faults == []  # no fault unless a rate is given
    credentials, banner = capsys.readouterr().out.splitlines()
    assert banner == "Kaizala emulator API root: http://127.0.0.1:8080"
    assert list(emu.app.world.connectors) == [json.loads(credentials)["applicationId"]]
    (grant,) = emu.app.world.refresh.values()
    assert grant.mobile_number == "+911234567890"
    assert json.loads(credentials)["refreshToken"] in emu.app.world.refresh
    options = dict(_Config.given)
    app = options.pop("app")
    assert options == {
        "host": "127.0.0.1", "port": 8080, "log_level": "warning", "lifespan": "off",
        "interface": "asgi3", "http": options["http"], "timeout_graceful_shutdown": 2,
    }  # fmt: skip
    assert issubclass(options["http"], asyncio.Protocol)
    assert callable(app)


def test_the_port_is_a_number_and_a_fault_rate_adds_one_fault(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn.protocols.http.auto  # the real protocol, loaded before uvicorn is replaced

    del uvicorn
    monkeypatch.setitem(sys.modules, "uvicorn", SimpleNamespace(Config=_Config, Server=_Server))
    built: list[Emulator] = []
    monkeypatch.setattr(cli, "Emulator", lambda config: built.append(Emulator(config)) or built[-1])
    assert cli.main(["--port", "8081", "--fault-rate", "0.5"]) == 0
    assert _Config.given["port"] == 8081
    assert [f.error_rate for f in built[0].app.faults.faults] == [0.5]
