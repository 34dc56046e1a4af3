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
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, TypeVar

import attrs
import typer
from rich.console import Console

from kaizala_async import (
    AuthenticationError,
    Credentials,
    FileTokenStore,
    KaizalaClient,
    KaizalaError,
    PermissionDeniedError,
    Rate,
    RateLimits,
    ThrottledError,
    TransportError,
    ValidationError,
    __version__,
)
from kaizala_async._constants import API_ROOT
from kaizala_async._converter import unstructure
from kaizala_async._secrets import redact

T = TypeVar("T")

EXIT_API, EXIT_INPUT, EXIT_AUTH, EXIT_THROTTLED, EXIT_NETWORK, EXIT_INCOMPLETE = 1, 2, 3, 4, 5, 6
#: What every command says when there is no usable login.
LOGIN_HINT = "run `kaizala auth login`"

_HELP = {"help_option_names": ["-h", "--help"]}


def command_group(help: str, **options: Any) -> typer.Typer:
    """A command or a family of commands, with the one look of them all: plain help, as `gh`
    and `stripe` print it (no type column that put `<bool>` after every flag, no boxes),
    `-h` as well as `--help`."""
    options.setdefault("no_args_is_help", True)
    return typer.Typer(help=help, rich_markup_mode=None, context_settings=_HELP, **options)


app = command_group(
    "Kaizala from the shell: a one-command demo, a local emulator, and the API.",
    name="kaizala",
    pretty_exceptions_enable=False,
    add_completion=True,
)
groups_app = command_group("List and create groups.")
members_app = command_group("List and add group members.")
webhooks_app = command_group("List, add and delete webhooks on a group.")
auth_app = command_group("Log in, see who you are logged in as, log out.")
app.add_typer(auth_app, name="auth")
app.add_typer(groups_app, name="groups")
app.add_typer(members_app, name="members")
app.add_typer(webhooks_app, name="webhooks")

#: Control characters (C0, DEL, C1) and the invisible bidirectional controls, shown as escapes:
#: text from the service must not move the cursor, retitle the terminal, open a hyperlink or
#: reorder what is shown around it.
_SHOWN = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F,
                 *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}  # fmt: skip
_SHOWN_BUT_LINES = {code: shown for code, shown in _SHOWN.items() if code != 0x0A}


def literal(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character made visible (``\\x1b``); ``lines`` keeps line
    breaks (for whole messages of ours that quote the service)."""
    return text.translate(_SHOWN_BUT_LINES if lines else _SHOWN)


class _LiteralConsole(Console):
    """A console that prints text as it is: no rich markup ("[/x]" used to crash a listing), no
    highlighting, no ``:emoji:`` codes, control characters made visible."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, highlight=False, emoji=False, soft_wrap=True, **options)

    def print(self, *objects: Any, **options: Any) -> None:
        shown = (literal(o, lines=True) if isinstance(o, str) else o for o in objects)
        super().print(*shown, **options)


out = _LiteralConsole()
err = _LiteralConsole(stderr=True)


@attrs.frozen
class Connection:
    """The connection options given before the command (``kaizala --api-root URL groups
    list``); ``None`` where not given, so the environment and the config file come next."""

    application_id: str | None = None
    api_root: str | None = None
    token_file: Path | None = None


#: The connection options of the command line being run, for the commands' helpers (typer's
#: context stack is its own click's, not reachable from them).
_GIVEN: ContextVar[Connection | None] = ContextVar("kaizala_cli_connection", default=None)


def _version(value: bool) -> None:
    if value:
        print(f"kaizala {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
    application_id: Annotated[
        str | None,
        typer.Option(metavar="ID", help="connector id (env KAIZALA_APPLICATION_ID)"),
    ] = None,
    api_root: Annotated[
        str | None,
        typer.Option(metavar="URL", help="token service URL (env KAIZALA_API_ROOT)"),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH", help="where the refresh token is kept (env KAIZALA_TOKEN_FILE)"
        ),
    ] = None,
) -> None:
    """Kaizala from the shell: a one-command demo, a local emulator, and the API.

    The connection options go before the command, as in `kaizala --api-root URL groups list`;
    the secret only ever comes from KAIZALA_APPLICATION_SECRET or the config file."""
    _GIVEN.set(Connection(application_id, api_root, token_file))


def _connection() -> Connection:
    """The connection options of the command being run (none outside a command line)."""
    return _GIVEN.get() or Connection()


def _emit_json(model: object, fields: str | None = None) -> None:
    """One JSON line with every field of ``model`` (camelCase, as the service spells them), or
    only ``fields`` (comma-separated); secrets it holds are printed as ``***``."""
    data = unstructure(model)
    if fields and isinstance(data, dict):
        wanted = [f.strip() for f in fields.split(",") if f.strip()]
        data = {k: data.get(k) for k in wanted}
    print(redact(json.dumps(data, default=str)))  # JSON escapes every control character


