"""``kaizala demo`` (``cli._demo.run_demo``) run in this process: what it says, what it counts,
and the verdict it gives when the events do not all arrive."""

from __future__ import annotations

import asyncio
import io
import re
from types import SimpleNamespace

import anyio
import pytest
from rich.console import Console

from kaizala_async import MemberAddedEvent
from kaizala_async.cli import _demo


def _run(groups: int) -> tuple[bool, str]:
    console = Console(file=io.StringIO(), width=400, force_terminal=False, color_system=None)
    ok = asyncio.run(_demo.run_demo(console, groups=groups))
    return ok, console.file.getvalue()  # type: ignore[attr-defined]


def test_the_demo_sends_to_every_group_and_counts_every_event() -> None:
    ok, out = _run(6)
    assert ok is True
    assert (
        "a local Kaizala emulator with a fast limit profile (100 calls per 1 s per connector, "
        "300 per 1 s per tenant; the real service allows the same per 60 s)."
    ) in out
    assert re.search(r"emulator at http://127\.0\.0\.1:\d+ \(its own process\), webhook "
                     r"receiver at http://127\.0\.0\.1:\d+", out)  # fmt: skip
    assert "PIN login for +911234567890: refresh token received (kept secret)" in out
    rows = dict(re.findall(r"│ ([a-z0-9 ]+?) +│ +(.+?) │", out))
    assert rows["groups"] == "6"
    assert rows["messages sent"] == "6 / 6"
    assert rows["failed or unknown"] == "0"
    assert rows["429 answers"] == "0"
    assert rows["webhook events received"] == "6 / 6"
    rate = re.fullmatch(r"([\d.]+)/s = ([\d.]+)% of the limit", rows["achieved rate"])
    assert rate is not None
    assert float(rate.group(1)) > 0
    assert float(rate.group(2)) == pytest.approx(float(rate.group(1)), abs=0.1)  # 100/s limit
    assert "everything arrived" in out
    assert "something went missing" not in out


def test_events_that_do_not_arrive_make_the_verdict_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo counts TextMessageCreated events; told to count another kind, it counts none,
    # and waits its bound (made short here) for them.
    monkeypatch.setattr(_demo, "TextMessageCreatedEvent", MemberAddedEvent)
    monkeypatch.setattr(
        _demo, "anyio", SimpleNamespace(move_on_after=lambda _: anyio.move_on_after(0.2))
    )
    ok, out = _run(2)
    assert ok is False
    rows = dict(re.findall(r"│ ([a-z0-9 ]+?) +│ +(.+?) │", out))
    assert rows["messages sent"] == "2 / 2"
    assert rows["webhook events received"] == "0 / 2"
    assert "something went missing" in out
    assert "everything arrived" not in out
