"""Per-call options (``with_options``) and raw answers (``client.raw``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import kaizala_async as k
from kaizala_async.emulator import Emulator

APP = k.Credentials("app-1", "secret-value-1", "refresh-value-1")


def _service(seen: list[httpx.Request], *, failures: int = 0) -> httpx.MockTransport:
    """A token service and a groups endpoint; the first ``failures`` group reads fail to connect."""
    left = [failures]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/accessToken":
            return httpx.Response(200, json={
                "accessToken": "access-token-value-1", "endpointUrl": "https://kms.kaiza.la/",
                "accessTokenExpiry": 4_102_444_800_000})  # fmt: skip
        seen.append(request)
        if left[0] > 0:
            left[0] -= 1
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"groups": [{"groupId": "g-1", "groupName": "Ops"}]})

    return httpx.MockTransport(handler)


def _client(transport: httpx.AsyncBaseTransport, **kwargs: Any) -> k.KaizalaClient:
    return k.KaizalaClient(APP, transport=transport, limits=k.RateLimits.unlimited(), **kwargs)


async def test_a_view_changes_the_timeout_of_its_own_calls_only() -> None:
    seen: list[httpx.Request] = []
    async with _client(_service(seen), timeout=60.0) as client:
        view = client.with_options(timeout=5.0)
        await view.groups.get("g-1")
        await client.groups.get("g-1")
        await view.request("GET", "/groups/g-1")
    assert [r.extensions["timeout"]["read"] for r in seen] == [5.0, 60.0, 5.0]


async def test_a_view_changes_the_retries_of_its_own_calls_only() -> None:
    seen: list[httpx.Request] = []
    async with _client(_service(seen, failures=10), max_retries=3) as client:
        with pytest.raises(k.TransportError):
            await client.with_options(max_retries=0).groups.get("g-1")
        assert len(seen) == 1  # no retry
        with pytest.raises(k.TransportError):
            await client.groups.get("g-1")
        assert len(seen) == 1 + 4  # the client's own: first try and 3 retries


async def test_a_view_shares_the_pool_limits_and_tokens_and_is_not_entered_itself() -> None:
    seen: list[httpx.Request] = []
    async with _client(_service(seen)) as client:
        view = client.with_options(max_wait=1.0).with_options(timeout=3.0)
        await view.groups.get("g-1")
        assert view._require() is client._require()  # one transport, one connection pool
        assert view.limits is client.limits and view.token_refreshes == client.token_refreshes == 1
        assert view.endpoint_url == client.endpoint_url
        with pytest.raises(RuntimeError, match="view"):
            async with view:
                pass
    with pytest.raises(k.ValidationError):
        client.with_options(timeout=-1)
    with pytest.raises(k.ValidationError):
        client.with_options(max_retries=True)  # type: ignore[arg-type]


async def test_raw_returns_the_same_model_as_the_plain_call_and_the_http_answer() -> None:
    async with Emulator() as emu, emu.client() as client:
        group = emu.create_groups(1)[0]
        raw = await client.raw.groups.get(group)
        plain = await client.groups.get(group)
        assert isinstance(raw, k.RawResponse)
        assert raw.parsed == plain
        assert raw.status_code == 200 and raw.headers["date"]
        assert raw.http.request.url.path.endswith(f"/v1/groups/{group}")
        sent = await client.raw.messages.send(group, "hello")
        assert (
            sent.parsed.reference_id and sent.http.json()["referenceId"] == sent.parsed.reference_id
        )
        with pytest.raises(TypeError, match="paginator"):
            await client.raw.groups.list()
        with pytest.raises(AttributeError):
            client.raw.request  # noqa: B018 (not a resource family)
