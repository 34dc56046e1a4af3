"""``kaizala fanout``: one message to many groups, with live progress and a resumable journal."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from kaizala_async import (
    CampaignStatus,
    FanOutProgress,
    KaizalaClient,
    RedisJournal,
    Unknown,
)
from kaizala_async._fanout_engine import RESEND_HINT
from kaizala_async._redis_journal import from_url as redis_journal_from_url
from kaizala_async.cli._app import (
    EXIT_INCOMPLETE,
    EXIT_INPUT,
    EXIT_NETWORK,
    _client,
    _run,
    app,
    command_group,
    err,
    literal,
    out,
)


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


fanout_app = command_group(
    "Send one message to every group listed in a file (or stdin), with progress; "
    "`kaizala fanout status` reads a shared campaign's state.",
    short_help="Send one message to many groups, with progress.",
    no_args_is_help=False,
)
app.add_typer(fanout_app, name="fanout")

JOURNAL_HELP = (
    "journal: a file, or a campaign in Redis (redis://host:6379/0#campaign) that any number of "
    "workers drain together; a rerun sends only what is left"
)


@fanout_app.callback(invoke_without_command=True)
def fanout(
    ctx: typer.Context,
    groups: Annotated[
        str | None,
        typer.Option("--groups", metavar="FILE|-", help="file of group ids, one per line, or -"),
    ] = None,
    text: Annotated[str | None, typer.Option(metavar="TEXT", help="the message")] = None,
    action_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help='an action as JSON (an Announcement: {"title", "message"})'
        ),
    ] = None,
    journal: Annotated[str | None, typer.Option(metavar="PATH|URL", help=JOURNAL_HELP)] = None,
    concurrency: Annotated[int | None, typer.Option(metavar="N", help="sends in flight")] = None,
    resend: Annotated[
        list[str] | None,
        typer.Option(
            metavar="GROUP_ID",
            help="resend to a group an earlier run left unknown (repeat for several; needs --journal)",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Send one message to every group listed in a file (or stdin), with progress."""
    from kaizala_async import AnnouncementAction

    if ctx.invoked_subcommand is not None:
        return
    if groups is None:
        err.print("error: groups: give --groups FILE (or - for stdin)")
        raise typer.Exit(EXIT_INPUT)
    if groups != "-" and not Path(groups).is_file():
        err.print(f"error: groups: no such file: {groups}")
        raise typer.Exit(EXIT_INPUT)
    if resend and journal is None:
        err.print("error: resend: give --journal (the run that left those groups unknown)")
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
        async with _client() as client:
            state["client"] = client
            with _FanOutDisplay(total, interactive, client) as display:

                def progress(p: FanOutProgress) -> None:
                    state["progress"] = p
                    display.update(p)

                return await client.fan_out(
                    _read_groups(groups), text=text, action=action, journal=_journal(journal),
                    concurrency=concurrency, on_progress=progress, resend=resend or None,
                )  # fmt: skip

    try:
        report = _run(work)
    except KeyboardInterrupt:
        p = state["progress"]
        done = f"{p.sent} sent, {p.failed} failed, {p.unknown} unknown" if p else "nothing sent"
        again = (f"run the same command again (same --journal {journal}) to send the rest"
                 if journal else "nothing was recorded: next time give --journal to resume")  # fmt: skip
        if p and p.unknown:
            again += (
                "; an unknown send may have arrived: the rerun lists those groups, and "
                "--resend GROUP_ID sends one again"
            )
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
        summary["unknowns"] = [
            {"groupId": u.group_id, "reason": _reason(u)} for u in report.unknowns
        ]
        print(json.dumps(summary))
    else:
        out.print(" ".join(f"{k}={v}" for k, v in summary.items()))
        _print_problems(report)
    raise typer.Exit(0 if report.ok else EXIT_INCOMPLETE)


def _journal(value: str | None) -> str | RedisJournal | None:
    """``--journal``: a file path, or ``redis://...#campaign``."""
    if value is not None and value.startswith(("redis://", "rediss://", "unix://")):
        return redis_journal_from_url(value)
    return value


