"""Credentials and the token manager (DESIGN §5); the stores are in ``_token_store``.

PIN -> refresh token (A1, A2); refresh token -> access token + endpointUrl (A3). The manager keeps
one access token, renews it in the background before it expires (callers never wait for that),
refreshes at most once at a time, adopts rotated refresh tokens and saves them through a
`TokenStore`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import anyio
import attrs

from ._constants import (
    RENEW_FRACTION,
    RENEW_MARGIN,
    RENEW_RETRY_MAX,
    RENEW_RETRY_MIN,
    TOKEN_EXPIRY_SKEW,
)
from ._converter import structure
from ._errors import AuthenticationError, KaizalaError, ValidationError
from ._eventloop import current_loop
from ._http import parse_retry_after
from ._secrets import Secret
from ._token_store import FileTokenStore, MemoryTokenStore, StoredTokens, TokenStore

__all__ = [
    "AccessTokenResponse",
    "Credentials",
    "FileTokenStore",
    "MemoryTokenStore",
    "PinLogin",
    "StoredTokens",
    "TokenManager",
    "TokenStore",
]

log = logging.getLogger("kaizala_async.auth")


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    del instance
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(attribute.name, "must be a non-empty string")


def _secret(value: object) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str) or not value.strip():
        # The value itself is never echoed: it is a secret.
        raise ValidationError("credentials", "secrets must be non-empty strings")
    return Secret(value)


def _optional_secret(value: object) -> Secret | None:
    return None if value is None else _secret(value)


@attrs.frozen
class Credentials:
    """A connector's id and secret, and (optionally) a refresh token.

    The refresh token may be left out when a `TokenStore` already holds one (for example
    after ``kaizala login``). Secrets are kept as `Secret` and never shown in a repr.
    """

    application_id: str = attrs.field(validator=_non_empty)
    application_secret: Secret = attrs.field(converter=_secret, repr=False)
    refresh_token: Secret | None = attrs.field(default=None, converter=_optional_secret, repr=False)


@attrs.frozen(kw_only=True)
class AccessTokenResponse:
    """The answer of A3 (``GET /v1/accessToken``)."""

    access_token: Secret = attrs.field(repr=False)
    endpoint_url: str
    access_token_expiry: datetime
    #: A rotated refresh token (a `Secret`, like every token), when the service sent one.
    refresh_token: Secret | None = attrs.field(default=None, repr=False)
    scope: str | None = None


@attrs.frozen(kw_only=True)
class PinLogin:
    """The answer of A2 (``POST /v1/loginWithPinAndApplicationId``)."""

    refresh_token: Secret = attrs.field(repr=False)
    granted_scope: str = ""
    refresh_token_expiry: datetime | None = None

    @property
    def scopes(self) -> tuple[str, ...]:
        """``granted_scope`` split into its comma-separated scopes."""
        return tuple(s.strip() for s in self.granted_scope.split(",") if s.strip())


def _fingerprint(token: Secret) -> str:
    return hashlib.sha256(token.reveal().encode()).hexdigest()[:32]


#: Fetches A3: returns the JSON body and the response's ``Date`` header.
FetchAccessToken = Callable[[Secret], Awaitable[tuple[object, str | None]]]


@attrs.define
class _Current:
    access_token: Secret = attrs.field(repr=False)
    endpoint_url: str
    expires_at: float  # loop time
    lifetime: float  # seconds

    @property
    def renew_at(self) -> float:
        return self.expires_at - min(RENEW_MARGIN, RENEW_FRACTION * self.lifetime)

    @property
    def stale_at(self) -> float:
        return self.expires_at - min(TOKEN_EXPIRY_SKEW, 0.1 * self.lifetime)


class TokenManager:
    """Holds the current access token and endpoint; renews in the background; single-flight."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        fetch: FetchAccessToken,
        store: TokenStore | None = None,
        wall_clock: Callable[[], float] = time.time,
        api_root: str | None = None,
        endpoint_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        self._credentials = credentials
        self._api_root = api_root.rstrip("/") if api_root else None
        self._endpoint_allowed = endpoint_allowed
        self._fetch = fetch
        self._store = store
        self._wall = wall_clock
        self._refresh_token = credentials.refresh_token
        self._origin = _fingerprint(credentials.refresh_token) if credentials.refresh_token else ""
        self._stored_endpoint: str | None = None
        self._current: _Current | None = None
        #: Recent call ends (epoch seconds): loaded from the store, saved back on close.
        self.recent_calls: tuple[float, ...] = ()
        self._lock = anyio.Lock()
        self.refreshes = 0  # successful A3 calls
        self.rotations = 0  # refresh tokens replaced

    def __repr__(self) -> str:
        state = "no token" if self._current is None else f"endpoint={self._current.endpoint_url!r}"
        return f"<TokenManager {self._credentials.application_id!r} {state}>"

    @property
    def endpoint_url(self) -> str | None:
        return self._current.endpoint_url if self._current else self._stored_endpoint

    async def load(self) -> None:
        """Adopt what the store holds, unless the credentials carry a newer refresh token."""
        if self._store is None:
            if self._refresh_token is None:
                raise ValidationError(
                    "credentials", "no refresh_token given and no token_store to load one from"
                )
            return
        stored = await self._store.load(self._credentials.application_id)
        if stored is not None and not self._same_service(stored):
            if self._refresh_token is None:
                raise ValidationError(
                    "credentials",
                    f"the saved tokens of {self._credentials.application_id!r} belong to another "
                    f"API root ({stored.api_root or stored.endpoint_url}), not {self._api_root}; "
                    "log in again against this one (nothing was sent)",
                )
            stored = None  # the refresh token given is used; the other service's are not
        if stored is not None and (self._refresh_token is None or stored.origin == self._origin):
            self._refresh_token = stored.refresh_token
            self._origin = stored.origin
            self._stored_endpoint = stored.endpoint_url
            self.recent_calls = stored.recent_calls
            self._adopt(stored)
        if self._refresh_token is None:
            raise ValidationError(
                "credentials",
                f"no refresh_token given and none stored for {self._credentials.application_id!r}",
            )

    def _same_service(self, stored: StoredTokens) -> bool:
        """Whether ``stored`` came from this client's token service. Tokens saved before the API
        root was kept are judged by their endpoint: one off the allowed hosts is another's."""
        if self._api_root is None:
            return True
        if stored.api_root is not None:
            return stored.api_root.rstrip("/") == self._api_root
        endpoint = stored.endpoint_url
        return (
            endpoint is None or self._endpoint_allowed is None or self._endpoint_allowed(endpoint)
        )

    def _adopt(self, stored: StoredTokens) -> None:
        """Reuse a stored access token that is still valid (another process fetched it)."""
        access, expiry = stored.access_token, stored.access_token_expiry
        lifetime = stored.access_token_lifetime
        if access is None or expiry is None or not lifetime or not stored.endpoint_url:
            return
        if not hmac.compare_digest(
            stored.secret_fingerprint, _fingerprint(self._credentials.application_secret)
        ):
            return  # fetched with another secret (or not said): this one is checked by a fetch
        remaining = expiry - self._wall()
        if remaining <= 0:
            return
        current = _Current(
            access_token=access,
            endpoint_url=stored.endpoint_url,
            expires_at=self._loop_time() + remaining,
            lifetime=lifetime,
        )
        if self._loop_time() < current.stale_at:
            self._current = current  # its endpoint now wins over the stored one

    def _loop_time(self) -> float:
        return current_loop().time()

    def peek(self) -> tuple[Secret, str] | None:
        """The access token and endpoint base if one is valid now, without waiting (else None)."""
        current = self._current
        if current is not None and self._loop_time() < current.stale_at:
            return current.access_token, current.endpoint_url
        return None

    async def access(self) -> tuple[Secret, str]:
        """A valid access token and the endpoint base. Waits only if the token has expired."""
        current = self._current
        if current is not None and self._loop_time() < current.stale_at:
            return current.access_token, current.endpoint_url
        current = await self.refresh(stale=current.access_token if current else None)
        return current.access_token, current.endpoint_url

    async def refresh(self, *, stale: Secret | None) -> _Current:
        """Get a new access token unless someone already replaced ``stale`` (single flight)."""
        async with self._lock:
            current = self._current
            if (
                current is not None
                and (stale is None or current.access_token != stale)
                and self._loop_time() < current.stale_at
            ):
                return current
            return await self._refresh_locked()

    async def _refresh_locked(self) -> _Current:
        refresh_token = self._refresh_token
        assert refresh_token is not None  # load() guarantees it
        body, date = await self._fetch(refresh_token)
        try:
            answer: AccessTokenResponse | None = structure(body, AccessTokenResponse)
        except Exception:
            answer = None
        # The raw answer holds the tokens in clear: no local keeps it (an error tracker that
        # records a traceback's locals would record them); the structured one holds Secrets.
        del body
        if answer is None:
            raise AuthenticationError(
                200, "BadTokenResponse", "the token service answered without a usable access token"
            )
        now_loop, now_wall = self._loop_time(), self._wall()
        reference = now_wall
        if date:
            # The server's own clock (an HTTP date read as seconds since the epoch). It is
            # truncated to the second, so the true server time may be up to 1 s later: count
            # from the end of that second, never overestimating the lifetime.
            server_now = parse_retry_after(date, now=0.0)
            if server_now:
                reference = server_now + 1.0
        lifetime = answer.access_token_expiry.timestamp() - reference
        if lifetime <= 0:
            raise AuthenticationError(
                200,
                "ExpiredTokenIssued",
                "the token service issued an already expired access token",
            )
        # The token service is the authority on the endpoint: a fresh endpointUrl replaces both
        # a stored one and an earlier 308 move.
        self._current = _Current(
            access_token=answer.access_token,
            endpoint_url=answer.endpoint_url,
            expires_at=now_loop + lifetime,
            lifetime=lifetime,
        )
        self.refreshes += 1
        rotated = answer.refresh_token
        if rotated:  # absent, null and "" all mean "no rotation" (sources' inconsistency 49)
            self._refresh_token = rotated
            self.rotations += 1
            log.info("refresh token rotated for connector %s", self._credentials.application_id,
                     extra={"kaizala_event": "kaizala.token.rotated"})  # fmt: skip
            await self._save()
        else:  # the store keeps the newest access token, for the next process to reuse
            await self._save()
        return self._current

    async def move_endpoint(self, base: str) -> None:
        """A 308 moved the endpoint: use ``base`` from now on and save it with the tokens."""
        if self._current is not None:
            if self._current.endpoint_url == base:
                return
            self._current.endpoint_url = base
        else:
            self._stored_endpoint = base
        log.info("endpoint moved to %s", base, extra={"kaizala_event": "kaizala.endpoint.moved"})
        await self._save()

    async def _save(self) -> None:
        if self._store is None or self._refresh_token is None:
            return
        current = self._current
        expiry = None
        if current is not None:
            expiry = self._wall() + (current.expires_at - self._loop_time())
        await self._store.save(
            StoredTokens(
                application_id=self._credentials.application_id,
                refresh_token=self._refresh_token,
                endpoint_url=self.endpoint_url,
                origin=self._origin,
                access_token=current.access_token if current else None,
                access_token_expiry=expiry,
                access_token_lifetime=current.lifetime if current else None,
                recent_calls=self.recent_calls,
                api_root=self._api_root,
                secret_fingerprint=_fingerprint(self._credentials.application_secret),
            )
        )

    async def save_recent(self, recent_calls: tuple[float, ...]) -> None:
        """Keep ``recent_calls`` with the tokens (when the client closes)."""
        self.recent_calls = recent_calls
        if recent_calls:
            await self._save()

    async def run_renewal(self) -> None:
        """Renew the access token before it expires, forever (run in the client's task group)."""
        failures = 0
        while True:
            current = self._current
            if current is None:
                await self.refresh(stale=None)
                continue
            delay = current.renew_at - self._loop_time()
            if delay > 0:
                await anyio.sleep(delay)
            if self._current is not current:  # someone refreshed meanwhile (a 401)
                continue
            try:
                async with self._lock:
                    if self._current is current:
                        await self._refresh_locked()
                failures = 0
            except (KaizalaError, OSError) as exc:
                failures += 1
                backoff = min(RENEW_RETRY_MAX, RENEW_RETRY_MIN * 2 ** (failures - 1))
                log.warning(
                    "access token renewal failed (%s); retrying in %.1f s",
                    type(exc).__name__,
                    backoff,
                    extra={"kaizala_event": "kaizala.token.renewal_failed"},
                )
                await anyio.sleep(backoff * random.uniform(0.5, 1.0))
