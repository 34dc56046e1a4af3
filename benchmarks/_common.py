"""What the scenarios share: a loopback emulator process, clients for it, tables, peak RSS."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx

from kaizala_async import Credentials, KaizalaClient, Rate, RateLimits
from kaizala_async.emulator import emulator_process

MOBILE = "+911234567890"


class LoopbackEmulator:
    """``python -m kaizala_async.emulator`` in its own process, with its credentials."""

    def __init__(self, root: str, credentials: list[dict[str, str]]) -> None:
        self.root = root
        self.credentials = credentials

    def control(self, method: str, what: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.root}/_emulator/{what}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")  # type: ignore[no-any-return]

    def create_groups(self, count: int) -> list[str]:
        answer = self.control("POST", "groups", {"count": count, "mobileNumber": MOBILE})
        return list(answer["groupIds"])

    def client(self, n: int, limits: RateLimits, **options: Any) -> KaizalaClient:
        c = self.credentials[n]
        credentials = Credentials(c["applicationId"], c["applicationSecret"], c["refreshToken"])
        return KaizalaClient(credentials, api_root=self.root, limits=limits, **options)

    def clients(self, count: int, limits: RateLimits) -> list[KaizalaClient]:
        """Clients for the first ``count`` connectors, sharing ``limits``."""
        return [self.client(n, limits) for n in range(count)]


@contextlib.asynccontextmanager
async def opened(clients: Sequence[KaizalaClient]) -> AsyncIterator[None]:
    """Enter every client; leave them in reverse order."""
    async with contextlib.AsyncExitStack() as stack:
        for client in clients:
            await stack.enter_async_context(client)
        yield


@contextlib.contextmanager
def loopback_emulator(*options: str, connectors: int = 1) -> Iterator[LoopbackEmulator]:
    with emulator_process(*options, connectors=connectors) as process:
        yield LoopbackEmulator(process.root, process.credentials)


def scaled(connector: Rate, tenant: Rate) -> RateLimits:
    return RateLimits(connector=connector, tenant=tenant, tenant_key="contoso")


def rate_option(rate: Rate) -> str:
    return f"{rate.limit}/{rate.period:g}"


def print_table(title: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def sustained_rate(times: Sequence[float]) -> float:
    """Calls per second between the first and the last call."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


#: What ``--plot`` draws: per contender, the times its calls were accepted (and throttled).
SERIES: dict[str, dict[str, Any]] = {}


def record_series(
    name: str, accepted: Sequence[float], limit: int, period: float,
    throttled: Sequence[float] = (),
) -> None:  # fmt: skip
    start = min([*accepted[:1], *throttled[:1]], default=0.0)
    SERIES[name] = {
        "accepted": [t - start for t in accepted],
        "throttled": [t - start for t in throttled],
        "limit": limit,
        "period": period,
    }
