"""KaizalaClient: the async context manager that owns the transport, the tokens and the limits."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import time
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import Any, Self

import anyio
import attrs
import httpx

from ._auth import Credentials, TokenManager, TokenStore
from ._bot import BotTokens
from ._constants import (
    API_ROOT,
    DEFAULT_ALLOWED_HOSTS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER,
    USER_AGENT,
)
from ._cookieless import CookielessClient
from ._errors import ClientClosedError, KaizalaError, ValidationError
from ._fanout import (
    FanOutProgress,
    FanOutReport,
    FanOutStream,
    Target,
    fan_out,
    fan_out_stream,
)
from ._http import HostPolicy, join_url, json_body
from ._journal import JournalBackend
from ._limits import RateLimits
from ._max_wait import check_max_wait
from ._models.actions import ActionBody
from ._models.admin import BotToken
from ._options import CallOptions, RawClient
from ._ratelimit import RateLimiter
from ._resources.actions import ActionsResource
from ._resources.admin import BotsResource, WebhooksResource
from ._resources.groups import GroupsResource, SubgroupsResource, TenantResource, UsersResource
from ._resources.members import MembersResource, SubscribersResource
from ._resources.messages import MediaUploads, MessagesResource
from ._resources.reactions import ReactionsResource
from ._secrets import Secret, install_log_redaction
from ._transport import Call, Transport, TransportStats
from ._validate import (
    check_api_path,
    check_count,
    check_id,
    check_json_body,
    check_max_retry_after,
    check_retries,
    check_seconds,
    optional_seconds,
)

__all__ = ["KaizalaClient"]

log = logging.getLogger("kaizala_async.client")


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ValidationError("api_root", f"must be an http(s) URL, not {url!r}")
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


class KaizalaClient:
    """An asyncio client for the Kaizala connector API.

    Use it as an async context manager. Entering it fetches the first access token (so bad
    credentials fail here, not on the first call) and starts the background renewal; leaving it
    stops that task and closes every connection:

        async with KaizalaClient(Credentials(app_id, secret, refresh_token)) as client:
            response = await client.request("GET", "/groups")

    * ``api_root``: the token service (default ``https://api.kaiza.la``). Its origin is trusted:
      the access token may be sent to it as well as to ``allowed_hosts``.
    * ``limits``: client-side pacing (default 100/min per connector, 300/min per tenant).
    * ``timeout``: seconds to wait for each answer (default 60), overridable per call.
    * ``transport``: any ``httpx.AsyncBaseTransport`` (the emulator's, a ``MockTransport``, respx).
    * ``token_store``: where rotated refresh tokens and endpoint moves are saved.
    * ``allowed_hosts``: where the endpoint may live and move to (https; ``*.kaiza.la``,
      ``*.office.net`` by default). Entries may be full origins such as ``http://127.0.0.1:8080``.
    * ``max_retries``: retries of connection failures (before sending, or after for idempotent
      calls) and of 5xx answers to idempotent calls; at most 10. The waits between them double
      from 0.5 s (with full jitter) up to 30 s each.
    * ``max_retry_after``: a 429 asking for a longer wait raises `ThrottledError`
      (default 120 s, at most 3600).
    * ``max_response_bytes``: a larger answer is not read; `UnexpectedResponseError`
      (default 32 MiB).
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_root: str = API_ROOT,
        limits: RateLimits | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        token_store: TokenStore | None = None,
        allowed_hosts: Iterable[str] = DEFAULT_ALLOWED_HOSTS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_after: float = MAX_RETRY_AFTER,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if not isinstance(credentials, Credentials):
            raise ValidationError("credentials", "must be a kaizala_async.Credentials")
        timeout = check_seconds(timeout, "timeout")
        max_retry_after = check_max_retry_after(max_retry_after)
        check_retries(max_retries)
        if isinstance(allowed_hosts, str):
            raise ValidationError(
                "allowed_hosts", "must be a collection of host patterns, not one string"
            )
        self._credentials = credentials
        self._api_root = api_root.rstrip("/")
        self._policy = HostPolicy.build(allowed_hosts, _origin(api_root))
        self._limits = limits if limits is not None else RateLimits()
        self._timeout = float(timeout)
        self._http_transport = transport
        self._store = token_store
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
        self._max_response_bytes = check_count(max_response_bytes, "max_response_bytes")
        self._limiter = RateLimiter(self._limits, credentials.application_id)
        self._stack: contextlib.AsyncExitStack | None = None
        self._transport: Transport | None = None
        self._tokens: TokenManager | None = None
        self._used = False
        self._opened = False
        #: Resource namespaces (API reference endpoint families); usable inside ``async with``.
        self._call_options = CallOptions()
        self._origin: KaizalaClient | None = None  # set on views (with_options, as_bot)
        self._bot_tokens: BotTokens | None = None  # set on bot views
        self._bots: dict[str, BotTokens] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._bind_resources()

    def _bind_resources(self) -> None:
        self.users = UsersResource(self)
        self.groups = GroupsResource(self)
        self.subgroups = SubgroupsResource(self)
        self.members = MembersResource(self)
        self.subscribers = SubscribersResource(self)
        self.messages = MessagesResource(self)
        self.media = MediaUploads(self)
        self.actions = ActionsResource(self)
        self.reactions = ReactionsResource(self)
        self.webhooks = WebhooksResource(self)
        self.bots = BotsResource(self)
        self.tenant = TenantResource(self)

    def __repr__(self) -> str:
        state = "open" if self._transport is not None else "closed"
        return f"<KaizalaClient {self._credentials.application_id!r} {state} endpoint={self.endpoint_url!r}>"

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    @property
    def limits(self) -> RateLimits:
        return self._limits

    @property
    def endpoint_url(self) -> str | None:
        """The current endpoint base (from the token service, or moved by a 308)."""
        tokens = (self._origin or self)._tokens
        return tokens.endpoint_url if tokens else None

    @property
    def stats(self) -> TransportStats:
        """What the pipeline did so far: attempts, 429s, moves, retries."""
        return self._require().stats

    @property
    def token_refreshes(self) -> int:
        """How many access tokens were fetched (first one included)."""
        tokens = (self._origin or self)._tokens
        return tokens.refreshes if tokens else 0

    async def __aenter__(self) -> Self:
        if self._origin is not None:
            raise RuntimeError("a with_options() view shares its client's `async with`; open that")
        if self._used:
            raise RuntimeError("a KaizalaClient can be entered once; create a new one")
        self._used = True
        self._opened = False
        install_log_redaction()
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                CookielessClient(
                    transport=self._http_transport,
                    timeout=self._timeout,
                    follow_redirects=False,  # 308s are ours: the token must not follow blindly
                    headers={"User-Agent": USER_AGENT},
                )
            )
            self._limiter.open()
            stack.push_async_callback(self._limiter.aclose)
            tokens = TokenManager(
                self._credentials,
                fetch=self._fetch_access_token,
                store=self._store,
                api_root=self._api_root,
                endpoint_allowed=lambda base: self._policy.allows(join_url(base, "")),
            )
            self._tokens = tokens
            self._transport = Transport(
                http,
                api_root=self._api_root,
                policy=self._policy,
                limiter=self._limiter,
                tokens=tokens,
                timeout=self._timeout,
                max_retries=self._max_retries,
                max_response_bytes=self._max_response_bytes,
                max_retry_after=self._max_retry_after,
            )
            stack.callback(self._forget)
            await tokens.load()
            if tokens.recent_calls:
                self._limiter.seed(tokens.recent_calls, time.time())
            stack.push_async_callback(self._save_recent, tokens)
            await tokens.access()
            group = await stack.enter_async_context(anyio.create_task_group())
            self._group = group
            stack.callback(self._bots.clear)
            stack.callback(group.cancel_scope.cancel)  # runs first on exit: stop renewal
            group.start_soon(tokens.run_renewal, name="kaizala-token-renewal")
            self._stack = stack.pop_all()
            self._opened = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def _forget(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._transport = None

    async def _save_recent(self, tokens: TokenManager) -> None:
        """On close: the connector's recent calls go into the token store, for the next process."""
        if self._store is None or not self._opened or not self._limiter.is_open:
            return
        recent = tuple(self._limiter.recent_ends_wall(time.time()))
        try:
            await tokens.save_recent(recent)
        except (KaizalaError, OSError) as exc:  # closing must not fail for a cache
            log.warning("could not save recent calls to the token store: %s", type(exc).__name__,
                        extra={"kaizala_event": "kaizala.store.save_failed"})  # fmt: skip

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_wait: float | None = None,
    ) -> KaizalaClient:
        """A view of this client whose calls use other defaults: ``timeout`` (seconds per
        call), ``max_retries``, ``max_wait`` (seconds to wait for a rate-limit slot). It shares
        the connection pool, the limits, the tokens and the lifecycle of this client (use it
        inside this client's ``async with``; it is not entered itself):

            patient = client.with_options(timeout=120, max_retries=5)
            await patient.groups.get(group_id)
        """
        changes: dict[str, Any] = {}
        if timeout is not None:
            changes["timeout"] = check_seconds(timeout, "timeout")
        if max_retries is not None:
            changes["max_retries"] = check_retries(max_retries)
        if max_wait is not None:
            changes["max_wait"] = check_max_wait("max_wait", max_wait)
        view = copy.copy(self)
        view._call_options = attrs.evolve(self._call_options, **changes)
        view._origin = self._origin or self
        view._bind_resources()
        return view

    def as_bot(self, bot_user_id: str) -> KaizalaClient:
        """A view of this client acting as the bot ``bot_user_id`` (one of this connector's bot
        users, added to the groups it writes to): its calls carry the bot's access token, which
        is fetched on first use and renewed in the background like the user's own. It shares
        this client's endpoint, connection pool, limits and lifecycle:

            bot = client.as_bot(bot_user_id)
            await bot.messages.send(group_id, "Build 1234 passed")
        """
        bot_user_id = check_id(bot_user_id, "bot_user_id")
        origin = self._origin or self
        if origin._transport is None or origin._group is None or origin._tokens is None:
            raise RuntimeError("use as_bot inside `async with KaizalaClient(...) as client:`")
        tokens = origin._bots.get(bot_user_id)
        if tokens is None:

            async def fetch() -> tuple[BotToken, str | None]:
                answer = await origin.raw.bots.access_token(bot_user_id)
                return answer.parsed, answer.headers.get("date")

            tokens = origin._bots[bot_user_id] = BotTokens(fetch, origin._tokens, bot_user_id)
            origin._group.start_soon(tokens.run_renewal, name=f"kaizala-bot-renewal-{bot_user_id}")
        view = copy.copy(self)
        view._origin = origin
        view._bot_tokens = tokens
        view._bind_resources()
        return view

    @property
    def raw(self) -> RawClient:
        """Every typed method, returning `RawResponse` (the decoded model and the
        ``httpx.Response``): ``(await client.raw.groups.get(group_id)).headers``."""
        return RawClient(self)

    def _require(self) -> Transport:
        if self._origin is not None:
            return self._origin._require()
        if self._transport is None:
            if self._used:
                raise ClientClosedError()
            raise RuntimeError("use the client inside `async with KaizalaClient(...) as client:`")
        return self._transport

    async def _fetch_access_token(self, refresh_token: Secret) -> tuple[object, str | None]:
        response = await self._require().send(
            Call(
                method="GET",
                path="/accessToken",
                base="api",
                idempotent=True,
                secret_headers={
                    "applicationId": Secret(self._credentials.application_id),
                    "applicationSecret": self._credentials.application_secret,
                    "refreshToken": refresh_token,
                },
            )
        )
        return json_body(response, "the token service's answer"), response.headers.get("date")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        timeout: float | None = None,
        idempotent: bool | None = None,
        max_wait: float | None = None,
    ) -> httpx.Response:
        """Call any resource endpoint: ``path`` is relative to ``{endpointUrl}/v1``.

        The call goes through the whole pipeline (token, pacing, 308, 429, one refresh on an
        invalid token). Returns the 2xx ``httpx.Response``; raises a `KaizalaError`.
        ``idempotent=True`` lets a POST be retried after a failure past sending. ``max_wait``
        bounds the wait for a rate-limit slot (`SlotWaitTimeoutError`, nothing sent).
        """
        if not isinstance(method, str) or method.upper() not in {
            "GET",
            "POST",
            "PUT",
            "DELETE",
            "PATCH",
        }:
            raise ValidationError("method", f"must be an HTTP method, not {method!r}")
        check_api_path(path)
        check_json_body(json)  # before a slot is taken: httpx would refuse it only after
        timeout = optional_seconds(timeout, "timeout")
        options = self._call_options
        return await self._require().send(
            Call(
                method=method.upper(),
                path=path,
                json=json,
                params=params,
                timeout=timeout if timeout is not None else options.timeout,
                idempotent=idempotent,
                max_wait=check_max_wait("max_wait", max_wait)
                if max_wait is not None
                else options.max_wait,
                max_retries=options.max_retries,
                tokens=self._bot_tokens,
            )
        )

    async def fan_out(
        self,
        targets: Iterable[Target] | AsyncIterable[Target],
        *,
        text: str | None = None,
        action: ActionBody | None = None,
        concurrency: int | None = None,
        journal: str | os.PathLike[str] | JournalBackend | None = None,
        on_progress: Callable[[FanOutProgress], object] | None = None,
        resend_unknown: bool = False,
        resend: Iterable[str] | None = None,
        keep_outcomes: bool = False,
    ) -> FanOutReport:
        """Send ``text`` (or ``action``) to every target group; see `kaizala_async.fan_out`.

        At the pace of this client's limits; every target ends in exactly one outcome; with a
        ``journal`` file a rerun sends only what is left.
        """
        return await fan_out(
            [self],
            targets,
            text=text,
            action=action,
            concurrency=concurrency,
            journal=journal,
            on_progress=on_progress,
            resend_unknown=resend_unknown,
            resend=resend,
            keep_outcomes=keep_outcomes,
        )

    def fan_out_stream(
        self,
        targets: Iterable[Target] | AsyncIterable[Target],
        *,
        text: str | None = None,
        action: ActionBody | None = None,
        concurrency: int | None = None,
        journal: str | os.PathLike[str] | JournalBackend | None = None,
        on_progress: Callable[[FanOutProgress], object] | None = None,
        resend_unknown: bool = False,
        resend: Iterable[str] | None = None,
        keep_outcomes: bool = False,
    ) -> contextlib.AbstractAsyncContextManager[FanOutStream]:
        """The outcomes of a fan-out as they complete: ``async with client.fan_out_stream(...)
        as outcomes: async for outcome in outcomes: ...``; ``outcomes.report`` counts them."""
        return fan_out_stream(
            [self],
            targets,
            text=text,
            action=action,
            concurrency=concurrency,
            journal=journal,
            on_progress=on_progress,
            resend_unknown=resend_unknown,
            resend=resend,
            keep_outcomes=keep_outcomes,
        )
