"""``kaizala demo``: the whole SDK in under a minute, against a local emulator."""

from __future__ import annotations

import asyncio
import secrets

import anyio
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from kaizala_async import (
    Credentials,
    FanOutProgress,
    KaizalaClient,
    RateLimits,
    TextMessageCreatedEvent,
    WebhookReceiver,
    login_with_pin,
)
from kaizala_async._loopback import serve_loopback
from kaizala_async.emulator import EmulatorConfig, emulator_process

MOBILE = "+911234567890"
MESSAGE = "Store closes at 6 today"


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
    )


async def run_demo(console: Console, groups: int = 200) -> bool:
    """Run the demo; True when every message was sent and every event arrived."""
    config = EmulatorConfig.fast()
    limit = config.connector_limit
    console.print(  # our own markup, read as such whatever the console's default
        Text.from_markup(
            f"[bold]kaizala demo[/]: a local Kaizala emulator with a [yellow]fast limit profile[/] "
            f"({limit.limit} calls per {limit.period:g} s per connector, "
            f"{config.tenant_limit.limit} per {config.tenant_limit.period:g} s per tenant; "
            "the real service allows the same per 60 s)."
        )
    )
    token = secrets.token_urlsafe(24)
    receiver = WebhookReceiver(callback_token=token)
    arrived: set[str] = set()
    everything = asyncio.Event()

    @receiver.on(TextMessageCreatedEvent)
    async def count(event: TextMessageCreatedEvent) -> None:
        if event.data.body == MESSAGE and event.object_id:
            arrived.add(event.object_id)
            if len(arrived) >= groups:
                everything.set()

    limits = RateLimits(connector=config.connector_limit, tenant=config.tenant_limit)
    tenant = config.tenant_limit
    options = (
        *("--connector-limit", f"{limit.limit}/{limit.period:g}"),
        *("--tenant-limit", f"{tenant.limit}/{tenant.period:g}"),
    )
    with emulator_process(*options) as process:
        api_root, connector = process.root, process.credentials[0]
        async with serve_loopback(receiver) as hooks, httpx.AsyncClient(base_url=api_root) as http:
            console.print(f"emulator at {api_root} (its own process), webhook receiver at {hooks}")

            async def pin_from_the_outbox() -> str:
                messages = (await http.get("/_emulator/outbox")).json()["messages"]
                return str(messages[-1]["pin"])

            login = await login_with_pin(
                connector["applicationId"], MOBILE, pin=pin_from_the_outbox, api_root=api_root
            )
            console.print(f"PIN login for {MOBILE}: refresh token received (kept secret)")
            credentials = Credentials(
                connector["applicationId"], connector["applicationSecret"], login.refresh_token
            )
            async with KaizalaClient(credentials, api_root=api_root, limits=limits) as client:
                ids: list[str] = []
                with _bar(console) as bar:
                    task = bar.add_task("creating groups", total=groups, rate="")
                    for n in range(groups):
                        created = await client.groups.create(f"Store {n:03d}", "Welcome")
                        ids.append(created.group_id)
                        bar.advance(task)
                    task = bar.add_task("registering webhooks", total=groups, rate="")
                    for gid in ids:
                        await client.webhooks.register(
                            gid, "Group", ["TextMessageCreated"], f"{hooks}/kaizala",
                            callback_token=token,
                        )  # fmt: skip
                        bar.advance(task)
                    task = bar.add_task("fanning out", total=groups, rate="")

                    def progress(p: FanOutProgress) -> None:
                        bar.update(task, completed=p.done, rate=f"{p.rate:.1f}/s")

                    report = await client.fan_out(ids, text=MESSAGE, on_progress=progress)
                with anyio.move_on_after(10):
                    await everything.wait()
            stats = (await http.get("/_emulator/stats")).json()
    throttled = sum(c["throttled"] for c in stats["connectors"].values())
    elapsed = report.elapsed
    rate = (report.sent - 1) / elapsed if report.sent > 1 and elapsed > 0 else 0.0
    table = Table(title="kaizala demo: summary", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("groups", str(groups))
    table.add_row("messages sent", f"{report.sent} / {groups}")
    table.add_row("failed or unknown", str(report.failed + report.unknown))
    table.add_row("429 answers", str(throttled))
    table.add_row(
        "achieved rate",
        f"{rate:.1f}/s = {rate / (limit.limit / limit.period):.1%} of the limit",
    )
    table.add_row("webhook events received", f"{len(arrived)} / {groups}")
    console.print(table)
    ok = report.sent == groups and report.ok and len(arrived) == groups and throttled == 0
    verdict = "[green]everything arrived[/]" if ok else "[red]something went missing[/]"
    console.print(Text.from_markup(verdict))
    return ok
