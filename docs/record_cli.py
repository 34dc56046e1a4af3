"""Renders docs/cli-fanout.svg: `kaizala fanout`'s progress bar, mid-run, as a terminal shows it.

Run from the repository: ``python docs/record_cli.py``. It fans out to 300 groups of an
in-process emulator through the command's own display, and saves the terminal as SVG.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from rich.console import Console

from kaizala_async import FanOutProgress, Rate, RateLimits
from kaizala_async.cli import _fanout
from kaizala_async.emulator import Emulator, EmulatorConfig

TARGET = Path(__file__).with_name("cli-fanout.svg")


async def main() -> None:
    sink = io.StringIO()  # nothing reaches the real terminal
    screen = Console(file=sink, force_terminal=True, width=110)
    shot = Console(record=True, width=110, force_terminal=True, file=sink)
    config = EmulatorConfig.fast()
    async with Emulator(config) as emu:
        groups = emu.create_groups(300)
        limits = RateLimits(connector=Rate(100, 1.0), tenant=Rate(300, 1.0))
        async with emu.client(limits=limits) as client:
            snapshot: list[str] = []
            with _fanout._FanOutDisplay(len(groups), True, client, screen) as display:

                def progress(p: FanOutProgress) -> None:
                    display.update(p)
                    if p.done == 180 and not snapshot:
                        snapshot.append("taken")
                        shot.print('$ kaizala fanout --groups stores.txt --text "Doors open at 9" '
                                   "--journal run.journal", style="bold")  # fmt: skip
                        shot.print(display._bar.get_renderable())  # type: ignore[union-attr]
                        shot.save_svg(str(TARGET), title="kaizala fanout")

                await client.fan_out(groups, text="Doors open at 9", on_progress=progress)


if __name__ == "__main__":
    asyncio.run(main())
