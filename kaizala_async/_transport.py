"""The one request pipeline (DESIGN §1): token, pacing, send, then 308 / 429 / 401 / retries.

Resource modules describe a call as a `Call`; `Transport.send` runs it. Nothing here
knows any endpoint, and nothing in the resource modules knows HTTP, retries or limits.
"""

from __future__ import annotations

import contextvars
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import anyio
import attrs
import httpx

from . import _telemetry as telemetry
from ._auth import TokenManager
from ._call import Call, TokenSource
from ._constants import (
    ACCESS_TOKEN_HEADER,
    CONNECTION_RETRY_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER,
    DEFAULT_TIMEOUT,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER,
    MAX_RETRY_BACKOFF,
    MAX_THROTTLE_RETRIES,
)
from ._cookieless import CookielessClient
from ._errors import (
    EndpointMovedError,
    RequestTimeoutError,
    ThrottledError,
    TransportError,
)
from ._exchange import Exchange
from ._http import (
    HostPolicy,
    base_from_location,
    error_fields,
    error_from_response,
    is_invalid_token,
    join_url,
    json_or_none,
    parse_retry_after,
)
from ._max_wait import MAX_WAIT
from ._ratelimit import RateLimiter
from ._request_parts import DefaultHeaders, Urls
from ._secrets import Secret
from ._validate import has_space_or_control

__all__ = ["BEFORE_SEND", "Call", "TokenSource", "Transport", "TransportStats"]

log = logging.getLogger("kaizala_async.transport")

#: Failures that happen before the request leaves this process: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


#: Awaited after a call's slot is granted and just before each attempt goes out (the fan-out
#: journal marks the target "in flight" there, so a target waiting for its slot is not).
BEFORE_SEND: contextvars.ContextVar[Callable[[], Awaitable[None]] | None] = contextvars.ContextVar(
    "kaizala_before_send", default=None
)


@attrs.define
class TransportStats:
    """Counters of what the pipeline did (for tests, benchmarks and monitoring)."""

    attempts: int = 0  # requests handed to httpx (including ones that failed to connect)
    throttled: int = 0  # 429 answers received
    moved: int = 0  # 308 moves followed
    refreshed_on_401: int = 0  # one-off refreshes forced by an invalid-token answer
    connection_retries: int = 0
    server_error_retries: int = 0


