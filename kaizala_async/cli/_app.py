"""The ``kaizala`` command.

Configuration comes from flags, then environment variables (``KAIZALA_APPLICATION_ID``,
``KAIZALA_APPLICATION_SECRET``, ``KAIZALA_API_ROOT``, ``KAIZALA_TOKEN_FILE``), then the config
file (``KAIZALA_CONFIG`` or ``~/.config/kaizala/config.json``). Secrets are never printed.

Exit codes: 0 success, 1 other API error, 2 bad input, 3 authentication failure, 4 throttled
(gave up waiting), 5 network failure, 6 a fan-out left targets failed or unknown.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from kaizala_async import (
    EVENT_TYPES,
    AuthenticationError,
    Credentials,
    FanOutProgress,
    FileTokenStore,
    KaizalaClient,
    KaizalaError,
    PermissionDeniedError,
    Rate,
    RateLimits,
    Secret,
    StoredTokens,
    ThrottledError,
    TransportError,
    ValidationError,
    __version__,
    login_with_pin,
)
from kaizala_async._constants import API_ROOT
from kaizala_async._converter import unstructure
from kaizala_async._secrets import redact

T = TypeVar("T")

EXIT_API, EXIT_INPUT, EXIT_AUTH, EXIT_THROTTLED, EXIT_NETWORK, EXIT_INCOMPLETE = 1, 2, 3, 4, 5, 6

_HELP = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    name="kaizala",
    help="Kaizala from the shell: a one-command demo, a local emulator, and the API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings=_HELP,
)
groups_app = typer.Typer(
    help="List and create groups.", no_args_is_help=True, context_settings=_HELP
)
members_app = typer.Typer(
    help="List and add group members.", no_args_is_help=True, context_settings=_HELP
)
webhooks_app = typer.Typer(
    help="List, add and delete webhooks on a group.", no_args_is_help=True, context_settings=_HELP
)
auth_app = typer.Typer(
    help="Log in, see who you are logged in as, log out.", no_args_is_help=True,
    context_settings=_HELP,
)  # fmt: skip
app.add_typer(auth_app, name="auth")
app.add_typer(groups_app, name="groups")
app.add_typer(members_app, name="members")
app.add_typer(webhooks_app, name="webhooks")

# The service's text (group names, messages) is printed literally: never read as rich markup
# ("[/x]" used to crash a listing), never highlighted.
out = Console(markup=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)

AppId = Annotated[
    str | None, typer.Option("--application-id", help="connector id [env KAIZALA_APPLICATION_ID]")
]
ApiRoot = Annotated[
    str | None, typer.Option("--api-root", help="token service URL [env KAIZALA_API_ROOT]")
]
TokenFile = Annotated[Path | None, typer.Option("--token-file", help="where the refresh token is kept [env KAIZALA_TOKEN_FILE]")]  # fmt: skip


def _version(value: bool) -> None:
    if value:
        print(f"kaizala {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """Kaizala from the shell: a one-command demo, a local emulator, and the API."""


def _emit_json(model: object, fields: str | None = None) -> None:
    """One JSON line with every field of ``model`` (camelCase, as the service spells them), or
    only ``fields`` (comma-separated); secrets it holds are printed as ``***``."""
    data = unstructure(model)
    if fields and isinstance(data, dict):
        wanted = [f.strip() for f in fields.split(",") if f.strip()]
        data = {k: data.get(k) for k in wanted}
    print(redact(json.dumps(data, default=str)))


JsonOutput = Annotated[bool, typer.Option("--json", help="one JSON object per line, every field")]
Fields = Annotated[
    str | None,
    typer.Option(
        "--fields", help="with --json: only these fields, comma-separated (e.g. groupId,groupName)"
    ),
]


def _config_file() -> dict[str, Any]:
    path = Path(os.environ.get("KAIZALA_CONFIG", "~/.config/kaizala/config.json")).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValidationError("config", f"cannot read {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def _setting(flag: Any, env: str, key: str, default: Any = None) -> Any:
    if flag is not None:
        return flag
    if os.environ.get(env):
        return os.environ[env]
    return _config_file().get(key, default)


def _settings(app_id: str | None, api_root: str | None, token_file: Path | None) -> dict[str, Any]:
    return {
        "application_id": _setting(app_id, "KAIZALA_APPLICATION_ID", "applicationId"),
        "application_secret": _setting(None, "KAIZALA_APPLICATION_SECRET", "applicationSecret"),
        "api_root": _setting(api_root, "KAIZALA_API_ROOT", "apiRoot", API_ROOT),
        "token_file": Path(
            _setting(token_file, "KAIZALA_TOKEN_FILE", "tokenFile", "~/.config/kaizala/tokens.json")
        ).expanduser(),
    }


def _client(app_id: str | None, api_root: str | None, token_file: Path | None) -> KaizalaClient:
    s = _settings(app_id, api_root, token_file)
    if not s["application_id"]:
        raise ValidationError(
            "application_id", "give --application-id or set KAIZALA_APPLICATION_ID"
        )
    if not s["application_secret"]:
        raise ValidationError("application_secret", "set KAIZALA_APPLICATION_SECRET (never a flag)")
    # A refresh token from the portal can come from the environment; otherwise the token file.
    credentials = Credentials(
        s["application_id"],
        s["application_secret"],
        os.environ.get("KAIZALA_REFRESH_TOKEN") or None,
    )
    return KaizalaClient(
        credentials,
        api_root=s["api_root"],
        token_store=FileTokenStore(s["token_file"]),
        limits=_limits(os.environ.get("KAIZALA_LIMITS")),
    )


def _limits(text: str | None) -> RateLimits | None:
    """``KAIZALA_LIMITS=100/1,300/1``: the connector's and the tenant's limits, for an emulator
    with scaled limits (the real ones by default)."""
    if not text:
        return None
    try:
        connector, tenant = (part.strip().split("/") for part in text.split(","))
        return RateLimits(
            connector=Rate(int(connector[0]), float(connector[1])),
            tenant=Rate(int(tenant[0]), float(tenant[1])),
        )
    except (ValueError, TypeError):
        raise ValidationError(
            "KAIZALA_LIMITS",
            f"must be CONNECTOR/SECONDS,TENANT/SECONDS, e.g. 100/1,300/1, not {text!r}",
        ) from None


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``; turn SDK errors into one line on stderr and a documented exit code."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ValidationError as exc:
        hint = "; run `kaizala login` first" if exc.argument == "credentials" else ""
        err.print(f"error: {exc}{hint}")
        raise typer.Exit(EXIT_INPUT) from None
    except (AuthenticationError, PermissionDeniedError) as exc:
        err.print(f"authentication failed: {exc}")
        raise typer.Exit(EXIT_AUTH) from None
    except ThrottledError as exc:
        err.print(f"throttled, gave up: {exc}")
        raise typer.Exit(EXIT_THROTTLED) from None
    except TransportError as exc:
        err.print(f"network failure: {exc}")
        raise typer.Exit(EXIT_NETWORK) from None
    except KaizalaError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(EXIT_API) from None


@app.command()
def demo(
    groups: Annotated[int, typer.Option(help="how many groups to create and message")] = 200,
) -> None:
    """Start a local emulator, log in with a PIN, create groups, fan a message out to all of
    them with a live progress bar, receive the webhook events, and print a summary."""
    from ._demo import run_demo

    if not 1 <= groups <= 2000:
        err.print("error: groups: must be between 1 and 2000")
        raise typer.Exit(EXIT_INPUT)
    ok = asyncio.run(run_demo(out, groups))
    raise typer.Exit(0 if ok else EXIT_INCOMPLETE)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                      "help_option_names": []},
    add_help_option=False,
)  # fmt: skip
def emulator(ctx: typer.Context) -> None:
    """Run the Kaizala emulator on loopback and print its API root (``kaizala emulator -h``
    lists its options: host, port, counting method, limits, token lifetime, faults, network)."""
    from kaizala_async.emulator.__main__ import main as emulator_main

    raise typer.Exit(emulator_main(list(ctx.args), prog="kaizala emulator"))


@app.command()
def login(
    mobile: Annotated[str, typer.Option("--mobile", help="your number, e.g. +911234567890")],
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Log in with a PIN sent by SMS; save the refresh token (file mode 0600, never printed)."""
    s = _settings(application_id, api_root, token_file)
    if not s["application_id"]:
        err.print("error: application_id: give --application-id or set KAIZALA_APPLICATION_ID")
        raise typer.Exit(EXIT_INPUT)

    async def work() -> None:
        result = await login_with_pin(
            s["application_id"],
            mobile,
            pin=lambda: typer.prompt("PIN", hide_input=True),
            api_root=s["api_root"],
        )
        await FileTokenStore(s["token_file"]).save(
            StoredTokens(application_id=s["application_id"], refresh_token=result.refresh_token)
        )

    _run(work)
    out.print(f"logged in; refresh token saved to {s['token_file']}")


