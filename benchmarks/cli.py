"""The command line in a loop (issue 16): 20 `kaizala groups create` in a row, real default limits.

Side by side against one loopback emulator: each command with a fresh token file (what every
command did before: a token call, and a pre-charged budget, so one spacing of 0.6 s before each
of its two calls) and with the token file kept between commands (the access token and the
connector's recent calls reused: no token call, no pre-charge), after one untimed first command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import loopback_emulator, print_table

COMMANDS = 20


def _loop(env: dict[str, str], fresh: bool, folder: Path, count: int = COMMANDS) -> float:
    start = time.monotonic()
    for n in range(count):
        token_file = folder / (f"tokens-{n}.json" if fresh else "tokens.json")
        result = subprocess.run(  # noqa: S603 (our own interpreter and command)
            [sys.executable, "-m", "kaizala_async.cli", "groups", "create", f"Loop {n}"],
            env={**os.environ, **env, "KAIZALA_TOKEN_FILE": str(token_file)},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(result.stderr)
    return time.monotonic() - start


def cli_loop(quick: bool) -> list[dict[str, Any]]:
    """20 commands in a row, each way; the ratio of the total times."""
    del quick  # 20 commands either way: a few seconds
    rows = []
    with loopback_emulator() as emu, tempfile.TemporaryDirectory() as folder:
        c = emu.credentials[0]
        env = {"KAIZALA_APPLICATION_ID": c["applicationId"],
               "KAIZALA_APPLICATION_SECRET": c["applicationSecret"],
               "KAIZALA_REFRESH_TOKEN": c["refreshToken"], "KAIZALA_API_ROOT": emu.root,
               "KAIZALA_CONFIG": str(Path(folder) / "absent.json")}  # fmt: skip
        before = _loop(env, True, Path(folder))
        time.sleep(1.0)  # a pause between the two loops, as between two shell sessions
        # One command first, untimed, as after `kaizala login` and a first command of the day:
        # the loop measures the commands that follow.
        _loop(env, False, Path(folder), count=1)
        kept = _loop(env, False, Path(folder))
        calls = sum(s["calls"] for s in emu.stats()["connectors"].values())
    for name, seconds in (("fresh token file per command", before), ("token file kept", kept)):
        rows.append({"commands": COMMANDS, "way": name, "total s": seconds,
                     "per command s": seconds / COMMANDS})  # fmt: skip
    rows.append({"commands": COMMANDS, "way": "kept / fresh", "total s": kept / before,
                 "per command s": None})  # fmt: skip
    print_table(f"{COMMANDS} x `kaizala groups create`, real default limits ({calls} calls)", rows)
    return rows