class Transport:
    """Runs `Call` s through the pipeline over one ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_root: str,
        policy: HostPolicy,
        limiter: RateLimiter | None = None,
        tokens: TokenManager | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_after: float = MAX_RETRY_AFTER,
        max_throttle_retries: int = MAX_THROTTLE_RETRIES,
        wall_clock: Callable[[], float] = time.time,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.http = http
        self.api_root = api_root.rstrip("/")
        self.policy = policy
        self.limiter = limiter
        connector = (limiter.connector_id if limiter is not None else None) or ""
        self._tags: dict[str, str] = {"kaizala.connector": connector}
        self.tokens = tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.max_throttle_retries = max_throttle_retries
        self._exchange = Exchange(http, max_response_bytes=max_response_bytes)
        self._wall = wall_clock
        self.stats = TransportStats()
        self._allowed_base: str | None = None  # the last endpoint base found on the allow-list
        #: The client's default headers when the client is the SDK's own (see `_request`);
        #: None: requests go through ``build_request``.
        self._defaults: DefaultHeaders | None = None
        self._urls = Urls()  # each endpoint's origin parsed once (``_request_parts``)
        if isinstance(http, CookielessClient) and not http.params and not str(http.base_url):
            self._defaults = DefaultHeaders(http.headers)

    def close(self) -> None:
        """The client is closing: release what the pipeline holds (the deadline timer)."""
        self._exchange.close()

    async def send(self, call: Call) -> httpx.Response:
        """Run ``call``; return its 2xx response (body read) or raise a `KaizalaError`."""
        throttled = retries = attempt = 0
        moved = refreshed = False
        # Auth calls (a token renewal above all) go ahead of this client's queued calls: a
        # renewal stuck behind a long fan-out queue would let the token expire.
        first = not call.authenticated
        max_wait = self._max_wait(call)
        while True:
            tokens = self._tokens_of(call)
            if call.authenticated and tokens is not None and tokens.peek() is None:
                # Get the token before taking a slot: a slot is never held while a renewal waits
                # for a slot of its own (with every slot held that would never end).
                await tokens.access()
            queued_at = time.monotonic()
            if self.limiter is not None:
                watched = telemetry.active()
                if watched:
                    telemetry.record("kaizala.client.queue", 1, self._tags)
                try:
                    await self.limiter.acquire(first=first, max_wait=max_wait)
                finally:
                    if watched:
                        telemetry.record("kaizala.client.queue", -1, self._tags)
            first = False
            # From here until its answer is read, the call holds its slot; the limiter learns
            # when it ended, and whether it may still be on its way (``abandoned``).
            going_out = abandoned = False
            failure: httpx.TransportError | None = None
            observed = telemetry.NOOP
            try:
                target = self._target(call)
                if target is None:  # the token went stale while queued: fetch it, keep the place
                    first = True
                    continue
                token, base, url = target
                before_send = BEFORE_SEND.get()
                if before_send is not None:
                    await before_send()
                timeout = call.timeout if call.timeout is not None else self.timeout
                request = self._request(call, url, token, timeout)
                attempt += 1
                observed = telemetry.attempt(
                    call.method, call.path, url, connector=self._tags["kaizala.connector"],
                    number=attempt, slot_wait=time.monotonic() - queued_at,
                )  # fmt: skip
                going_out = True
                try:
                    # One deadline for the whole exchange: httpx's timeouts bound each read, so
                    # a server trickling a byte at a time could hold a call for ever.
                    response = await self._exchange.run(request, timeout, call.path)
                except httpx.TransportError as exc:
                    failure = exc
                    abandoned = isinstance(exc, httpx.TimeoutException) and not isinstance(
                        exc, _NOT_SENT
                    )
                except TimeoutError:
                    failure = httpx.ReadTimeout("no complete answer in time", request=request)
                    abandoned = True
                except (httpx.InvalidURL, UnicodeError):
                    # httpx parses a redirect's Location before handing the answer back: a
                    # malformed one (bad IDNA label, "https:evil.com") surfaces here.
                    raise EndpointMovedError(
                        "", "the service answered with an unusable Location",
                        method=call.method, url=url,
                    ) from None  # fmt: skip
                finally:
                    self.stats.attempts += 1
            except BaseException as exc:
                abandoned = going_out  # cancelled (or failed) while the request was going out
                observed.failed(type(exc).__name__)
                raise
            finally:
                if self.limiter is not None:
                    self.limiter.release(abandoned=abandoned)
            if failure is not None:
                observed.failed(type(failure).__name__)
                sent = not isinstance(failure, _NOT_SENT)
                if sent and isinstance(failure, httpx.TimeoutException):
                    # It may have been processed: never resent, whatever the method.
                    raise RequestTimeoutError(
                        f"no answer in time: {type(failure).__name__}",
                        method=call.method,
                        url=url,
                        request_sent=True,
                    ) from None
                if (not sent or call.retry_after_send) and retries < self._retries(call):
                    retries += 1
                    self.stats.connection_retries += 1
                    telemetry.record("kaizala.client.retries", 1, self._tags)
                    await self._backoff(retries)
                    continue
                what = "connection failed" if sent else "could not connect"
                if isinstance(failure, httpx.PoolTimeout):
                    what = "no free connection in time (nothing was sent)"
                raise TransportError(
                    f"{what}: {type(failure).__name__}",
                    method=call.method,
                    url=url,
                    request_sent=sent,
                ) from None

            status = response.status_code
            observed.done(status)
            log.debug("%s %s -> %d", call.method, url, status)
            if 200 <= status < 300:
                return response
            body = json_or_none(response)

            if status == 308:
                new_base = self._follow_move(call, response, base, url, already_moved=moved)
                assert self.tokens is not None
                await self.tokens.move_endpoint(new_base)
                self.stats.moved += 1
                moved = True
                continue

            if status == 429:
                throttled += 1
                self.stats.throttled += 1
                wait = parse_retry_after(
                    response.headers.get("retry-after"),
                    now=self._wall(),
                    date=response.headers.get("date"),
                )
                if wait is None:
                    wait = DEFAULT_RETRY_AFTER * 2 ** (throttled - 1)
                if wait > self.max_retry_after or throttled > self.max_throttle_retries:
                    code, message, category = error_fields(body)
                    del body  # as below: no traceback local keeps what the service sent
                    raise ThrottledError(
                        wait,
                        attempts=throttled,
                        code=code,
                        message=message,
                        category=category,
                        method=call.method,
                        url=url,
                    )
                log.info("throttled (429); pausing the tenant for %.2f s", wait,
                         extra={"kaizala_event": "kaizala.throttled"})  # fmt: skip
                if self.limiter is not None:
                    self.limiter.pause(wait)
                    first = True  # the rejected call goes first when the pause ends
                else:
                    await anyio.sleep(wait)
                continue

            if call.authenticated and not refreshed and is_invalid_token(status, body):
                assert tokens is not None
                refreshed = True
                self.stats.refreshed_on_401 += 1
                await tokens.refresh(stale=token)
                continue

            if status >= 500 and call.retry_after_send and retries < self._retries(call):
                retries += 1
                self.stats.server_error_retries += 1
                telemetry.record("kaizala.client.retries", 1, self._tags)
                await self._backoff(retries)
                continue

            error = error_from_response(status, body, method=call.method, url=url)
            del body  # what the service sent may echo a secret: no traceback local keeps it
            raise error

    def _request(self, call: Call, url: str, token: Secret | None, timeout: float) -> httpx.Request:
        """The request of ``call``'s next attempt. Over the SDK's own client (no cookies, no
        query or base URL of its own) it is built here from parts made once (the default headers,
        the endpoint's parsed origin: ``_request_parts``): what ``build_request`` gives, without
        re-reading the client's defaults and re-parsing the whole URL on every call."""
        if self._defaults is None:
            return self.http.build_request(
                call.method, url, params=call.params, json=call.json, files=call.files,
                headers=_headers(call, token), timeout=self._exchange.timeout(timeout),
            )  # fmt: skip
        return httpx.Request(
            call.method, self._urls.url(url), params=call.params, json=call.json, files=call.files,
            headers=self._defaults.merge(_headers(call, token)),
            extensions={"timeout": self._exchange.timeout_dict(timeout)},
        )  # fmt: skip

    def _target(self, call: Call) -> tuple[Secret | None, str, str] | None:
        """The token (None for a token-service call), base and URL of ``call``'s next attempt;
        None when the access token went stale (the caller gets a new one outside its slot)."""
        if not call.authenticated:
            return None, self.api_root, join_url(self.api_root, call.path)
        tokens = self._tokens_of(call)
        if tokens is None:
            raise RuntimeError("this transport has no token manager")
        # The token is read once the slot is granted: a wait in the queue cannot age it.
        current = tokens.peek()
        if current is None:
            return None
        token, base = current
        # The base changes only on a move or a new token: check each base once.
        if base != self._allowed_base and not self.policy.allows(join_url(base, "")):
            raise EndpointMovedError(
                base, "the endpoint is not on the allowed hosts; the token was not sent"
            )
        self._allowed_base = base
        return token, base, join_url(base, call.path)

    def _tokens_of(self, call: Call) -> TokenSource | None:
        return call.tokens if call.tokens is not None else self.tokens

    def _retries(self, call: Call) -> int:
        return self.max_retries if call.max_retries is None else call.max_retries

    def _max_wait(self, call: Call) -> float | None:
        """The call's own ``max_wait``, else the task's (`max_wait`), else the client's.
        Token-service calls wait as long as it takes: a renewal must not fail for a bound meant
        for the calls it serves."""
        if not call.authenticated:
            return None
        if call.max_wait is not None:
            chosen: float | None = call.max_wait
        else:
            chosen = MAX_WAIT.get()
            if chosen is None and self.limiter is not None:
                chosen = self.limiter.limits.max_wait
        return None if chosen is None or chosen == math.inf else chosen

    def _follow_move(
        self, call: Call, response: httpx.Response, base: str, url: str, *, already_moved: bool
    ) -> str:
        """The new endpoint base a 308 names, once it is known to be a usable, allowed URL."""
        location = response.headers.get("location", "").strip()[:2048]
        kwargs = {"method": call.method, "url": url}
        if not location:
            raise EndpointMovedError("", "308 without a Location header", **kwargs)
        if not call.authenticated:
            raise EndpointMovedError(location, "the token service answered 308", **kwargs)
        if already_moved:
            raise EndpointMovedError(
                location, "the endpoint moved again on the resent request", **kwargs
            )
        try:
            if not _usable_location(location):
                raise ValueError
            new_base = base_from_location(location, base)
            allowed = self.policy.allows(str(httpx.URL(new_base)))
        except (ValueError, UnicodeError, httpx.InvalidURL):  # bad port, IDNA label, scheme ...
            raise EndpointMovedError(
                location, "the Location header is not a usable URL", **kwargs
            ) from None
        if not allowed:
            raise EndpointMovedError(
                location, "refused to move to a host outside the allowed hosts", **kwargs
            )
        return new_base

    async def _backoff(self, attempt: int) -> None:
        ceiling = CONNECTION_RETRY_BACKOFF * 2 ** min(attempt - 1, 16)
        await anyio.sleep(random.uniform(0, min(ceiling, MAX_RETRY_BACKOFF)))


def _usable_location(location: str) -> bool:
    """Whether ``location`` is an absolute http(s) URL with a host, or a path (never a
    scheme-relative ``//host``), with no whitespace or control character anywhere."""
    if has_space_or_control(location):
        return False
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)
    return location.startswith("/")


def _headers(call: Call, token: Secret | None) -> dict[str, str]:
    # Built and handed to httpx in one expression: no local of ours holds a revealed secret.
    headers = {"Accept": "application/json"}
    if call.headers:
        headers.update(call.headers)  # first: they cannot replace the token below
    if token is not None:
        headers[ACCESS_TOKEN_HEADER] = token.reveal()
    if call.secret_headers:
        headers.update({name: value.reveal() for name, value in call.secret_headers.items()})
    return headers
