"""Every example under ``examples/`` runs, against the emulator, as a user would run it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks._redis_server import redis_server
from kaizala_async.emulator import emulator_process

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MOBILE = "+911234567890"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and examples)
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _groups(root: str, count: int) -> list[str]:
    answer = httpx.post(f"{root}/_emulator/groups", json={"count": count, "mobileNumber": MOBILE})
    return list(answer.json()["groupIds"])


def test_every_example_is_run_here() -> None:
    covered = {"bulk_job.py", "shared_tenant.py", "fastapi_service.py", "test_notify.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == covered


def test_bulk_job_sends_then_resumes_from_its_journal(tmp_path: Path) -> None:
    journal = str(tmp_path / "run.journal")
    first = _run("examples/bulk_job.py", "--emulator", "60", "--text", "hi", "--journal", journal)
    assert first.returncode == 0, first.stderr
    assert "sent 60, skipped 0" in first.stdout
    assert "60/60" in first.stdout  # the progress bar's last state
    assert "sent 0, skipped 60" in first.stdout  # the run again with the same journal


def test_bulk_job_runs_as_documented_with_the_emulator_alone() -> None:
    """``--emulator N --text ...`` is enough (it failed with "--journal is required")."""
    result = _run("examples/bulk_job.py", "--emulator", "30", "--text", "hi")
    assert result.returncode == 0, result.stderr
    assert "sent 30, skipped 0" in result.stdout and "sent 0, skipped 30" in result.stdout


def test_two_processes_share_a_tenant_through_redis(tmp_path: Path) -> None:
    limits = ("--connector-limit", "100/1", "--tenant-limit", "150/1")
    with redis_server() as (url, _), emulator_process(*limits, connectors=2) as emu:
        groups = _groups(emu.root, 400)
        listing = tmp_path / "groups.txt"
        listing.write_text("\n".join(groups))
        env = {"REDIS_URL": url, "KAIZALA_API_ROOT": emu.root, "KAIZALA_LIMITS": "100/1,150/1"}
        for n, c in enumerate(emu.credentials, start=1):
            env |= {f"KAIZALA_APPLICATION_ID_{n}": c["applicationId"],
                    f"KAIZALA_APPLICATION_SECRET_{n}": c["applicationSecret"],
                    f"KAIZALA_REFRESH_TOKEN_{n}": c["refreshToken"]}  # fmt: skip
        result = _run("examples/shared_tenant.py", str(listing), "--text", "hi", env=env)
        stats = httpx.get(f"{emu.root}/_emulator/stats").json()
    assert result.returncode == 0, result.stdout + result.stderr
    totals = json.loads(result.stdout.splitlines()[-1])
    assert totals == {"sent": 400, "failed": 0, "unknown": 0, "429s": 0}
    tenant = next(iter(stats["tenants"].values()))
    assert tenant["throttled"] == 0 and tenant["maxInWindow"] <= 150
    assert sorted(set(stats["messagesPerGroup"].values())) == [1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_fastapi_service_sends_and_receives() -> None:
    with emulator_process("--connector-limit", "100/1", "--tenant-limit", "300/1") as emu:
        group = _groups(emu.root, 1)[0]
        port = _free_port()
        origin = f"http://127.0.0.1:{port}"
        c = emu.credentials[0]
        env = {
            "KAIZALA_APPLICATION_ID": c["applicationId"],
            "KAIZALA_APPLICATION_SECRET": c["applicationSecret"],
            "KAIZALA_REFRESH_TOKEN": c["refreshToken"],
            "KAIZALA_API_ROOT": emu.root,
            "KAIZALA_GROUP_ID": group,
            "KAIZALA_CALLBACK_URL": f"{origin}/kaizala/",
            "KAIZALA_CALLBACK_TOKEN": "a-long-random-value-for-tests",
        }
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and example)
            [sys.executable, "-m", "uvicorn", "examples.fastapi_service:app", "--port", str(port),
             "--log-level", "warning"],
            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        try:
            state = _wait(lambda: httpx.get(f"{origin}/events", timeout=2).json(),
                          lambda s: s["webhookId"] is not None)  # fmt: skip
            sent = httpx.post(f"{origin}/notify", json={"groupId": group, "text": "hello"})
            assert sent.status_code == 200 and sent.json()["referenceId"]
            state = _wait(lambda: httpx.get(f"{origin}/events", timeout=2).json(),
                          lambda s: any(e["type"] == "TextMessageCreatedEvent"
                                        for e in s["events"]))  # fmt: skip
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=30)
    assert state["events"], output
    assert "Traceback" not in output, output


def _wait(fetch, done, seconds: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            last = fetch()
            if done(last):
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting; last answer: {last}")
