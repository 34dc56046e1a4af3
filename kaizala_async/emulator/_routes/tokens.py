"""The token service (A1-A3) and OAuth (A4, A5): credentials of their own, at the API root."""

from __future__ import annotations

import math
import secrets
import urllib.parse

from kaizala_async.emulator._routing import Call, RouteSet
from kaizala_async.emulator._state import Connector, PinMessage
from kaizala_async.emulator._wire import BAD_CONNECTOR, MOBILE, Answer, HTTPError, bad, ok

__all__ = ["ROUTES"]

routes = RouteSet(kind="token")


def _connector_and_mobile(call: Call) -> tuple[Connector, str]:
    data = call.body()
    connector = call.world.connectors.get(str(data.get("applicationid", "")))
    mobile = str(data.get("mobilenumber", ""))
    if connector is None:
        raise HTTPError(401, BAD_CONNECTOR)
    if not MOBILE.match(mobile):
        raise bad("mobileNumber must be a number with country code, e.g. +911234567890")
    call.request.application_id = connector.application_id
    call.app.throttle(connector)
    return connector, mobile


@routes.add("A1", "POST", "/v1/generatePin")
async def generate_pin(call: Call) -> Answer:
    connector, mobile = _connector_and_mobile(call)
    wall = call.app.wall()
    # 4 digits, no leading zero: the PIN travels as a JSON integer (API A2).
    pin = str(1000 + secrets.randbelow(9000))
    app_id = connector.application_id
    call.world.outbox.append(PinMessage(mobile, app_id, pin, wall, wall + call.app.config.pin_ttl))
    return ok({})


@routes.add("A2", "POST", "/v1/loginWithPinAndApplicationId")
async def login_with_pin(call: Call) -> Answer:
    connector, mobile = _connector_and_mobile(call)
    app_id = connector.application_id
    wall = call.app.wall()
    pin = str(call.body().get("pin", "")).strip()
    for message in reversed(call.world.outbox):
        if (
            message.mobile_number == mobile
            and message.application_id == app_id
            and not message.used
            and wall < message.expires_at
            and secrets.compare_digest(message.pin, pin.lstrip("0") or "0")
        ):
            message.used = True
            token = call.app.issue_refresh_token(connector, mobile)
            return ok(
                {
                    "refreshToken": token,
                    "grantedScope": connector.scopes,
                    "refreshTokenExpiry": math.floor(
                        (wall + call.app.config.refresh_token_ttl) * 1000
                    ),
                }
            )
    raise HTTPError(
        401,
        {
            "message": "The PIN is wrong or has expired",
            "errorCode": "Unauthenticated",
            "errorCategoryKey": "AuthException",
        },
    )


@routes.add("A3", "GET", "/v1/accessToken")
async def access_token(call: Call) -> Answer:
    headers, world = call.request.headers, call.world
    connector = world.connectors.get(headers.get("applicationid", ""))
    if connector is None or not secrets.compare_digest(
        connector.application_secret, headers.get("applicationsecret", "")
    ):
        raise HTTPError(401, BAD_CONNECTOR)
    call.request.application_id = connector.application_id
    call.app.throttle(connector)
    refresh = headers.get("refreshtoken", "")
    grant = world.refresh.get(refresh)
    wall = call.app.wall()
    if grant is None or grant.connector is not connector or wall >= grant.expires_at:
        raise HTTPError(401, BAD_CONNECTOR)
    rotated: str | None = None
    if wall >= grant.issued_at + 0.9 * (grant.expires_at - grant.issued_at):
        rotated = call.app.issue_refresh_token(connector, grant.mobile_number)
        del world.refresh[refresh]
    return ok(call.app.access_answer(connector, grant.mobile_number, rotated=rotated))


@routes.add("A4", "GET", "/api/oauth/authorize")
async def oauth_authorize(call: Call) -> Answer:
    query = call.request.query
    connector = call.world.connectors.get(query.get("client_id", ""))
    redirect = query.get("redirect_uri", "")
    if connector is None or not redirect.startswith(("http://", "https://")):
        raise bad("client_id must name a connector and redirect_uri must be a URL")
    # The browser sign-in is emulated: the user is the one named by the (emulator-only)
    # mobileNumber parameter, by default the demo number.
    mobile = query.get("mobilenumber", "") or "+911234567890"
    code = secrets.token_urlsafe(16)
    call.app.oauth_codes[code] = (connector.application_id, mobile)
    separator = "&" if "?" in redirect else "?"
    return 302, None, {"location": f"{redirect}{separator}code={code}"}


@routes.add("A5", "POST", "/api/oauth/token")
async def oauth_token(call: Call) -> Answer:
    form = dict(urllib.parse.parse_qsl(call.request.body.decode("utf-8", "replace")))
    connector = call.world.connectors.get(form.get("client_id", ""))
    if connector is None or not secrets.compare_digest(
        connector.application_secret, form.get("client_secret", "")
    ):
        raise HTTPError(401, BAD_CONNECTOR)
    issued = call.app.oauth_codes.pop(form.get("code", ""), None)
    if issued is None or issued[0] != connector.application_id:
        raise HTTPError(
            401,
            {
                "message": "The code is wrong or was used",
                "errorCode": "Unauthenticated",
                "errorCategoryKey": "AuthException",
            },
        )
    call.request.application_id = connector.application_id
    call.app.throttle(connector)
    refresh = call.app.issue_refresh_token(connector, issued[1])
    return ok(call.app.access_answer(connector, issued[1], rotated=refresh))


ROUTES = routes.routes
