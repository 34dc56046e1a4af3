"""The data commands: groups, members, send, webhooks, listen and ``kaizala api``."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from kaizala_async import (
    EVENT_TYPES,
)
from kaizala_async._secrets import redact
from kaizala_async.cli._app import (
    EXIT_INPUT,
    Fields,
    GroupId,
    JsonOutput,
    _client,
    _emit_json,
    _run,
    app,
    err,
    groups_app,
    literal,
    members_app,
    out,
    webhooks_app,
)


@groups_app.command("list")
def groups_list(
    json_output: JsonOutput = False,
    fields: Fields = None,
) -> None:
    """List the groups the token can see."""

    async def work() -> None:
        async with _client() as client:
            async for g in client.groups.list():
                if json_output:
                    _emit_json(g, fields)
                else:
                    out.print(f"{g.group_id}  {g.group_name}")

    _run(work)


@groups_app.command("create")
def groups_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="the new group's name")],
    welcome: Annotated[str, typer.Option(metavar="TEXT", help="welcome message")] = "Welcome",
    member: Annotated[
        list[str] | None, typer.Option(metavar="NUMBER", help="a member's number (repeatable)")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Create a group; print its id."""

    async def work() -> None:
        async with _client() as client:
            created = await client.groups.create(name, welcome, members=member or [])
        if json_output:
            _emit_json(created)
        else:
            print(literal(created.group_id))
        if created.members_added is False:
            err.print("warning: some members could not be added")

    _run(work)


@members_app.command("list")
def members_list(
    group_id: GroupId,
    json_output: JsonOutput = False,
    fields: Fields = None,
) -> None:
    """List a group's members."""

    async def work() -> None:
        async with _client() as client:
            async for m in client.members.list(group_id):
                if json_output:
                    _emit_json(m, fields)
                else:
                    out.print(f"{m.id}  {m.mobile_number}  {m.role}")

    _run(work)


@members_app.command("add")
def members_add(
    group_id: GroupId,
    numbers: Annotated[list[str], typer.Argument(metavar="NUMBER...", help="mobile numbers")],
) -> None:
    """Add members by phone number."""

    async def work() -> None:
        async with _client() as client:
            added = await client.members.add(group_id, numbers)
        out.print("all added" if added.all_added else "some numbers were not added")

    _run(work)


@app.command()
def send(
    group_id: GroupId,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="the message")],
    json_output: JsonOutput = False,
) -> None:
    """Send a text message to a group; print its reference id."""

    async def work() -> None:
        async with _client() as client:
            sent = await client.messages.send(group_id, text)
        if json_output:
            _emit_json(sent)
        else:
            print(literal(sent.reference_id))

    _run(work)


@webhooks_app.command("list")
def webhooks_list(
    group_id: GroupId,
    json_output: JsonOutput = False,
    fields: Fields = None,
) -> None:
    """List the webhooks on a group."""

    async def work() -> None:
        async with _client() as client:
            async for w in client.webhooks.list(group_id, "Group"):
                if json_output:
                    _emit_json(w, fields)
                    continue
                state = "active" if w.active is not False else "disabled"
                out.print(f"{w.id}  {w.callback_url}  {','.join(w.events)}  {state}")

    _run(work)


@webhooks_app.command("add", short_help="Register a webhook on a group.")
def webhooks_add(
    group_id: GroupId,
    url: Annotated[str, typer.Argument(metavar="URL", help="the callback URL")],
    event: Annotated[list[str], typer.Option(metavar="TYPE", help="an event type (repeatable)")],
    no_token: Annotated[
        bool, typer.Option("--no-token", help="register without a callback token")
    ] = False,
    json_output: JsonOutput = False,
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
        async with _client() as client:
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
            print(literal(hook.webhook_id))

    _run(work)


@webhooks_app.command("delete")
def webhooks_delete(
    webhook_id: Annotated[str, typer.Argument(metavar="WEBHOOK_ID", help="the webhook's id")],
) -> None:
    """Delete a webhook."""

    async def work() -> None:
        async with _client() as client:
            await client.webhooks.delete(webhook_id)

    _run(work)


@app.command(short_help="Receive a group's events here and forward them (like `stripe listen`).")
def listen(
    group: Annotated[
        list[str], typer.Option("--group", metavar="GROUP_ID", help="a group id (repeatable)")
    ],
    forward_to: Annotated[
        str | None,
        typer.Option(
            "--forward-to", metavar="URL", help="POST each event, as received, to this URL"
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(metavar="N", help="the local port to listen on (0: a free one)")
    ] = 0,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="the URL the service should call (a tunnel to the "
            "port); default: the loopback URL, which an emulator can reach",
        ),
    ] = None,
) -> None:
    """Receive a group's events here, print each one, forward it to your app (like `stripe
    listen`); the webhooks are deleted on Ctrl-C."""
    from ._listen import listen as run

    async def work() -> None:
        async with _client() as client:
            await run(client, group, forward_to=forward_to, port=port, public_url=public_url,
                      show=out.print)  # fmt: skip

    try:
        _run(work)
    except KeyboardInterrupt:
        err.print("stopped; the webhooks were deleted")
        raise typer.Exit(0) from None


#: How deep a ``--field`` value may nest (a JSON body of the API nests a few levels).
_MAX_FIELD_DEPTH = 32


class _NestedTooDeeply(Exception):
    pass


def _field_value(raw: str) -> Any:
    """A ``--field`` value: its JSON when it is strict JSON (``NaN`` and ``Infinity`` are not:
    they stay text), else the text itself; refused past ``_MAX_FIELD_DEPTH`` levels."""

    def not_json(constant: str) -> Any:
        raise ValueError(constant)

    try:
        value = json.loads(raw, parse_constant=not_json)
    except RecursionError:
        raise _NestedTooDeeply from None
    except ValueError:
        return raw
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > _MAX_FIELD_DEPTH:
            raise _NestedTooDeeply
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, level + 1) for child in children)
    return value


@app.command(short_help="Call any endpoint with the client's token, pacing and retries.")
def api(
    method: Annotated[
        str, typer.Argument(metavar="METHOD", help="GET, POST, PUT, DELETE or PATCH")
    ],
    path: Annotated[str, typer.Argument(metavar="PATH", help="the path after /v1, e.g. /groups")],
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-f",
            metavar="KEY=VALUE",
            help="key=value: a query parameter for GET and DELETE, "
            "else a JSON body field (repeatable; values that parse as JSON are JSON)",
        ),
    ] = None,
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
            values[key] = _field_value(raw)
        except _NestedTooDeeply:
            err.print(f"error: field: {key!r} is nested deeper than {_MAX_FIELD_DEPTH} levels")
            raise typer.Exit(EXIT_INPUT) from None
    verb = method.upper()

    async def work() -> None:
        async with _client() as client:
            if verb in {"GET", "DELETE"}:
                params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
                response = await client.request(verb, path, params=params or None)
            else:
                response = await client.request(verb, path, json=values)
        if response.content:
            try:
                body = response.json()
            except ValueError:
                print(literal(redact(response.text), lines=True))
            else:
                print(redact(json.dumps(body, indent=2)))

    _run(work)
