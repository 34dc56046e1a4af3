"""Where tokens live between runs: the `TokenStore` protocol, in memory, in a 0600 file."""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio
import attrs

from ._errors import KaizalaError
from ._secrets import Secret

__all__ = ["FileTokenStore", "MemoryTokenStore", "StoredTokens", "TokenStore"]

log = logging.getLogger("kaizala_async.auth")

#: A token file holds a few hundred bytes per connector; a far larger one is not ours.
_MAX_TOKEN_FILE = 16 * 1024 * 1024


class _NotOurs(Exception):
    """The file at the token store's path is not a token file."""


@attrs.frozen(kw_only=True)
class StoredTokens:
    """What a `TokenStore` keeps between runs.

    ``origin`` fingerprints the refresh token the chain started from, so that a store is not
    preferred over a newer refresh token the user passes in `Credentials`.
    """

    application_id: str
    refresh_token: Secret = attrs.field(repr=False)
    endpoint_url: str | None = None
    origin: str = ""
    #: The last access token, its expiry (seconds since the epoch) and lifetime: a new process
    #: (the next ``kaizala`` command) reuses it while it is valid instead of fetching another.
    access_token: Secret | None = attrs.field(default=None, repr=False)
    access_token_expiry: float | None = None
    access_token_lifetime: float | None = None
    #: When the connector's recent calls ended (seconds since the epoch): the next process
    #: paces from them instead of counting its budget as just used.
    recent_calls: tuple[float, ...] = ()
    #: The token service these tokens came from (None: saved by a release that did not say).
    #: A client of another API root does not use them, nor send their refresh token there.
    api_root: str | None = None
    #: A fingerprint of the application secret the access token was fetched with: a process
    #: given another secret fetches its own token (so a wrong secret is found at once).
    secret_fingerprint: str = ""


@runtime_checkable
class TokenStore(Protocol):
    """Where the refresh token (rotated every ~328 days) and the endpoint URL are kept."""

    async def load(self, application_id: str) -> StoredTokens | None:
        """The tokens saved for ``application_id``, or ``None``."""
        ...

    async def save(self, tokens: StoredTokens) -> None:
        """Save ``tokens``, replacing what was there, atomically."""
        ...


class MemoryTokenStore:
    """A `TokenStore` in memory (tests; processes that get tokens some other way)."""

    def __init__(self) -> None:
        self._data: dict[str, StoredTokens] = {}
        self.saves = 0

    async def load(self, application_id: str) -> StoredTokens | None:
        return self._data.get(application_id)

    async def save(self, tokens: StoredTokens) -> None:
        self._data[tokens.application_id] = tokens
        self.saves += 1

    def __repr__(self) -> str:
        return f"MemoryTokenStore(entries={len(self._data)})"


class FileTokenStore:
    """A `TokenStore` in a JSON file readable by its owner only (mode 0600).

    Every save writes a new file beside the old one and renames it over (atomic on POSIX), after
    an fsync, so a crash leaves either the old tokens or the new ones, never half of each. A file
    found with looser permissions is tightened and the fact logged.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    async def load(self, application_id: str) -> StoredTokens | None:
        return await anyio.to_thread.run_sync(self._load, application_id)

    async def save(self, tokens: StoredTokens) -> None:
        await anyio.to_thread.run_sync(self._save, tokens)

    def _read_all(self) -> dict[str, Any]:
        """The file's entries. It must be a regular file, not a symbolic link (one planted at
        the path would have the store read, tighten and rewrite whatever it points to), and
        hold a token file's shape; only then are loose permissions tightened."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            reason = "it is a symbolic link" if self.path.is_symlink() else type(exc).__name__
            raise KaizalaError(f"cannot read the token file {self.path}: {reason}") from None
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_size > _MAX_TOKEN_FILE:
            os.close(fd)  # checked before wrapping it: a folder cannot even be wrapped as a file
            raise KaizalaError(f"cannot read the token file {self.path}: it is not a token file")
        with os.fdopen(fd, "rb") as handle:
            try:
                data = json.loads(handle.read() or b"{}")
                if not isinstance(data, dict) or not all(
                    isinstance(v, dict) for v in data.values()
                ):
                    raise _NotOurs("it is not a token file")
                if stat.S_IMODE(found.st_mode) & 0o077:
                    os.fchmod(fd, 0o600)  # the file just checked, wherever its path leads now
                    log.warning("token file %s was readable by others; set to 0600", self.path,
                                extra={"kaizala_event": "kaizala.store.permissions_repaired"})  # fmt: skip
            except _NotOurs as exc:
                raise KaizalaError(f"cannot read the token file {self.path}: {exc}") from None
            except (OSError, ValueError, RecursionError) as exc:
                raise KaizalaError(
                    f"cannot read the token file {self.path}: {type(exc).__name__}"
                ) from None
        return data

    def _load(self, application_id: str) -> StoredTokens | None:
        entry = self._read_all().get(application_id)
        if not isinstance(entry, dict) or not entry.get("refreshToken"):
            return None
        access, expiry, lifetime = (entry.get(k) for k in ("accessToken", "accessTokenExpiry",
                                                            "accessTokenLifetime"))  # fmt: skip
        usable = (
            isinstance(access, str) and access
            and isinstance(expiry, int | float) and isinstance(lifetime, int | float)
        )  # fmt: skip
        return StoredTokens(
            application_id=application_id,
            refresh_token=Secret(str(entry["refreshToken"])),
            endpoint_url=entry.get("endpointUrl") or None,
            origin=str(entry.get("origin", "")),
            api_root=str(entry["apiRoot"]) if entry.get("apiRoot") else None,
            secret_fingerprint=str(entry.get("secretFingerprint") or ""),
            access_token=Secret(access) if usable else None,  # type: ignore[arg-type]
            access_token_expiry=float(expiry) if usable else None,  # type: ignore[arg-type]
            access_token_lifetime=float(lifetime) if usable else None,  # type: ignore[arg-type]
            recent_calls=tuple(
                float(t) for t in entry.get("recentCalls") or () if isinstance(t, int | float)
            ),
        )

    async def delete(self, application_id: str) -> bool:
        """Forget the tokens of ``application_id`` (a logout); True if there were any."""
        return await anyio.to_thread.run_sync(self._delete, application_id)

    def _delete(self, application_id: str) -> bool:
        data = self._read_all()
        if data.pop(application_id, None) is None:
            return False
        self._write_all(data)
        return True

    def _save(self, tokens: StoredTokens) -> None:
        data = self._read_all()
        entry: dict[str, Any] = {
            "refreshToken": tokens.refresh_token.reveal(),
            "endpointUrl": tokens.endpoint_url,
            "origin": tokens.origin,
        }
        if tokens.api_root:
            entry["apiRoot"] = tokens.api_root
        if tokens.access_token is not None and tokens.access_token_expiry is not None:
            entry["accessToken"] = tokens.access_token.reveal()
            entry["accessTokenExpiry"] = tokens.access_token_expiry
            entry["accessTokenLifetime"] = tokens.access_token_lifetime
            entry["secretFingerprint"] = tokens.secret_fingerprint
        if tokens.recent_calls:
            entry["recentCalls"] = list(tokens.recent_calls)
        data[tokens.application_id] = entry
        self._write_all(data)

    def _write_all(self, data: dict[str, Any]) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
