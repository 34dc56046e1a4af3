"""A bulk job: one message to many groups, with a live progress bar and a journal to resume from.

    python examples/bulk_job.py --journal run.journal --text "Store closes at 6" groups.txt

``groups.txt`` holds one group id per line. Credentials come from the environment
(``KAIZALA_APPLICATION_ID``, ``KAIZALA_APPLICATION_SECRET``, ``KAIZALA_REFRESH_TOKEN``, and
``KAIZALA_API_ROOT`` for an emulator). Run it again with the same journal after a crash or a
Ctrl-C: only the groups without an outcome are sent, nothing twice.

    python examples/bulk_job.py --emulator 300 --text "Store closes at 6"

runs it against an in-process emulator with 300 groups of its own (nothing else needed), then
runs it again with the same journal, as you would after a crash: the second run sends nothing.
(The emulator lives only as long as the process: a later invocation has new groups.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kaizala_async import Credentials, FanOutProgress, KaizalaClient, Rate, RateLimits
from kaizala_async.emulator import Emulator, EmulatorConfig


def client_from_environment() -> KaizalaClient:
    env = os.environ
    credentials = Credentials(
        env["KAIZALA_APPLICATION_ID"],
        env["KAIZALA_APPLICATION_SECRET"],
        env["KAIZALA_REFRESH_TOKEN"],
    )
    if "KAIZALA_API_ROOT" in env:  # an emulator: its root, and its (scaled) limits
        limits = RateLimits(connector=Rate(100, 1.0), tenant=Rate(300, 1.0))
        return KaizalaClient(credentials, api_root=env["KAIZALA_API_ROOT"], limits=limits)
    return KaizalaClient(credentials)


async def run(client: KaizalaClient, groups: list[str], text: str, journal: Path) -> int:
    columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]:.1f}/s"), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns) as bar:
        task = bar.add_task("fan-out", total=len(groups), rate=0.0)

        def on_progress(p: FanOutProgress) -> None:
            bar.update(task, completed=p.done, rate=p.rate)

        async with client:
            report = await client.fan_out(
                groups, text=text, journal=journal, on_progress=on_progress
            )
    print(f"sent {report.sent}, skipped {report.skipped} (sent before), "
          f"failed {report.failed}, unknown {report.unknown}")  # fmt: skip
    for failure in report.failures:
        print(f"  failed: {failure.group_id}: {failure.error}")
    return 0 if report.ok else 1


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="?", type=Path, help="a file with one group id per line")
    parser.add_argument("--text", required=True)
    parser.add_argument("--journal", type=Path, help="required unless --emulator")
    parser.add_argument("--emulator", type=int, metavar="N", help="use an in-process emulator")
    args = parser.parse_args()
    if args.emulator:
        with tempfile.TemporaryDirectory() as folder:
            journal = args.journal or Path(folder) / "run.journal"
            async with Emulator(EmulatorConfig.fast()) as emu:
                groups = emu.create_groups(args.emulator)
                first = await run(emu.client(), groups, args.text, journal)
                print("again, with the same journal (as after a crash):")
                again = await run(emu.client(), groups, args.text, journal)
                return first or again
    if args.journal is None or args.groups is None:
        parser.error("give a groups file and --journal (or --emulator N)")
    lines = args.groups.read_text(encoding="utf-8").splitlines()
    groups = [line.strip() for line in lines if line.strip()]
    return await run(client_from_environment(), groups, args.text, args.journal)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
