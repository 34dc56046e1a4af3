"""How ``kaizala auth`` checks and keeps a refresh token (``cli._auth._check_and_save``) on its
own, against a loopback emulator: saved unchecked without a secret, saved with its access token
once the service accepts it, nothing saved and one line when it refuses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import typer

from kaizala_async import FileTokenStore, Secret, ValidationError
from kaizala_async.cli._app import EXIT_AUTH
from kaizala_async.cli._auth import _check_and_save


def settings(emulator: tuple[dict[str, str], str], folder: Path, **changes: Any) -> dict[str, Any]:
    credentials, root = emulator
    found = {
        "application_id": credentials["applicationId"],
        "application_secret": credentials["applicationSecret"],
        "api_root": root,
        "token_file": folder / "tokens.json",
    }
    found.update(changes)
    return found


def stored(s: dict[str, Any]) -> Any:
    return asyncio.run(FileTokenStore(s["token_file"]).load(s["application_id"]))


@pytest.fixture(autouse=True)
def fast_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZALA_LIMITS", "100/1,300/1")


def test_without_a_secret_the_token_is_saved_unchecked(
    emulator: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    s = settings(emulator, tmp_path, application_secret=None)
    assert asyncio.run(_check_and_save(s, Secret("unchecked-token"), "the token")) is False
    found = stored(s)
    assert (found.application_id, found.refresh_token.reveal(), found.api_root) == (
        s["application_id"],
        "unchecked-token",
        s["api_root"],
    )
    assert found.access_token is None


def test_an_accepted_token_is_saved_with_its_access_token(
    emulator: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    s = settings(emulator, tmp_path)
    refresh = Secret(emulator[0]["refreshToken"])
    assert asyncio.run(_check_and_save(s, refresh, "the token")) is True
    found = stored(s)
    assert found.application_id == s["application_id"] and found.access_token is not None


def test_a_refused_token_saves_nothing_and_says_whom_the_service_refused(
    emulator: tuple[dict[str, str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = settings(emulator, tmp_path, application_secret="not-the-secret")
    with pytest.raises(typer.Exit) as info:
        asyncio.run(
            _check_and_save(s, Secret(emulator[0]["refreshToken"]), "the application secret")
        )
    assert info.value.exit_code == EXIT_AUTH
    line = capsys.readouterr().err
    assert line.startswith("login refused: the service did not accept the application secret: ")
    assert line.rstrip().endswith("; nothing was saved") and line.count("\n") == 1
    assert len(line.split(": ", 2)[2].split("; nothing")[0]) > 0  # the service's own words
    assert stored(s) is None


def test_the_check_paces_by_the_limits_it_is_given(
    emulator: tuple[dict[str, str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAIZALA_LIMITS", "not-limits")
    s = settings(emulator, tmp_path)
    with pytest.raises(ValidationError) as info:
        asyncio.run(_check_and_save(s, Secret(emulator[0]["refreshToken"]), "the token"))
    assert info.value.argument == "KAIZALA_LIMITS"
