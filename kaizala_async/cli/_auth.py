"""``kaizala login``, ``kaizala auth login|status|logout`` and ``kaizala whoami``."""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated, Any

import typer

from kaizala_async import (
    AuthenticationError,
    Credentials,
    FileTokenStore,
    KaizalaClient,
    Secret,
    StoredTokens,
    login_with_pin,
)
from kaizala_async.cli._app import (
    EXIT_AUTH,
    EXIT_INPUT,
    LOGIN_HINT,
    Fields,
    JsonOutput,
    _client,
    _emit_json,
    _limits,
    _require_application_id,
    _run,
    _settings,
    app,
    auth_app,
    err,
    out,
)


@app.command(short_help="Log in with a PIN sent by SMS (as `auth login --mobile`).")
def login(
    mobile: Annotated[
        str, typer.Option("--mobile", metavar="NUMBER", help="your number, e.g. +911234567890")
    ],
) -> None:
    """Log in with a PIN sent by SMS; save the refresh token (file mode 0600, never printed)."""
    s = _settings()
    _require_application_id(s)

    async def work() -> bool:
        result = await login_with_pin(
            s["application_id"],
            mobile,
            pin=lambda: typer.prompt("PIN", hide_input=True),
            api_root=s["api_root"],
        )
        # The refresh token is fresh from the service: a refusal now is the secret's.
        return await _check_and_save(s, result.refresh_token, "the application secret")

    checked = _run(work)
    out.print(f"logged in; refresh token saved to {s['token_file']}{_UNCHECKED * (not checked)}")


@auth_app.command("login", short_help="Log in with a PIN, or with a token from the portal.")
def auth_login(
    mobile: Annotated[
        str | None,
        typer.Option(
            "--mobile", metavar="NUMBER", help="your number for the PIN flow, e.g. +911234567890"
        ),
    ] = None,
    with_token: Annotated[
        bool, typer.Option("--with-token", help="read a refresh token from stdin (from the portal)")
    ] = False,
) -> None:
    """Log in: the PIN flow (--mobile), or a refresh token read from stdin (--with-token, as
    `gh auth login --with-token`). The token is saved (file mode 0600), never printed."""
    if with_token == (mobile is not None):
        err.print("error: give exactly one of --mobile and --with-token")
        raise typer.Exit(EXIT_INPUT)
    if mobile is not None:
        login(mobile)
        return
    s = _settings()
    _require_application_id(s)
    token = sys.stdin.readline().strip()
    if not token or any(c.isspace() for c in token):
        err.print("error: refresh token: expected one token on stdin")
        raise typer.Exit(EXIT_INPUT)

    async def work() -> bool:
        return await _check_and_save(
            s, Secret(token), "the refresh token or the application id and secret"
        )

    checked = _run(work)
    out.print(f"refresh token saved to {s['token_file']}{_UNCHECKED * (not checked)}")


_UNCHECKED = " (not checked: set KAIZALA_APPLICATION_SECRET to check it with one token call)"


async def _check_and_save(s: dict[str, Any], refresh_token: Secret, suspects: str) -> bool:
    """Check ``refresh_token`` with one token call, then save it with the access token it got
    (True); without an application secret, save it unchecked (False). A refusal saves nothing
    and says which credential the service refused, as far as it tells."""
    store = FileTokenStore(s["token_file"])
    if not s["application_secret"]:
        await store.save(StoredTokens(application_id=s["application_id"],
                                      refresh_token=refresh_token, api_root=s["api_root"]))  # fmt: skip
        return False
    credentials = Credentials(s["application_id"], s["application_secret"], refresh_token)
    client = KaizalaClient(credentials, api_root=s["api_root"], token_store=store,
                           limits=_limits(os.environ.get("KAIZALA_LIMITS")))  # fmt: skip
    try:
        async with client:  # entering fetches an access token; the store keeps both
            pass
    except AuthenticationError as exc:
        said = f": {exc.message}" if exc.message else ""
        err.print(f"login refused: the service did not accept {suspects}{said}; nothing was saved")
        raise typer.Exit(EXIT_AUTH) from None
    return True


@auth_app.command("status")
def auth_status() -> None:
    """What is stored for the connector (never the tokens themselves)."""
    s = _settings()
    _require_application_id(s)

    async def work() -> StoredTokens | None:
        return await FileTokenStore(s["token_file"]).load(s["application_id"])

    stored = _run(work)
    if stored is None:
        err.print(f"not logged in: nothing stored for {s['application_id']} in "
                  f"{s['token_file']}; {LOGIN_HINT}")  # fmt: skip
        raise typer.Exit(EXIT_AUTH)
    out.print(f"connector {s['application_id']}: refresh token stored in {s['token_file']}")
    if stored.endpoint_url:
        out.print(f"endpoint {stored.endpoint_url}")
    expiry = stored.access_token_expiry
    if stored.access_token is not None and expiry is not None and expiry > time.time():
        minutes = (expiry - time.time()) / 60
        out.print(f"access token valid for {minutes:.0f} more minutes")
    else:
        out.print("no valid access token stored (the next command fetches one)")


@auth_app.command("logout")
def auth_logout() -> None:
    """Forget the connector's stored tokens."""
    s = _settings()
    _require_application_id(s)

    async def work() -> bool:
        return await FileTokenStore(s["token_file"]).delete(s["application_id"])

    removed = _run(work)
    out.print("logged out" if removed else "was not logged in")


@app.command()
def whoami(
    json_output: JsonOutput = False,
    fields: Fields = None,
) -> None:
    """Show the user the saved token belongs to."""

    async def work() -> None:
        async with _client() as client:
            me = await client.users.me()
        if json_output:
            _emit_json(me, fields)
        else:
            out.print(f"{me.name or ''} {me.mobile_number or ''} (user id {me.id})".strip())

    _run(work)
