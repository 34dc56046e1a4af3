"""The PIN flow (API A1, A2): a mobile number and a one-time PIN become a refresh token."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from ._auth import PinLogin
from ._constants import API_ROOT, DEFAULT_TIMEOUT, USER_AGENT
from ._converter import structure
from ._errors import AuthenticationError, ValidationError
from ._http import HostPolicy, json_body
from ._limits import RateLimits
from ._ratelimit import RateLimiter
from ._secrets import Secret, install_log_redaction
from ._transport import Call, Transport
from ._validate import check_seconds, validate_mobile_number

__all__ = ["exchange_pin", "login_with_pin", "request_pin"]

#: Supplies the PIN once it has been sent: a plain or async callable.
PinSource = Callable[[], str | int | Secret] | Callable[[], Awaitable[str | int | Secret]]


def _check_application_id(application_id: object) -> str:
    if not isinstance(application_id, str) or not application_id.strip():
        raise ValidationError("application_id", "must be a non-empty string")
    return application_id


def _check_pin(pin: object) -> int:
    value = pin.reveal() if isinstance(pin, Secret) else pin
    if isinstance(value, bool):
        raise ValidationError("pin", "must be the digits received by SMS")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip().isdigit() or len(value.strip()) > 9:
        raise ValidationError("pin", "must be the digits received by SMS")  # never echo a PIN
    return int(value.strip())


class _TokenService:
    """A short-lived pipeline to the token service: no access token, optional pacing."""

    def __init__(
        self,
        api_root: str,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        limits: RateLimits | None,
    ) -> None:
        self._api_root = api_root
        self._transport = transport
        self._timeout = check_seconds(timeout, "timeout")
        self._limits = limits

    async def post(self, path: str, body: dict[str, Any], *, forget: bool = False) -> object:
        """POST ``body``; ``forget``: it holds a PIN, cleared once sent or failed, so no
        traceback local shows it (the caller's own frame drops its reference too)."""
        try:
            return await self._post(path, body)
        finally:
            if forget:
                body.clear()

    async def _post(self, path: str, body: dict[str, Any]) -> object:
        install_log_redaction()
        limiter = RateLimiter(self._limits) if self._limits is not None else None
        async with httpx.AsyncClient(
            transport=self._transport,
            timeout=self._timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        ) as http:
            if limiter is not None:
                limiter.open()
            try:
                pipeline = Transport(
                    http,
                    api_root=self._api_root,
                    policy=HostPolicy(()),
                    limiter=limiter,
                    timeout=self._timeout,
                )
                response = await pipeline.send(
                    Call(method="POST", path=path, base="api", json=body)
                )
            finally:
                if limiter is not None:
                    await limiter.aclose()
        if not response.content:
            return {}
        return json_body(response, "the token service's answer")


async def request_pin(
    application_id: str,
    mobile_number: str,
    *,
    api_root: str = API_ROOT,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    limits: RateLimits | None = None,
) -> None:
    """A1 ``POST /v1/generatePin``: Kaizala sends a one-time PIN by SMS to ``mobile_number``."""
    body = {
        "mobileNumber": validate_mobile_number(mobile_number),
        "applicationId": _check_application_id(application_id),
    }
    await _TokenService(api_root, transport, timeout, limits).post("/generatePin", body)


async def exchange_pin(
    application_id: str,
    mobile_number: str,
    pin: str | int | Secret,
    *,
    api_root: str = API_ROOT,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    limits: RateLimits | None = None,
) -> PinLogin:
    """A2 ``POST /v1/loginWithPinAndApplicationId``: the PIN becomes a user refresh token."""
    body = {
        "mobileNumber": validate_mobile_number(mobile_number),
        "applicationId": _check_application_id(application_id),
        "pin": _check_pin(pin),
    }
    del pin
    service = _TokenService(api_root, transport, timeout, limits)
    answer = await service.post("/loginWithPinAndApplicationId", body, forget=True)
    del body
    try:
        return structure(answer, PinLogin)
    except Exception:
        raise AuthenticationError(
            200, "BadLoginResponse", "the PIN login answered without a refresh token"
        ) from None


async def login_with_pin(
    application_id: str,
    mobile_number: str,
    *,
    pin: PinSource,
    api_root: str = API_ROOT,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    limits: RateLimits | None = None,
) -> PinLogin:
    """The whole PIN flow: request a PIN, ask ``pin()`` for it (plain or async), exchange it.

    Everything is checked before the first request. ``limits`` paces the two calls (they are
    human-paced anyway, so by default they are not). Returns the refresh token (a
    `Secret`), the granted scopes and the refresh token's expiry.
    """
    validate_mobile_number(mobile_number)
    _check_application_id(application_id)
    check_seconds(timeout, "timeout")
    if not callable(pin):
        raise ValidationError(
            "pin", "must be a callable that returns the PIN once it has been sent"
        )
    await request_pin(
        application_id,
        mobile_number,
        api_root=api_root,
        transport=transport,
        timeout=timeout,
        limits=limits,
    )
    value = pin()
    if inspect.isawaitable(value):
        value = await value
    # Held as a Secret from here: no local of the SDK's frames shows the PIN in a traceback.
    secret = value if isinstance(value, Secret) else Secret(str(value))
    del value
    return await exchange_pin(
        application_id,
        mobile_number,
        secret,
        api_root=api_root,
        transport=transport,
        timeout=timeout,
        limits=limits,
    )
