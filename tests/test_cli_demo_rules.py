"""``kaizala demo`` (``cli._demo.run_demo``) run in this process: what it says, what it counts,
and the verdict it gives when the events do not all arrive."""

from __future__ import annotations

import asyncio
import io
import re
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from rich.console import Console

from kaizala_async import FanOutReport, KaizalaClient, MemberAddedEvent, RateLimits, WebhookReceiver
from kaizala_async._ratelimit import Rate
from kaizala_async._resources.admin import WebhooksResource
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
    assert out.splitlines()[-1] == "everything arrived"


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
    assert out.splitlines()[-1] == "something went missing"


def test_the_demo_shows_each_step_paces_at_the_profiles_limits_and_reports_its_own_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[dict[str, Any]] = []
    registered: list[tuple[Any, ...]] = []
    reports: list[FanOutReport] = []
    tokens: list[str | None] = []

    class Client(KaizalaClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(kwargs)

        async def fan_out(self, *args: Any, **kwargs: Any) -> FanOutReport:
            report = await super().fan_out(*args, **kwargs)
            reports.append(report)
            return report

    class Receiver(WebhookReceiver):
        def __init__(self, *, callback_token: str | None = None, **kwargs: Any) -> None:
            super().__init__(callback_token=callback_token, **kwargs)
            tokens.append(callback_token)

    real_register = WebhooksResource.register

    async def register(self: WebhooksResource, *args: Any, **kwargs: Any) -> Any:
        registered.append((*args, kwargs.get("callback_token")))
        return await real_register(self, *args, **kwargs)

    monkeypatch.setattr(_demo, "KaizalaClient", Client)
    monkeypatch.setattr(_demo, "WebhookReceiver", Receiver)
    monkeypatch.setattr(WebhooksResource, "register", register)
    ok, out = _run(6)
    assert ok is True
    (kwargs,) = made
    assert kwargs["limits"] == RateLimits(connector=Rate(100, 1.0), tenant=Rate(300, 1.0))
    (token,) = tokens
    assert token is not None and len(token) == 32  # 24 random bytes
    assert len(registered) == 6
    for _, kind, events, url, given in registered:
        assert (kind, events, given) == ("Group", ["TextMessageCreated"], token)
        assert url.endswith("/kaizala")
    lines = out.splitlines()
    for label in ("creating groups", "registering webhooks"):
        assert any(
            re.fullmatch(rf"{label} +━+ 6/6 +\d+:\d\d:\d\d", line.rstrip()) for line in lines
        ), label
    assert any(
        re.fullmatch(r"fanning out +━+ 6/6 \d+\.\d/s \d+:\d\d:\d\d", line.rstrip())
        for line in lines
    )
    title = next(n for n, line in enumerate(lines) if line.strip() == "kaizala demo: summary")
    assert lines[title + 2].startswith("│ groups ")  # the table has no header row
    (report,) = reports
    rows = dict(re.findall(r"│ ([a-z0-9 ]+?) +│ +(.+?) │", out))
    expected = (report.sent - 1) / report.elapsed
    assert rows["achieved rate"] == f"{expected:.1f}/s = {expected / 100:.1%} of the limit"