JsonOutput = Annotated[bool, typer.Option("--json", help="one JSON object per line, every field")]
Fields = Annotated[
    str | None,
    typer.Option(
        "--fields",
        metavar="NAMES",
        help="with --json: only these fields, comma-separated (e.g. groupId,groupName)",
    ),
]
GroupId = Annotated[str, typer.Argument(metavar="GROUP_ID", help="the group's id")]


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


def _settings() -> dict[str, Any]:
    """The connection settings: the options before the command, the environment, the file."""
    given = _connection()
    return {
        "application_id": _setting(given.application_id, "KAIZALA_APPLICATION_ID", "applicationId"),
        "application_secret": _setting(None, "KAIZALA_APPLICATION_SECRET", "applicationSecret"),
        "api_root": _setting(given.api_root, "KAIZALA_API_ROOT", "apiRoot", API_ROOT),
        "token_file": Path(
            _setting(
                given.token_file, "KAIZALA_TOKEN_FILE", "tokenFile", "~/.config/kaizala/tokens.json"
            )
        ).expanduser(),
    }


def _client() -> KaizalaClient:
    s = _settings()
    if not s["application_id"]:
        raise ValidationError(
            "application_id", "give `kaizala --application-id ID ...` or set KAIZALA_APPLICATION_ID"
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
    except (ValueError, TypeError, IndexError):  # IndexError: "100,300" has no "/"
        raise ValidationError(
            "KAIZALA_LIMITS",
            f"must be CONNECTOR/SECONDS,TENANT/SECONDS, e.g. 100/1,300/1, not {text!r}",
        ) from None


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``; turn SDK errors into one line on stderr and a documented exit code."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ValidationError as exc:
        if exc.argument == "credentials":  # not logged in (here): one hint, one exit code
            err.print(f"not logged in: {exc.reason}; {LOGIN_HINT}")
            raise typer.Exit(EXIT_AUTH) from None
        err.print(f"error: {exc}")
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


@app.command(short_help="Run everything locally: emulator, login, fan-out, webhooks.")
def demo(
    groups: Annotated[
        int, typer.Option(metavar="N", help="how many groups to create and message")
    ] = 200,
) -> None:
    """Start a local emulator, log in with a PIN, create groups, fan a message out to all of
    them with a live progress bar, receive the webhook events, and print a summary."""
    from ._demo import run_demo

    if not 1 <= groups <= 2000:
        err.print("error: groups: must be between 1 and 2000")
        raise typer.Exit(EXIT_INPUT)
    ok = asyncio.run(run_demo(out, groups))
    raise typer.Exit(0 if ok else EXIT_INCOMPLETE)


@app.command(short_help="Run the Kaizala emulator on loopback.")
def emulator(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="N", help="port (0 picks a free one)")] = 8080,
    throttle: Annotated[
        str,
        typer.Option(
            metavar="METHOD",
            help="how the service counts: sliding-log, fixed-window, "
            "sliding-window-counter, token-bucket or gcra",
        ),
    ] = "sliding-log",
    connector_limit: Annotated[
        str, typer.Option(metavar="N/SECONDS", help="calls per window per connector")
    ] = "100/60",
    tenant_limit: Annotated[
        str, typer.Option(metavar="N/SECONDS", help="calls per window per tenant")
    ] = "300/60",
    token_ttl: Annotated[
        float, typer.Option(metavar="SECONDS", help="access token lifetime")
    ] = 86_400.0,
    fault_rate: Annotated[
        float, typer.Option(metavar="SHARE", help="share of calls answered 503")
    ] = 0.0,
    seed: Annotated[int, typer.Option(metavar="N", help="seed of the fault draws")] = 0,
    network: Annotated[
        str | None,
        typer.Option(
            metavar="PROFILE",
            help="per-call delays each way: fixed:S, uniform:LOW-HIGH or spikes:BASE,RATE,LOW-HIGH",
        ),
    ] = None,
    connectors: Annotated[
        int, typer.Option(metavar="N", help="connectors to create in tenant 'contoso'")
    ] = 1,
) -> None:
    """Run the Kaizala emulator on loopback and print its API root and a connector's
    credentials (one JSON line each)."""
    from kaizala_async.emulator.__main__ import main as emulator_main

    argv = ["--host", host, "--port", str(port), "--throttle", throttle,
            "--connector-limit", connector_limit, "--tenant-limit", tenant_limit,
            "--token-ttl", str(token_ttl), "--fault-rate", str(fault_rate), "--seed", str(seed),
            "--connectors", str(connectors)]  # fmt: skip
    if network is not None:
        argv += ["--network", network]
    raise typer.Exit(emulator_main(argv, prog="kaizala emulator"))


def main() -> None:
    """Entry point of the ``kaizala`` console script."""
    app()


def _require_application_id(settings: dict[str, Any]) -> str:
    """The connector id from the settings, or exit 2 saying where to give it."""
    if not settings["application_id"]:
        err.print(
            "error: application_id: give `kaizala --application-id ID ...` or set KAIZALA_APPLICATION_ID"
        )
        raise typer.Exit(EXIT_INPUT)
    return str(settings["application_id"])


# The commands live by family; importing them registers them on `app`.
from kaizala_async.cli import _auth, _data, _fanout  # noqa: E402, F401
