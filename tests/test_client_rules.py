"""``KaizalaClient`` (``_client``) on its own: what it refuses at construction, its life cycle
(entered once, views never entered, closed for good), what ``request`` checks before any slot
is taken, its views (``with_options``, ``as_bot``) and what it keeps for the next process."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
import respx

from kaizala_async import (
    ClientClosedError,
    Credentials,
    KaizalaClient,
    MemoryTokenStore,
    RateLimits,
    ValidationError,
)
from kaizala_async._client import _origin
from tests.test_transport import EP, TOKEN, client_for, token_route
from tests.vtime import run_virtual

CREDENTIALS = Credentials("app", "secret-value", "refresh-value")


def router_with(answer: Any = None) -> respx.Router:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.route(host=httpx.URL(EP).host).respond(200, json={} if answer is None else answer)
    return router


def resource_calls(router: respx.Router) -> list[httpx.Request]:
    return [c.request for c in router.calls if c.request.url.host != "api.kaiza.la"]


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"credentials": ("app", "s", "r")}, "credentials"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"max_retry_after": 3601}, "max_retry_after"),
        ({"max_retries": 11}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"allowed_hosts": "*.kaiza.la"}, "allowed_hosts"),
        ({"api_root": "ftp://api.kaiza.la"}, "api_root"),
        ({"api_root": "https://"}, "api_root"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
    ],
)
def test_a_bad_option_is_refused_at_construction(options: dict[str, Any], argument: str) -> None:
    arguments: dict[str, Any] = {"credentials": CREDENTIALS, **options}
    with pytest.raises(ValidationError) as info:
        KaizalaClient(arguments.pop("credentials"), **arguments)
    assert info.value.argument == argument


def test_the_api_roots_origin_keeps_scheme_host_and_port_only() -> None:
    assert _origin("https://API.kaiza.la/some/path/") == "https://api.kaiza.la"
    assert _origin("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"
    with pytest.raises(ValidationError, match="must be an http\\(s\\) URL, not 'mailto:x'"):
        _origin("mailto:x")


def test_the_defaults_are_the_documented_ones() -> None:
    client = KaizalaClient(CREDENTIALS)
    assert client.limits == RateLimits()
    assert client.credentials is CREDENTIALS
    assert (client.endpoint_url, client.token_refreshes) == (None, 0)
    assert repr(client) == "<KaizalaClient 'app' closed endpoint=None>"


def test_the_api_root_is_used_without_its_trailing_slash() -> None:
    router = respx.Router(assert_all_called=False)
    route = router.get("https://tokens.kaiza.la/v1/accessToken").respond(
        json={"accessToken": TOKEN, "endpointUrl": EP + "/", "accessTokenExpiry": 9_999_999_999_000}
    )

    async def main() -> None:
        async with client_for(router, api_root="https://tokens.kaiza.la/"):
            pass

    run_virtual(main)
    assert route.call_count == 1


# -- life cycle --------------------------------------------------------------------------------


def test_an_open_client_shows_its_endpoint_and_no_secret() -> None:
    router = router_with()

    async def main() -> tuple[str, str | None, int]:
        async with client_for(router) as client:
            return repr(client), client.endpoint_url, client.token_refreshes

    shown, endpoint, refreshes = run_virtual(main)
    assert shown == f"<KaizalaClient 'app' open endpoint={EP + '/'!r}>"
    assert (endpoint, refreshes) == (EP + "/", 1)
    assert "secret-value" not in shown and "refresh-value" not in shown and TOKEN not in shown


def test_a_client_is_entered_once_and_closed_for_good() -> None:
    router = router_with()

    async def main() -> KaizalaClient:
        client = client_for(router)
        async with client:
            await client.request("GET", "/groups")
        with pytest.raises(RuntimeError, match="can be entered once"):
            async with client:
                pass
        with pytest.raises(ClientClosedError):
            await client.request("GET", "/groups")
        return client

    client = run_virtual(main)
    assert repr(client).endswith("closed endpoint=None>") is False  # the endpoint is remembered
    assert "closed" in repr(client)


def test_a_client_never_entered_says_how_to_use_it() -> None:
    client = KaizalaClient(CREDENTIALS)
    with pytest.raises(RuntimeError, match="inside `async with KaizalaClient"):
        client._require()
    with pytest.raises(RuntimeError, match="inside `async with"):
        _ = client.stats


def test_a_view_is_not_entered_itself() -> None:
    router = router_with()

    async def main() -> None:
        async with client_for(router) as client:
            view = client.with_options(timeout=5)
            with pytest.raises(RuntimeError, match="shares its client's `async with`"):
                async with view:
                    pass

    run_virtual(main)


def test_stats_count_the_calls_made() -> None:
    router = router_with()

    async def main() -> int:
        async with client_for(router) as client:
            await client.request("GET", "/groups")
            await client.request("GET", "/groups")
            return client.stats.attempts

    assert run_virtual(main) == 3  # the token and two calls


# -- request -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        ({"method": "FETCH", "path": "/groups"}, "method"),
        ({"method": 3, "path": "/groups"}, "method"),
        ({"method": "GET", "path": "groups"}, "path"),
        ({"method": "POST", "path": "/groups", "json": {"x": float("nan")}}, "json"),
        ({"method": "GET", "path": "/groups", "timeout": -1}, "timeout"),
        ({"method": "GET", "path": "/groups", "max_wait": -1}, "max_wait"),
    ],
)
def test_a_request_is_checked_before_anything_is_sent(call: dict[str, Any], argument: str) -> None:
    router = router_with()

    async def main() -> ValidationError:
        async with client_for(router) as client:
            options = dict(call)  # the parameters are shared by every run of the test
            with pytest.raises(ValidationError) as info:
                await client.request(options.pop("method"), options.pop("path"), **options)
            return info.value

    assert run_virtual(main).argument == argument
    assert resource_calls(router) == []


@pytest.mark.parametrize("method", ["get", "Post", "PUT", "delete", "patch"])
def test_any_case_of_the_five_methods_is_sent_upper_case(method: str) -> None:
    router = router_with()

    async def main() -> None:
        async with client_for(router) as client:
            await client.request(method, "/groups/G1", json={"a": 1}, params={"q": 2})

    run_virtual(main)
    (request,) = resource_calls(router)
    assert (request.method, request.url.path, dict(request.url.params)) == (
        method.upper(),
        "/v1/groups/G1",
        {"q": "2"},
    )
    assert json.loads(request.content) == {"a": 1}
    assert request.headers["accessToken"] == TOKEN


def test_a_request_returns_the_answer() -> None:
    router = router_with({"ok": True})

    async def main() -> Any:
        async with client_for(router) as client:
            return (await client.request("GET", "/groups")).json()

    assert run_virtual(main) == {"ok": True}


# -- views -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"timeout": 0}, "timeout"),
        ({"max_retries": 20}, "max_retries"),
        ({"max_wait": float("inf")}, "max_wait"),
    ],
)
def test_a_views_options_are_checked(options: dict[str, Any], argument: str) -> None:
    with pytest.raises(ValidationError) as info:
        KaizalaClient(CREDENTIALS).with_options(**options)
    assert info.value.argument == argument


def test_a_view_changes_only_what_it_is_given_and_shares_the_rest() -> None:
    client = KaizalaClient(CREDENTIALS)
    view = client.with_options(timeout=7)
    again = view.with_options(max_retries=2, max_wait=3)
    assert (view._call_options.timeout, view._call_options.max_retries) == (7.0, None)
    assert (
        again._call_options.timeout,
        again._call_options.max_retries,
        again._call_options.max_wait,
    ) == (7.0, 2, 3.0)
    assert client._call_options.timeout is None  # the client is untouched
    assert view._origin is client and again._origin is client  # a view of a view: the client's
    assert view.messages._client is view and client.messages._client is client
    assert view.credentials is client.credentials


def test_a_view_lives_and_dies_with_its_client() -> None:
    router = router_with()

    async def main() -> tuple[str | None, int]:
        client = client_for(router)
        view = client.with_options(timeout=3)
        async with client:
            await view.request("GET", "/groups")
            seen = (view.endpoint_url, view.token_refreshes)
        with pytest.raises(ClientClosedError):
            await view.request("GET", "/groups")
        return seen

    assert run_virtual(main) == (EP + "/", 1)


def test_a_bot_view_needs_an_open_client_and_a_valid_id() -> None:
    client = KaizalaClient(CREDENTIALS)
    with pytest.raises(RuntimeError, match="use as_bot inside"):
        client.as_bot("B1")
    with pytest.raises(ValidationError) as info:
        client.as_bot("")
    assert info.value.argument == "bot_user_id"


def test_a_bots_calls_carry_its_own_token_fetched_once_per_bot() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    bot_token = router.get(f"{EP}/v1/bot/accessToken/B1").respond(
        json={"accessToken": "bot-token", "accessTokenExpiry": 9_999_999_999_000}
    )
    router.route(host=httpx.URL(EP).host).respond(200, json={})

    async def main() -> None:
        async with client_for(router) as client:
            first, second = client.as_bot("B1"), client.as_bot("B1")
            assert first._bot_tokens is second._bot_tokens
            assert first.with_options(timeout=3)._bot_tokens is first._bot_tokens
            await first.request("GET", "/groups")
            await second.as_bot("B1").request("GET", "/groups")
            await client.request("GET", "/groups")

    run_virtual(main)
    assert bot_token.call_count == 1
    tokens = [
        r.headers["accessToken"] for r in resource_calls(router) if r.url.path == "/v1/groups"
    ]
    assert tokens == ["bot-token", "bot-token", TOKEN]


# -- what is kept for the next process ---------------------------------------------------------


def test_recent_calls_are_saved_on_close_and_paced_from_by_the_next_client() -> None:
    store = MemoryTokenStore()
    router = router_with()

    async def main() -> tuple[int, int]:
        async with client_for(router, token_store=store, limits=RateLimits()) as client:
            for _ in range(3):
                await client.request("GET", "/groups")
        saved = len(store._data["app"].recent_calls)
        async with client_for(router, token_store=store, limits=RateLimits()) as again:
            seeded = len(again._limiter.recent_ends_wall(0.0))
        return saved, seeded

    saved, seeded = run_virtual(main)
    assert saved == 4  # the token call and three calls
    assert seeded >= saved


def test_a_store_that_fails_on_close_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Failing(MemoryTokenStore):
        async def save(self, tokens: Any) -> None:
            if tokens.recent_calls:
                raise OSError("disk full")
            await super().save(tokens)

    router = router_with()

    async def main() -> None:
        async with client_for(router, token_store=Failing(), limits=RateLimits()) as client:
            await client.request("GET", "/groups")

    with caplog.at_level(logging.WARNING, logger="kaizala_async.client"):
        run_virtual(main)
    (record,) = [r for r in caplog.records if r.name == "kaizala_async.client"]
    assert record.getMessage() == "could not save recent calls to the token store: OSError"
    assert record.kaizala_event == "kaizala.store.save_failed"  # type: ignore[attr-defined]


def test_nothing_is_saved_without_a_store_or_when_opening_failed() -> None:
    store = MemoryTokenStore()
    router = respx.Router(assert_all_called=False)
    router.get("https://api.kaiza.la/v1/accessToken").respond(401, json={"message": "bad"})

    async def main() -> None:
        with pytest.raises(Exception):  # noqa: B017,PT011 - the credentials are refused
            async with client_for(router, token_store=store):
                pass

    run_virtual(main)
    assert store._data == {}


# -- fan-out through the client ----------------------------------------------------------------


def test_the_clients_fan_out_passes_every_option_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """``client.fan_out`` and ``client.fan_out_stream`` are ``fan_out([client], ...)``: every
    option reaches the engine as given."""
    import kaizala_async._client as module

    seen: list[tuple[Any, ...]] = []

    async def recording(*args: Any, **kwargs: Any) -> str:
        seen.append((args, kwargs))
        return "report"

    def recording_stream(*args: Any, **kwargs: Any) -> str:
        seen.append((args, kwargs))
        return "stream"

    monkeypatch.setattr(module, "fan_out", recording)
    monkeypatch.setattr(module, "fan_out_stream", recording_stream)
    client = KaizalaClient(CREDENTIALS)
    progress = print
    options: dict[str, Any] = {
        "text": "hi",
        "action": object(),  # any body: the engine checks it, not the client
        "concurrency": 7,
        "journal": "run.db",
        "on_progress": progress,
        "resend_unknown": True,
        "resend": ["g2"],
        "keep_outcomes": True,
    }
    targets = ["g1", "g2"]
    assert asyncio.run(client.fan_out(targets, **options)) == "report"
    assert client.fan_out_stream(targets, **options) == "stream"
    for args, kwargs in seen:
        assert args == ([client], targets)
        assert kwargs == options
    defaults = {"text": None, "action": None, "concurrency": None, "journal": None, "on_progress": None,
                "resend_unknown": False, "resend": None, "keep_outcomes": False}  # fmt: skip
    seen.clear()
    asyncio.run(client.fan_out(targets))
    client.fan_out_stream(targets)
    assert [kwargs for _, kwargs in seen] == [defaults, defaults]


# -- the details a user can see ----------------------------------------------------------------


def test_the_construction_refusals_say_what_is_wanted() -> None:
    with pytest.raises(ValidationError) as info:
        KaizalaClient(("app", "s", "r"))  # type: ignore[arg-type]
    assert info.value.reason == "must be a kaizala_async.Credentials"
    with pytest.raises(ValidationError) as info:
        KaizalaClient(CREDENTIALS, allowed_hosts="*.kaiza.la")
    assert info.value.reason == "must be a collection of host patterns, not one string"


def test_the_client_is_wired_as_given() -> None:
    client = KaizalaClient(CREDENTIALS, api_root="https://tokens.kaiza.la//")
    assert client._api_root == "https://tokens.kaiza.la"
    assert client._limiter.connector_id == "app"
    names = ("users", "groups", "subgroups", "members", "subscribers", "messages", "media",
             "actions", "reactions", "webhooks", "bots", "tenant")  # fmt: skip
    assert all(getattr(client, name)._client is client for name in names)


def test_the_lifecycle_errors_say_what_to_do() -> None:
    client = KaizalaClient(CREDENTIALS)
    with pytest.raises(RuntimeError) as info:
        client._require()
    assert str(info.value) == "use the client inside `async with KaizalaClient(...) as client:`"
    with pytest.raises(RuntimeError) as info:
        client.as_bot("B1")
    assert str(info.value) == "use as_bot inside `async with KaizalaClient(...) as client:`"
    router = router_with()

    async def main() -> tuple[str, str, str]:
        opened = client_for(router)
        async with opened:
            with pytest.raises(RuntimeError) as view:
                async with opened.with_options(timeout=3):
                    pass
            with pytest.raises(RuntimeError) as bot:
                async with opened.with_options(timeout=3).as_bot("B1"):
                    pass
        with pytest.raises(RuntimeError) as again:
            async with opened:
                pass
        return str(view.value), str(bot.value), str(again.value)

    view, bot, again = run_virtual(main)
    assert view == bot == "a with_options() view shares its client's `async with`; open that"
    assert again == "a KaizalaClient can be entered once; create a new one"


def test_requests_carry_the_sdks_user_agent() -> None:
    from kaizala_async._constants import USER_AGENT

    router = router_with()

    async def main() -> None:
        async with client_for(router) as client:
            await client.request("GET", "/groups")

    run_virtual(main)
    assert {c.request.headers["user-agent"] for c in router.calls} == {USER_AGENT}


def test_the_renewal_runs_as_a_named_task_while_the_client_is_open() -> None:
    import asyncio as aio

    router = router_with()

    async def main() -> tuple[bool, bool]:
        async with client_for(router):
            during = any(t.get_name() == "kaizala-token-renewal" for t in aio.all_tasks())
        await aio.sleep(0)
        after = any(t.get_name() == "kaizala-token-renewal" for t in aio.all_tasks())
        return during, after

    assert run_virtual(main) == (True, False)


def test_an_endpoint_outside_the_allowed_hosts_is_refused_at_open() -> None:
    from kaizala_async import KaizalaError

    router = respx.Router(assert_all_called=False)
    router.get("https://api.kaiza.la/v1/accessToken").respond(
        json={
            "accessToken": TOKEN,
            "endpointUrl": "https://evil.example.com/",
            "accessTokenExpiry": 9_999_999_999_000,
        }
    )
    evil = router.route(host="evil.example.com").respond(200, json={})

    async def main() -> None:
        with pytest.raises(KaizalaError):
            async with client_for(router) as client:
                await client.request("GET", "/groups")

    run_virtual(main)
    assert evil.call_count == 0


def test_a_token_answer_that_is_not_json_is_named() -> None:
    from kaizala_async import UnexpectedResponseError

    router = respx.Router(assert_all_called=False)
    router.get("https://api.kaiza.la/v1/accessToken").respond(200, text="<html>maintenance</html>")

    async def main() -> UnexpectedResponseError:
        with pytest.raises(UnexpectedResponseError) as info:
            async with client_for(router):
                pass
        return info.value

    assert run_virtual(main).what == "the token service's answer"


def test_the_token_call_is_retried_after_a_lost_answer() -> None:
    """The token service call changes nothing: it is idempotent, so an answer lost after the
    request left is retried (a send would not be)."""
    router = respx.Router(assert_all_called=False)
    answers = iter([httpx.RemoteProtocolError("connection dropped after the request left")])

    def token(request: httpx.Request) -> httpx.Response:
        failure = next(answers, None)
        if failure is not None:
            raise failure
        return httpx.Response(200, json={"accessToken": TOKEN, "endpointUrl": EP + "/",
                                         "accessTokenExpiry": 9_999_999_999_000})  # fmt: skip

    route = router.get("https://api.kaiza.la/v1/accessToken").mock(side_effect=token)

    async def main() -> None:
        async with client_for(router):
            pass

    run_virtual(main)
    assert route.call_count == 2


def test_a_method_refusal_shows_the_method() -> None:
    router = router_with()

    async def main() -> str:
        async with client_for(router) as client:
            with pytest.raises(ValidationError) as info:
                await client.request("FETCH", "/groups")
            return info.value.reason

    assert run_virtual(main) == "must be an HTTP method, not 'FETCH'"


def test_a_views_max_retries_reaches_its_requests() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    groups = router.get(f"{EP}/v1/groups").respond(503, json={})

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(Exception):  # noqa: B017,PT011 - the 503 once retries are spent
                await client.with_options(max_retries=0).request("GET", "/groups")

    run_virtual(main)
    assert groups.call_count == 1


@pytest.mark.parametrize(
    "stored",
    [
        {"api_root": "https://other-tokens.example.com"},  # saved against another token service
        {
            "api_root": None,
            "endpoint_url": "https://evil.example.com/",
        },  # an older save, off the hosts
    ],
)
def test_tokens_saved_for_another_service_are_not_used(stored: dict[str, Any]) -> None:
    """The client tells its token service and its allowed hosts to its token manager: a store's
    tokens from elsewhere are refused with nothing sent, instead of sent there."""
    from kaizala_async import Secret, StoredTokens

    store = MemoryTokenStore()
    asyncio.run(
        store.save(StoredTokens(application_id="app", refresh_token=Secret("kept-token"), **stored))
    )
    router = router_with()

    async def main() -> ValidationError:
        with pytest.raises(ValidationError) as info:
            async with KaizalaClient(
                Credentials("app", "secret-value"),
                transport=httpx.MockTransport(router.async_handler),
                token_store=store,
                limits=RateLimits.unlimited(),
            ):
                pass
        return info.value

    error = run_virtual(main)
    assert error.argument == "credentials" and "belong to another API root" in error.reason
    assert router.calls.call_count == 0


def test_closing_leaves_no_deadline_timer_armed() -> None:
    """The exchange keeps one lazy deadline timer armed between calls; closing the client
    disarms it (the transport is closed), so no timer of the client outlives its block."""
    router = router_with()

    async def main() -> list[Any]:
        import asyncio as aio

        loop = aio.get_running_loop()
        async with client_for(router) as client:
            await client.request("GET", "/groups")
        return [h for h in loop._scheduled if not h.cancelled() and "Deadlines" in repr(h)]  # type: ignore[attr-defined]

    assert run_virtual(main) == []


def test_a_bots_renewal_runs_as_a_task_named_for_the_bot() -> None:
    import asyncio as aio

    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/bot/accessToken/B1").respond(
        json={"accessToken": "bot-token", "accessTokenExpiry": 9_999_999_999_000}
    )
    router.route(host=httpx.URL(EP).host).respond(200, json={})

    async def main() -> bool:
        async with client_for(router) as client:
            client.as_bot("B1")
            await aio.sleep(0)
            return any(t.get_name() == "kaizala-bot-renewal-B1" for t in aio.all_tasks())

    assert run_virtual(main) is True


def test_the_clients_retry_after_bound_reaches_the_pipeline() -> None:
    from kaizala_async import ThrottledError

    router = respx.Router(assert_all_called=False)
    token_route(router)
    groups = router.get(f"{EP}/v1/groups").respond(429, headers={"Retry-After": "5"}, json={})

    async def main() -> ThrottledError:
        async with client_for(router, max_retry_after=1) as client:
            with pytest.raises(ThrottledError) as info:
                await client.request("GET", "/groups")
            return info.value

    assert run_virtual(main).retry_after == 5
    assert groups.call_count == 1  # over the bound: given up at once, not waited for
