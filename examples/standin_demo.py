"""Send 60 messages through kaizala-async to an in-process stand-in that throttles like Kaizala.

The stand-in enforces its limits with a strict sliding log and answers 429 + Retry-After when a
caller goes over, as the real service did. The client paces itself, so it should see no 429 and
still run at (almost) the full rate. Limits are scaled down (20 calls per 2 s per connector) so
the run takes about 6 seconds. Run it with:  python examples/standin_demo.py
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque

import httpx

from kaizala_async import Credentials, KaizalaClient, Rate, RateLimits

LIMIT = Rate(20, 2.0)


class StandIn:
    """Token service + send-message endpoint, sliding-log throttle per connector."""

    def __init__(self) -> None:
        self.log: deque[float] = deque()
        self.accepted = 0
        self.throttled = 0
        self.max_in_window = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = time.monotonic()
        while self.log and self.log[0] <= now - LIMIT.period:
            self.log.popleft()
        if len(self.log) >= LIMIT.limit:
            self.throttled += 1
            wait = math.ceil(self.log[0] + LIMIT.period - now)
            return httpx.Response(429, headers={"Retry-After": str(wait)})
        self.log.append(now)
        self.max_in_window = max(self.max_in_window, len(self.log))
        if request.url.path == "/v1/accessToken":
            return httpx.Response(
                200,
                json={
                    "accessToken": "demo-access-token",
                    "endpointUrl": "https://demo.kaiza.la/",
                    "accessTokenExpiry": int((time.time() + 86400) * 1000),
                },
            )
        body = json.loads(request.content)
        self.accepted += 1
        return httpx.Response(
            200, json={"referenceId": f"msg-{self.accepted}", "echo": body["message"]}
        )


async def main() -> None:
    service = StandIn()
    client = KaizalaClient(
        Credentials("demo-connector", "demo-secret", "demo-refresh-token"),
        transport=httpx.MockTransport(service),
        limits=RateLimits(connector=LIMIT, tenant=Rate(60, 2.0)),
    )
    start = time.monotonic()
    async with client:
        sends = [
            client.request(
                "POST", f"/groups/group-{i}/messages", json={"message": "Store closes at 6"}
            )
            for i in range(60)
        ]
        results = await asyncio.gather(*sends)
    elapsed = time.monotonic() - start
    calls = len(results) + 1  # and the token call, which counts against the budget too
    rate = (calls - 1) / elapsed
    print(f"messages sent        {sum(r.status_code == 200 for r in results)} / 60")
    print(f"429 answers          {service.throttled}")
    print(f"most calls in {LIMIT.period:g} s   {service.max_in_window} (limit {LIMIT.limit})")
    print(f"achieved rate        {rate:.2f} calls/s = {rate / LIMIT.per_second:.1%} of the limit")
    if service.throttled or service.accepted != 60:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