@fanout_app.command("status", short_help="A shared campaign's state, read without sending.")
def status(
    journal: Annotated[
        str, typer.Option(metavar="URL", help="the campaign: redis://host:6379/0#campaign")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="print the state as JSON")] = False,
) -> None:
    """A shared campaign's state, read from Redis without sending: targets per state, per
    worker, and the age of the oldest send in flight."""
    found = _journal(journal)
    if not isinstance(found, RedisJournal):
        err.print("error: journal: give a Redis campaign, redis://host:6379/0#campaign")
        raise typer.Exit(EXIT_INPUT)
    campaign = found

    async def work() -> CampaignStatus:
        try:
            return await campaign.status()
        finally:
            await campaign.aclose()

    try:
        state = _run(work)
    except typer.Exit:
        raise
    except Exception as exc:  # redis-py's own errors: the server cannot be reached
        err.print(f"network failure: cannot read the campaign: {type(exc).__name__}")
        raise typer.Exit(EXIT_NETWORK) from None
    if json_output:
        print(json.dumps({"counts": state.counts, "oldestInFlight": state.oldest_in_flight,
                          "workers": {w: {"held": held, "live": live}
                                      for w, (held, live) in state.workers.items()}}))  # fmt: skip
        return
    out.print(" ".join(f"{k}={v}" for k, v in state.counts.items()))
    age = state.oldest_in_flight
    out.print("oldest in flight: " + ("none" if age is None else f"{age:.1f} s ago"))
    for worker, (held, live) in state.workers.items():
        out.print(f"worker {worker}: {held} held, {'live' if live else 'gone'}")


class _FanOutDisplay:
    """A live progress bar on a terminal (rate, time left, 429s, in flight); a plain line every
    5 s otherwise. Writes to stderr, so stdout keeps only the result."""

    def __init__(
        self, total: int | None, interactive: bool, client: KaizalaClient,
        console: Console | None = None,
    ) -> None:  # fmt: skip
        self._interactive = interactive
        self._client = client
        self._last = 0.0
        self._bar: Progress | None = None
        self._started = False
        self._task: Any = None
        if interactive:
            self._bar = Progress(
                TextColumn("sending"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f}/s"), TimeRemainingColumn(),
                TextColumn("429s {task.fields[throttled]}  in flight {task.fields[in_flight]}"),
                console=console or err, transient=False,
            )  # fmt: skip
            self._task = self._bar.add_task("fan-out", total=total, rate=0.0, throttled=0,
                                            in_flight=0)  # fmt: skip

    def __enter__(self) -> _FanOutDisplay:
        # The bar is drawn with the first progress, not before: input refused up front (a
        # journal written for another message) leaves only its error on the screen.
        self._started = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None and self._started:
            self._bar.stop()

    def update(self, p: FanOutProgress) -> None:
        if self._bar is not None and not self._started:
            self._started = True
            self._bar.start()
        if self._bar is not None:
            self._bar.update(self._task, completed=p.done, rate=p.rate,
                             throttled=self._client.stats.throttled, in_flight=p.in_flight)  # fmt: skip
        elif p.elapsed - self._last >= 5:
            self._last = p.elapsed
            err.print(f"{p.done} done, {p.sent} sent, {p.in_flight} in flight, {p.rate:.1f}/s")


def _reason(unknown: Unknown) -> str:
    """An Unknown's reason, naming this command's option where the SDK names its keyword."""
    return unknown.reason.replace(RESEND_HINT, f"--resend {unknown.group_id} resends it")


def _print_problems(report: Any) -> None:
    """The targets that failed or whose fate is unknown, one row each."""
    rows = [(f.group_id, "failed", str(f.error)) for f in report.failures]
    rows += [(u.group_id, "unknown", _reason(u)) for u in report.unknowns]
    if not rows:
        return
    if out.is_terminal:
        table = Table("group", "outcome", "why")
        for row in rows:
            table.add_row(*row)
        out.print(table)
    else:
        # Each field made literal on its own, then joined by real tabs: through the console the
        # tabs themselves came out as "\x09", and `cut -f` found one column.
        for row in rows:
            print("\t".join(literal(field) for field in row))