@auth_app.command("login")
def auth_login(
    mobile: Annotated[
        str | None,
        typer.Option("--mobile", help="your number for the PIN flow, e.g. +911234567890"),
    ] = None,
    with_token: Annotated[
        bool, typer.Option("--with-token", help="read a refresh token from stdin (from the portal)")
    ] = False,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Log in: the PIN flow (--mobile), or a refresh token read from stdin (--with-token, as
    `gh auth login --with-token`). The token is saved (file mode 0600), never printed."""
    if with_token == (mobile is not None):
        err.print("error: give exactly one of --mobile and --with-token")
        raise typer.Exit(EXIT_INPUT)
    if mobile is not None:
        login(mobile, application_id, api_root, token_file)
        return
    s = _settings(application_id, api_root, token_file)
    if not s["application_id"]:
        err.print("error: application_id: give --application-id or set KAIZALA_APPLICATION_ID")
        raise typer.Exit(EXIT_INPUT)
    token = sys.stdin.readline().strip()
    if not token or any(c.isspace() for c in token):
        err.print("error: refresh token: expected one token on stdin")
        raise typer.Exit(EXIT_INPUT)

    async def work() -> None:
        await FileTokenStore(s["token_file"]).save(
            StoredTokens(application_id=s["application_id"], refresh_token=Secret(token))
        )

    _run(work)
    out.print(f"refresh token saved to {s['token_file']}")


@auth_app.command("status")
def auth_status(
    application_id: AppId = None, api_root: ApiRoot = None, token_file: TokenFile = None
) -> None:
    """What is stored for the connector (never the tokens themselves)."""
    s = _settings(application_id, api_root, token_file)
    if not s["application_id"]:
        err.print("error: application_id: give --application-id or set KAIZALA_APPLICATION_ID")
        raise typer.Exit(EXIT_INPUT)

    async def work() -> StoredTokens | None:
        return await FileTokenStore(s["token_file"]).load(s["application_id"])

    stored = _run(work)
    if stored is None:
        out.print(f"not logged in for {s['application_id']} ({s['token_file']}); "
                  "run `kaizala auth login`")  # fmt: skip
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
def auth_logout(
    application_id: AppId = None, api_root: ApiRoot = None, token_file: TokenFile = None
) -> None:
    """Forget the connector's stored tokens."""
    s = _settings(application_id, api_root, token_file)
    if not s["application_id"]:
        err.print("error: application_id: give --application-id or set KAIZALA_APPLICATION_ID")
        raise typer.Exit(EXIT_INPUT)

    async def work() -> bool:
        return await FileTokenStore(s["token_file"]).delete(s["application_id"])

    removed = _run(work)
    out.print("logged out" if removed else "was not logged in")


@app.command()
def whoami(
    json_output: JsonOutput = False,
    fields: Fields = None,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Show the user the saved token belongs to."""

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            me = await client.users.me()
        if json_output:
            _emit_json(me, fields)
        else:
            out.print(f"{me.name or ''} {me.mobile_number or ''} (user id {me.id})".strip())

    _run(work)


@groups_app.command("list")
def groups_list(
    json_output: JsonOutput = False,
    fields: Fields = None,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """List the groups the token can see."""

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            async for g in client.groups.list():
                if json_output:
                    _emit_json(g, fields)
                else:
                    out.print(f"{g.group_id}  {g.group_name}")

    _run(work)


@groups_app.command("create")
def groups_create(
    name: str,
    welcome: Annotated[str, typer.Option(help="welcome message")] = "Welcome",
    member: Annotated[list[str] | None, typer.Option(help="a member's number (repeatable)")] = None,
    json_output: JsonOutput = False,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Create a group; print its id."""

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            created = await client.groups.create(name, welcome, members=member or [])
        if json_output:
            _emit_json(created)
        else:
            print(created.group_id)
        if created.members_added is False:
            err.print("warning: some members could not be added")

    _run(work)


@members_app.command("list")
def members_list(
    group_id: str,
    json_output: JsonOutput = False,
    fields: Fields = None,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """List a group's members."""

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            async for m in client.members.list(group_id):
                if json_output:
                    _emit_json(m, fields)
                else:
                    out.print(f"{m.id}  {m.mobile_number}  {m.role}")

    _run(work)


@members_app.command("add")
def members_add(
    group_id: str,
    numbers: list[str],
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Add members by phone number."""

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            added = await client.members.add(group_id, numbers)
        out.print("all added" if added.all_added else "some numbers were not added")

    _run(work)


@app.command()
def send(
    group_id: str,
    text: str,
    json_output: JsonOutput = False,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Send a text message to a group; print its reference id."""

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            sent = await client.messages.send(group_id, text)
        if json_output:
            _emit_json(sent)
        else:
            print(sent.reference_id)

    _run(work)


@webhooks_app.command("list")
def webhooks_list(
    group_id: str,
    json_output: JsonOutput = False,
    fields: Fields = None,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """List the webhooks on a group."""

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            async for w in client.webhooks.list(group_id, "Group"):
                if json_output:
                    _emit_json(w, fields)
                    continue
                state = "active" if w.active is not False else "disabled"
                out.print(f"{w.id}  {w.callback_url}  {','.join(w.events)}  {state}")

    _run(work)


@webhooks_app.command("add")
def webhooks_add(
    group_id: str,
    url: str,
    event: Annotated[list[str], typer.Option(help="an event type (repeatable)")],
    no_token: Annotated[
        bool, typer.Option("--no-token", help="register without a callback token")
    ] = False,
    json_output: JsonOutput = False,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Register a webhook on a group (the receiver must answer the handshake). The callback
    token is read from KAIZALA_CALLBACK_TOKEN (required: without one anybody could post events
    to your receiver; --no-token to register without)."""
    unknown = [e for e in event if e not in EVENT_TYPES]
    if unknown:
        err.print(f"error: event: unknown event type(s) {', '.join(unknown)}; "
                  f"one of {', '.join(EVENT_TYPES)}")  # fmt: skip
        raise typer.Exit(EXIT_INPUT)
    callback_token = os.environ.get("KAIZALA_CALLBACK_TOKEN") or None
    if callback_token is None and not no_token:
        err.print("error: callback token: set KAIZALA_CALLBACK_TOKEN (the receiver checks it), "
                  "or give --no-token to register a webhook anybody can post to")  # fmt: skip
        raise typer.Exit(EXIT_INPUT)

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            hook = await client.webhooks.register(
                group_id,
                "Group",
                event,
                url,
                callback_token=callback_token,
            )
        if json_output:
            _emit_json(hook)
        else:
            print(hook.webhook_id)

    _run(work)


@webhooks_app.command("delete")
def webhooks_delete(
    webhook_id: str,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Delete a webhook."""

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            await client.webhooks.delete(webhook_id)

    _run(work)


def _read_groups(source: str) -> Iterator[str]:
    if source == "-":
        for line in sys.stdin:
            if line.strip():
                yield line.strip()
        return
    with open(source, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield line.strip()


@app.command()
def fanout(
    groups: Annotated[str, typer.Option("--groups", help="file of group ids, one per line, or -")],
    text: Annotated[str | None, typer.Option(help="the message")] = None,
    action_file: Annotated[
        Path | None, typer.Option(help='an action as JSON (an Announcement: {"title", "message"})')
    ] = None,
    journal: Annotated[
        Path | None, typer.Option(help="journal file: a rerun sends only what is left")
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="sends in flight")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Send one message to every group listed in a file (or stdin), with progress."""
    from kaizala_async import AnnouncementAction

    if groups != "-" and not Path(groups).is_file():
        err.print(f"error: groups: no such file: {groups}")
        raise typer.Exit(EXIT_INPUT)
    if (text is None) == (action_file is None):
        err.print("error: give exactly one of --text and --action-file")
        raise typer.Exit(EXIT_INPUT)
    action = None
    if action_file is not None:
        try:
            data = json.loads(action_file.read_text(encoding="utf-8"))
            action = AnnouncementAction(message=data["message"], title=data.get("title"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            err.print(f"error: action_file: not a usable announcement: {exc}")
            raise typer.Exit(EXIT_INPUT) from None
    interactive = err.is_terminal and not json_output
    total = None if groups == "-" else sum(1 for _ in _read_groups(groups))
    state: dict[str, Any] = {"progress": None, "client": None}

    async def work() -> Any:
        async with _client(application_id, api_root, token_file) as client:
            state["client"] = client
            with _FanOutDisplay(total, interactive, client) as display:

                def progress(p: FanOutProgress) -> None:
                    state["progress"] = p
                    display.update(p)

                return await client.fan_out(
                    _read_groups(groups), text=text, action=action, journal=journal,
                    concurrency=concurrency, on_progress=progress,
                )  # fmt: skip

    try:
        report = _run(work)
    except KeyboardInterrupt:
        p = state["progress"]
        done = f"{p.sent} sent, {p.failed} failed, {p.unknown} unknown" if p else "nothing sent"
        again = (f"run the same command again (same --journal {journal}) to send the rest"
                 if journal else "nothing was recorded: next time give --journal to resume")  # fmt: skip
        err.print(f"interrupted: {done}; {again}")
        raise typer.Exit(130) from None
    summary: dict[str, Any] = {
        "sent": report.sent, "failed": report.failed, "skipped": report.skipped,
        "unknown": report.unknown, "seconds": round(report.elapsed, 3),
    }  # fmt: skip
    if json_output:
        summary["failures"] = [
            {"groupId": f.group_id, "error": str(f.error), "retriable": f.retriable}
            for f in report.failures
        ]
        summary["unknowns"] = [{"groupId": u.group_id, "reason": u.reason} for u in report.unknowns]
        print(json.dumps(summary))
    else:
        out.print(" ".join(f"{k}={v}" for k, v in summary.items()))
        _print_problems(report)
    raise typer.Exit(0 if report.ok else EXIT_INCOMPLETE)


class _FanOutDisplay:
    """A live progress bar on a terminal (rate, time left, 429s, in flight); a plain line every
    5 s otherwise. Writes to stderr, so stdout keeps only the result."""

    def __init__(self, total: int | None, interactive: bool, client: KaizalaClient) -> None:
        self._interactive = interactive
        self._client = client
        self._last = 0.0
        self._bar: Progress | None = None
        self._task: Any = None
        if interactive:
            self._bar = Progress(
                TextColumn("sending"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f}/s"), TimeRemainingColumn(),
                TextColumn("429s {task.fields[throttled]}  in flight {task.fields[in_flight]}"),
                console=err, transient=False,
            )  # fmt: skip
            self._task = self._bar.add_task("fan-out", total=total, rate=0.0, throttled=0,
                                            in_flight=0)  # fmt: skip

    def __enter__(self) -> _FanOutDisplay:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, p: FanOutProgress) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=p.done, rate=p.rate,
                             throttled=self._client.stats.throttled, in_flight=p.in_flight)  # fmt: skip
        elif p.elapsed - self._last >= 5:
            self._last = p.elapsed
            err.print(f"{p.done} done, {p.sent} sent, {p.in_flight} in flight, {p.rate:.1f}/s")


def _print_problems(report: Any) -> None:
    """The targets that failed or whose fate is unknown, one row each."""
    rows = [(f.group_id, "failed", str(f.error)) for f in report.failures]
    rows += [(u.group_id, "unknown", u.reason) for u in report.unknowns]
    if not rows:
        return
    if out.is_terminal:
        table = Table("group", "outcome", "why")
        for row in rows:
            table.add_row(*row)
        out.print(table)
    else:
        for row in rows:
            out.print("\t".join(row))


@app.command()
def listen(
    group: Annotated[list[str], typer.Option("--group", help="a group id (repeatable)")],
    forward_to: Annotated[
        str | None, typer.Option("--forward-to", help="POST each event, as received, to this URL")
    ] = None,
    port: Annotated[int, typer.Option(help="the local port to listen on (0: a free one)")] = 0,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="the URL the service should call (a tunnel to the "
            "port); default: the loopback URL, which an emulator can reach",
        ),
    ] = None,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Receive a group's events here, print each one, forward it to your app (like `stripe
    listen`); the webhooks are deleted on Ctrl-C."""
    from ._listen import listen as run

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            await run(client, group, forward_to=forward_to, port=port, public_url=public_url,
                      show=out.print)  # fmt: skip

    try:
        _run(work)
    except KeyboardInterrupt:
        err.print("stopped; the webhooks were deleted")
        raise typer.Exit(0) from None


@app.command(context_settings=_HELP)
def api(
    method: Annotated[str, typer.Argument(help="GET, POST, PUT, DELETE or PATCH")],
    path: Annotated[str, typer.Argument(help="the path after /v1, e.g. /groups")],
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-f",
            help="key=value: a query parameter for GET and DELETE, "
            "else a JSON body field (repeatable; values that parse as JSON are JSON)",
        ),
    ] = None,
    application_id: AppId = None,
    api_root: ApiRoot = None,
    token_file: TokenFile = None,
) -> None:
    """Call any endpoint with the client's token, pacing and retries (like `gh api`); print
    the answer's JSON."""
    values: dict[str, Any] = {}
    for item in field or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            err.print(f"error: field: {item!r} is not key=value")
            raise typer.Exit(EXIT_INPUT)
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    verb = method.upper()

    async def work() -> None:
        async with _client(application_id, api_root, token_file) as client:
            if verb in {"GET", "DELETE"}:
                params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
                response = await client.request(verb, path, params=params or None)
            else:
                response = await client.request(verb, path, json=values)
        if response.content:
            try:
                body = response.json()
            except ValueError:
                print(redact(response.text))
            else:
                print(redact(json.dumps(body, indent=2)))

    _run(work)


def main() -> None:
    """Entry point of the ``kaizala`` console script."""
    app()
