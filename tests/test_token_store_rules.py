"""The token stores on their own (``_token_store``): what a save writes and a load gives back,
field for field; a logout; every way a file at the path can be refused, and why it is said;
permissions tightened and logged; the atomic write's temporary file and folder."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from kaizala_async import FileTokenStore, KaizalaError, MemoryTokenStore, StoredTokens
from kaizala_async._secrets import Secret
from kaizala_async._token_store import _MAX_TOKEN_FILE


def _tokens(app: str = "app-1", **changes: object) -> StoredTokens:
    fields: dict[str, object] = {
        "application_id": app,
        "refresh_token": Secret(f"store-rules-refresh-{app}"),
        "endpoint_url": "https://kms.kaiza.la/",
        "origin": "fp-origin",
        "access_token": Secret(f"store-rules-access-{app}"),
        "access_token_expiry": 2_000_000_000.0,
        "access_token_lifetime": 86_400.0,
        "recent_calls": (1_999_999_000.0, 1_999_999_500.5),
        "api_root": "https://api.kaiza.la",
        "secret_fingerprint": "fp-secret",
    }
    fields.update(changes)
    return StoredTokens(**fields)  # type: ignore[arg-type]


def _load(store: FileTokenStore, app: str = "app-1") -> StoredTokens | None:
    return asyncio.run(store.load(app))


def test_a_save_loads_back_field_for_field_in_a_readable_file(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    saved = _tokens()
    asyncio.run(store.save(saved))
    loaded = _load(store)
    assert loaded is not None
    for name in ("application_id", "endpoint_url", "origin", "access_token_expiry",
                 "access_token_lifetime", "recent_calls", "api_root", "secret_fingerprint"):  # fmt: skip
        assert getattr(loaded, name) == getattr(saved, name), name
    assert loaded.refresh_token.reveal() == "store-rules-refresh-app-1"
    assert (
        loaded.access_token is not None
        and loaded.access_token.reveal() == "store-rules-access-app-1"
    )
    text = (tmp_path / "tokens.json").read_text(encoding="utf-8")
    assert text.startswith('{\n  "app-1": {\n    "refreshToken": ')  # indented for a person
    assert set(json.loads(text)["app-1"]) == {
        "refreshToken", "endpointUrl", "origin", "apiRoot", "accessToken", "accessTokenExpiry",
        "accessTokenLifetime", "secretFingerprint", "recentCalls",
    }  # fmt: skip


def test_what_was_not_known_is_not_written_and_loads_as_its_default(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    bare = _tokens(access_token=None, api_root=None, recent_calls=(), origin="")
    asyncio.run(store.save(bare))  # an expiry with no token: neither is written
    written = json.loads((tmp_path / "tokens.json").read_text())["app-1"]
    assert set(written) == {"refreshToken", "endpointUrl", "origin"}
    loaded = _load(store)
    assert loaded is not None and loaded.access_token is None and loaded.api_root is None
    # An entry written by hand (or an older release) with only a refresh token.
    (tmp_path / "tokens.json").write_text(
        json.dumps(
            {
                "app-1": {
                    "refreshToken": "hand-written-refresh-1",
                    "accessToken": "",
                    "accessTokenExpiry": 1,
                    "accessTokenLifetime": 2,
                }
            }
        )
    )
    minimal = _load(store)
    assert minimal is not None
    assert (minimal.origin, minimal.secret_fingerprint, minimal.api_root) == ("", "", None)
    assert minimal.access_token is None and minimal.access_token_expiry is None


def test_a_logout_forgets_one_connector_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    asyncio.run(store.save(_tokens("app-1")))
    asyncio.run(store.save(_tokens("app-2")))
    assert asyncio.run(store.delete("app-1")) is True
    assert _load(store, "app-1") is None and _load(store, "app-2") is not None
    assert asyncio.run(store.delete("app-1")) is False
    assert set(json.loads(path.read_text())) == {"app-2"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _refusal(store: FileTokenStore) -> str:
    with pytest.raises(KaizalaError) as caught:
        _load(store)
    return str(caught.value)


def test_every_file_that_is_not_a_token_file_is_refused_saying_why(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert _refusal(FileTokenStore(link)) == (
        f"cannot read the token file {link}: it is a symbolic link"
    )
    blocked = tmp_path / "a-file" / "tokens.json"
    (tmp_path / "a-file").write_text("")
    assert _refusal(FileTokenStore(blocked)).endswith(": NotADirectoryError")
    folder = tmp_path / "folder"
    folder.mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    values = tmp_path / "values.json"
    values.write_text('{"app-1": "not an entry"}')
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(_MAX_TOKEN_FILE + 1)
    for path in (folder, fifo, listing, values, huge):
        assert _refusal(FileTokenStore(path)) == (
            f"cannot read the token file {path}: it is not a token file"
        ), path
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{not json")
    assert _refusal(FileTokenStore(garbled)).endswith(": JSONDecodeError")
    at_the_cap = tmp_path / "cap.json"
    with at_the_cap.open("wb") as handle:
        handle.truncate(_MAX_TOKEN_FILE)  # read (and found not to be JSON), not refused unread
    assert _refusal(FileTokenStore(at_the_cap)).endswith(": JSONDecodeError")


def test_an_empty_file_holds_no_tokens(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_bytes(b"")
    assert _load(FileTokenStore(tmp_path / "tokens.json")) is None


def test_loose_permissions_are_tightened_and_logged_tight_ones_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    asyncio.run(store.save(_tokens()))
    with caplog.at_level(logging.WARNING, logger="kaizala_async"):
        assert _load(store) is not None
    assert caplog.records == []  # 0600 already: nothing to say
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="kaizala_async"):
        assert _load(store) is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (record,) = caplog.records
    assert record.getMessage() == f"token file {path} was readable by others; set to 0600"
    assert getattr(record, "kaizala_event", None) == "kaizala.store.permissions_repaired"


def test_a_save_writes_beside_the_file_then_renames_and_makes_private_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new" / "deeper" / "tokens.json"
    store = FileTokenStore(path)
    renamed: list[tuple[str, str]] = []
    replace = os.replace

    def watched(source: str, target: str) -> None:
        renamed.append((str(source), str(target)))
        replace(source, target)

    monkeypatch.setattr(os, "replace", watched)
    asyncio.run(store.save(_tokens()))
    ((source, target),) = renamed
    assert Path(source).parent == path.parent and Path(source).name.startswith(".tokens.json.")
    assert target == str(path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # the token file's own folder


def test_a_failed_save_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    asyncio.run(store.save(_tokens("app-1")))
    before = path.read_bytes()

    def failing(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError, match="No space left"):
        asyncio.run(store.save(_tokens("app-2")))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json"]


def test_the_memory_store_counts_its_saves_and_the_file_store_names_its_file(
    tmp_path: Path,
) -> None:
    memory = MemoryTokenStore()
    assert memory.saves == 0
    asyncio.run(memory.save(_tokens()))
    asyncio.run(memory.save(_tokens()))
    assert memory.saves == 2 and repr(memory) == "MemoryTokenStore(entries=1)"
    assert (
        repr(FileTokenStore(tmp_path / "t.json")) == f"FileTokenStore({str(tmp_path / 't.json')!r})"
    )
