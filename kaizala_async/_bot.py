"""Acting as a bot: its access token (B5), fetched by the user's client and renewed in the
background like the user's own, used on the user's endpoint under the same budgets."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable

import anyio

from ._auth import TokenManager
from ._constants import RENEW_FRACTION, RENEW_MARGIN, RENEW_RETRY_MAX, RENEW_RETRY_MIN
from ._errors import KaizalaError
from ._eventloop import current_loop
from ._http import parse_retry_after
from ._models.admin import BotToken
from ._secrets import Secret

__all__ = ["BotTokens"]

log = logging.getLogger("kaizala_async.auth")

#: Lifetime assumed when the service gives no expiry (B5's answers carry one).
_DEFAULT_LIFETIME = 3600.0


class BotTokens:
    """The token source of a bot view: the same interface the transport uses for the user's
    (``peek``, ``access``, ``refresh``), the endpoint taken from the user's token manager."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[BotToken, str | None]]],
        user: TokenManager,
        bot_user_id: str,
    ) -> None:
        self._fetch = fetch
        self._user = user
        self.bot_user_id = bot_user_id
        self._token: Secret | None = None
        self._expires_at = 0.0  # loop time
        self._lifetime = _DEFAULT_LIFETIME
        self._lock = anyio.Lock()
        self._fetched = anyio.Event()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"<BotTokens bot={self.bot_user_id!r}>"

    @staticmethod
    def _now() -> float:
        return current_loop().time()

    @property
    def _stale_at(self) -> float:
        return self._expires_at - min(60.0, 0.1 * self._lifetime)

    @property
    def _renew_at(self) -> float:
        return self._expires_at - min(RENEW_MARGIN, RENEW_FRACTION * self._lifetime)

    def _base(self) -> str | None:
        return self._user.endpoint_url

    def peek(self) -> tuple[Secret, str] | None:
        base = self._base()
        if self._token is not None and base is not None and self._now() < self._stale_at:
            return self._token, base
        return None

    async def access(self) -> tuple[Secret, str]:
        current = self.peek()
        if current is not None:
            return current
        await self.refresh(stale=self._token)
        token, base = self._token, self._base()
        assert token is not None
        assert base is not None
        return token, base

    async def refresh(self, *, stale: Secret | None) -> None:
        """A new bot token unless someone already replaced ``stale`` (single flight)."""
        async with self._lock:
            if self._token is not None and self._token != stale and self._now() < self._stale_at:
                return
            if self._base() is None:
                await self._user.access()
            answer, date = await self._fetch()
            now, reference = self._now(), time.time()
            server_now = parse_retry_after(date, now=0.0) if date else None
            if server_now:  # the service's clock (its Date header), to the end of that second
                reference = server_now + 1.0
            lifetime = _DEFAULT_LIFETIME
            if answer.access_token_expiry is not None:
                lifetime = max(1.0, answer.access_token_expiry.timestamp() - reference)
            self._token = answer.access_token
            self._lifetime = lifetime
            self._expires_at = now + lifetime
            self.refreshes += 1
            self._fetched.set()

    async def run_renewal(self) -> None:
        """Renew the bot's token before it expires, for as long as the client is open."""
        failures = 0
        await self._fetched.wait()  # the first call fetches the first token
        while True:
            delay = self._renew_at - self._now()
            if delay > 0:
                await anyio.sleep(delay)
            token = self._token
            try:
                await self.refresh(stale=token)
                failures = 0
            except (KaizalaError, OSError) as exc:
                failures += 1
                backoff = min(RENEW_RETRY_MAX, RENEW_RETRY_MIN * 2 ** (failures - 1))
                log.warning(
                    "bot token renewal failed (%s); retrying in %.1f s",
                    type(exc).__name__,
                    backoff,
                    extra={"kaizala_event": "kaizala.bot_token.renewal_failed"},
                )
                await anyio.sleep(backoff * random.uniform(0.5, 1.0))
