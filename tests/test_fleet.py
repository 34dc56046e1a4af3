"""A fleet of worker processes draining one Redis-journaled campaign (issue 26): one is
SIGKILLed mid-run and replaced by a process started from another folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks._common import loopback_emulator

WORKER = Path(__file__).parent / "fleet" / "worker.py"


def _worker(folder: Path, config: dict[str, object], groups: list[str]) -> subprocess.Popen[str]:
    """A worker process in ``folder`` (its own copy of the groups file: no file is shared)."""
    folder.mkdir()
    (folder / "groups.txt").write_text("\n".join(groups))
    config = {**config, "groups": str(folder / "groups.txt")}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.Popen(  # noqa: S603 (our interpreter, our worker script)
        [sys.executable, str(WORKER), json.dumps(config)], cwd=folder, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_worker_killed_mid_run_leaves_no_group_twice_and_every_gap_reported_unknown(
    redis_url: str, tmp_path: Path
) -> None:
    options = ("--connector-limit", "20/1", "--tenant-limit", "200/1", "--network", "fixed:0.05")
    with loopback_emulator(*options, connectors=4) as emu:
        groups = emu.create_groups(150)
        base = {"root": emu.root, "redis": redis_url, "campaign": "kill", "rate": 20, "lease": 1.5}
        workers = [
            _worker(tmp_path / f"w{n}", {**base, "credentials": emu.credentials[n]}, groups)
            for n in range(3)
        ]
        try:
            for w in workers:
                assert w.stdout is not None and w.stdout.readline().strip() == "started"
            time.sleep(1.5)  # every worker is sending
            workers[0].kill()  # SIGKILL: no goodbye
            workers[0].communicate()
            replacement = _worker(tmp_path / "elsewhere", {**base, "credentials": emu.credentials[3]},
                                  groups)  # fmt: skip
            survivors = [*workers[1:], replacement]
            reports = []
            for w in survivors:
                out, err = w.communicate(timeout=120)
                assert w.returncode == 0, err
                reports.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for w in workers:
                if w.returncode is None:
                    w.kill()
                    w.communicate()
        per_group = httpx.get(f"{emu.root}/_emulator/stats").json()["messagesPerGroup"]
    copies = [per_group[g] for g in groups]
    assert max(copies) == 1  # no group twice
    unsent = {g for g, n in zip(groups, copies, strict=True) if n == 0}
    reported_unknown = {g for r in reports for g in r["unknown"]}
    assert unsent <= reported_unknown  # every group without a message is reported Unknown
    assert sum(r["sent"] for r in reports) + len(unsent) <= len(groups)
