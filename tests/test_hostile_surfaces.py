"""Hostile input on the surfaces added after the first hostile-input pass (issue 25).

Each test names the cause it guards; each failed on the code before its fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import sqlite3
import stat
from pathlib import Path

import httpx
import pytest
import respx

from kaizala_async import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    FileTokenStore,
    KaizalaError,
    Rate,
    RateLimits,
    Secret,
    StoredTokens,
    TransportError,
    ValidationError,
    _transport,
    login_with_pin,
)
from kaizala_async._secrets import redact
from kaizala_async.emulator import Emulator

from .test_transport import EP, TOKEN, client_for, token_route
from .vtime import run_virtual

# -- 1. a re-issued secret stays redacted -----------------------------------------------------


def test_a_secret_equal_to_one_already_seen_is_still_redacted_once_the_first_is_gone() -> None:
    first = Secret("re-issued-token-value")
    second = Secret("re-issued-token-value")
    del first
    gc.collect()
    assert redact("echo re-issued-token-value") == "echo ***"
    assert second.reveal() == "re-issued-token-value"


def test_a_token_renewed_to_the_same_value_is_not_echoed_in_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service answers InvalidToken, the renewal hands back the very same token, and the
    resent call's error echoes it: the message and the log show ``***``."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    answers = iter(
        [
            httpx.Response(401, json={"errorCode": "InvalidToken", "message": "Invalid token"}),
            httpx.Response(400, json={"errorCode": "BadRequest", "message": f"token {TOKEN}"}),
        ]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        gc.collect()  # the first token object, replaced by the renewal, is gone by now
        return next(answers)

    router.get(f"{EP}/v1/groups").mock(side_effect=answer)

    async def main() -> None:
        async with client_for(router) as client:
            with pytest.raises(BadRequestError) as caught:
                await client.request("GET", "/groups")
            assert client.token_refreshes == 2
            assert TOKEN not in str(caught.value)
            logging.getLogger("kaizala_async.transport").warning("echo %s", caught.value.message)
            logging.getLogger("kaizala_async.transport").warning("raw %s", TOKEN)

    with caplog.at_level(logging.WARNING, logger="kaizala_async"):
        run_virtual(main)
    assert "raw ***" in caplog.text
    assert TOKEN not in caplog.text


# -- 2. `kaizala listen` checks the callback token first, and caps the body --------------------


async def _deliver_to_listen(token: str, chunks: int, chunk: bytes) -> tuple[int, int]:
    """POST ``chunks`` x ``chunk`` to ``kaizala listen``'s receiver with ``token``; the status
    and how many body messages it read."""
    from kaizala_async.cli._listen import _Forwarder

    forwarder = _Forwarder("the-callback-token", None, lambda line: None)
    read = 0
    answered: list[int] = []

    async def receive() -> dict[str, object]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < chunks}

    async def send(message: object) -> None:
        assert isinstance(message, dict)
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"kz-callback-token", token.encode())]}  # fmt: skip
    try:
        await forwarder(scope, receive, send)
    finally:
        await forwarder.aclose()
    return answered[0], read


async def test_listen_refuses_a_wrong_callback_token_before_reading_the_body() -> None:
    status, read = await _deliver_to_listen("a-guess", chunks=3_000, chunk=b"x" * 1024)
    assert (status, read) == (401, 0)


async def test_listen_stops_reading_a_body_over_the_receivers_cap() -> None:
    """With the right token (a leaked one, or a tunnel's visitor who has it), a body over the
    receiver's 1 MiB cap is refused once the cap is passed: never buffered whole."""
    status, read = await _deliver_to_listen("the-callback-token", chunks=3_000, chunk=b"x" * 1024)
    assert status == 413
    assert read == 1025


# -- 3. a call the client's close stops says so -------------------------------------------------


def test_calls_queued_for_a_slot_when_the_client_closes_fail_with_client_closed() -> None:
    """They used to end as a bare ``CancelledError`` (nobody cancelled them): a task group
    ignores that, so background sends vanished without a word."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    groups = router.get(f"{EP}/v1/groups").respond(200, json={})
    limits = RateLimits(connector=Rate(2, 10.0), tenant=None, jitter=0.0, precharge=False)

    async def main() -> list[BaseException | None]:
        async with client_for(router, limits=limits) as client:
            calls = [asyncio.ensure_future(client.request("GET", "/groups")) for _ in range(4)]
            await asyncio.sleep(6.0)  # the token call and one call went; three wait
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        with pytest.raises(ClientClosedError, match="closed"):
            await client.request("GET", "/groups")
        return [o if isinstance(o, BaseException) else None for o in outcomes]

    outcomes = run_virtual(main)
    assert outcomes[0] is None and groups.call_count == 1
    for outcome in outcomes[1:]:
        assert isinstance(outcome, ClientClosedError), repr(outcome)
        assert isinstance(outcome, RuntimeError)  # what a use after close raised before
        assert "waited for a rate-limit slot; nothing was sent" in str(outcome)


def test_a_resend_after_the_client_closed_says_the_client_closed() -> None:
    """A GET whose connection failed is resent; the client closed meanwhile: the error says so
    (it said "the rate limiter is not open")."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").mock(side_effect=httpx.ConnectError("refused"))

    async def main() -> BaseException:
        async with client_for(router, max_retries=3) as client:
            call = asyncio.ensure_future(client.request("GET", "/groups"))
            await asyncio.sleep(0)  # the first attempt fails; the resend waits out its back-off
        return (await asyncio.gather(call, return_exceptions=True))[0]

    outcome = run_virtual(main)
    assert isinstance(outcome, ClientClosedError), repr(outcome)
    assert "not open" not in str(outcome)


# -- 4. retries and their back-off are bounded ---------------------------------------------------


@pytest.mark.parametrize("count", [11, 10**9])
def test_a_retry_count_past_the_bound_is_refused_everywhere(count: int) -> None:
    router = respx.Router(assert_all_called=False)
    with pytest.raises(ValidationError, match="max_retries: must be at most 10"):
        client_for(router, max_retries=count)
    with pytest.raises(ValidationError, match="max_retries: must be at most 10"):
        client_for(router).with_options(max_retries=count)
    assert client_for(router, max_retries=10).with_options(max_retries=10) is not None


def test_the_longest_429_pause_a_client_accepts_is_bounded_too() -> None:
    """The same class: ``max_retry_after=10**12`` let a service's Retry-After pause a client for
    ages."""
    router = respx.Router(assert_all_called=False)
    with pytest.raises(ValidationError, match="max_retry_after: must be at most 3600 seconds"):
        client_for(router, max_retry_after=10**12)
    assert client_for(router, max_retry_after=3600) is not None


def test_the_back_off_between_retries_stops_doubling_at_thirty_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten retries of a GET that cannot connect, each back-off at its ceiling: 0.5, 1, 2, 4, 8,
    16, then 30 s four times (the doubling went on to 256 s before: 511.5 s in all)."""
    monkeypatch.setattr(_transport.random, "uniform", lambda low, high: high)
    router = respx.Router(assert_all_called=False)
    token_route(router)
    attempts = router.get(f"{EP}/v1/groups").mock(side_effect=httpx.ConnectError("refused"))

    async def main() -> float:
        loop = asyncio.get_running_loop()
        async with client_for(router, max_retries=10) as client:
            start = loop.time()
            with pytest.raises(TransportError):
                await client.request("GET", "/groups")
            return loop.time() - start

    waited = run_virtual(main)
    assert attempts.call_count == 11
    assert waited == pytest.approx(0.5 + 1 + 2 + 4 + 8 + 16 + 4 * 30.0)


# -- 5. files: no symbolic link followed, no foreign file adopted ------------------------------


def test_the_token_store_refuses_a_symlink_and_leaves_its_target_untouched(tmp_path: Path) -> None:
    """A planted link to another file of the user's: its mode used to be changed to 0600 before
    the store noticed it was not a token file (and a save rewrote it)."""
    target = tmp_path / "notes.txt"
    target.write_text("my notes\n")
    target.chmod(0o644)
    link = tmp_path / "tokens.json"
    link.symlink_to(target)
    store = FileTokenStore(link)

    async def main() -> None:
        with pytest.raises(KaizalaError, match="symbolic link"):
            await store.load("app")
        with pytest.raises(KaizalaError, match="symbolic link"):
            await store.save(StoredTokens(application_id="app", refresh_token=Secret("r-1")))

    run_virtual(main)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_text() == "my notes\n"


def test_the_token_store_tightens_only_a_token_file(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"not": "tokens"}')
    other.chmod(0o644)
    mine = tmp_path / "tokens.json"
    mine.write_text('{"app": {"refreshToken": "r-1"}}')
    mine.chmod(0o644)

    async def main() -> None:
        with pytest.raises(KaizalaError, match="not a token file"):
            await FileTokenStore(other).load("app")
        loaded = await FileTokenStore(mine).load("app")
        assert loaded is not None and loaded.refresh_token.reveal() == "r-1"

    run_virtual(main)
    assert stat.S_IMODE(other.stat().st_mode) == 0o644
    assert stat.S_IMODE(mine.stat().st_mode) == 0o600


def _fan_out_with(journal: Path) -> None:
    async def main() -> None:
        async with Emulator() as emu, emu.client() as client:
            await client.fan_out(emu.create_groups(1), text="hello", journal=journal)

    asyncio.run(main())


def test_a_dangling_symlink_at_the_journal_path_is_refused_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "run.db"
    link.symlink_to(elsewhere / "journal.db")
    with pytest.raises(ValidationError, match="symbolic link"):
        _fan_out_with(link)
    assert list(elsewhere.iterdir()) == []


def test_another_applications_database_is_refused_as_a_journal_and_left_unchanged(
    tmp_path: Path,
) -> None:
    foreign = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(foreign)) as db, db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers VALUES (1, 'Ada')")
    before = foreign.read_bytes()
    with pytest.raises(ValidationError, match="another application's database"):
        _fan_out_with(foreign)
    assert foreign.read_bytes() == before
    assert not (tmp_path / "app.db-wal").exists()


def test_an_empty_file_becomes_a_journal_and_is_recognised_after(tmp_path: Path) -> None:
    empty = tmp_path / "run.db"
    empty.touch()
    _fan_out_with(empty)
    _fan_out_with(empty)  # reopened: its marker says it is a journal (each run, a new group)
    with contextlib.closing(sqlite3.connect(empty)) as db:
        assert db.execute("SELECT state FROM targets").fetchall() == [("sent",), ("sent",)]


# -- 6 (the same class in the SDK): a raw call's body is checked before a slot is taken --------


@pytest.mark.parametrize("body", [{"a": float("nan")}, {"a": object()}, {"a": math.inf}])
def test_a_raw_body_that_is_not_strict_json_is_refused_before_anything(body: object) -> None:
    """It used to fail inside the pipeline with httpx's bare ValueError or TypeError, after
    taking (and wasting) a rate-limit slot."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    route = router.post(f"{EP}/v1/x").respond(200, json={})

    async def main() -> int:
        async with client_for(router) as client:
            with pytest.raises(ValidationError, match="json: must be strict JSON"):
                await client.request("POST", "/x", json=body)
            return client._limiter.granted

    assert run_virtual(main) == 1  # the token call's slot only
    assert route.call_count == 0


# -- 11. no secret in a traceback's locals -----------------------------------------------------


def _sdk_locals(error: BaseException) -> str:
    """What an error tracker that records frame locals (Sentry does by default) would record of
    the SDK's frames: the repr of every local, along the exception chain it reports."""
    package = str(Path(_transport.__file__).parent)
    seen: list[str] = []
    current: BaseException | None = error
    while current is not None:
        tb = current.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.startswith(package):
                seen += [f"{name}={value!r}" for name, value in tb.tb_frame.f_locals.items()]
            tb = tb.tb_next
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    assert seen, "no frame of the SDK's was found: the check would prove nothing"
    return "\n".join(seen)


def test_an_echoed_token_is_not_in_the_locals_of_an_error(caplog: pytest.LogCaptureFixture) -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(400, json={"errorCode": "Bad", "message": f"got {TOKEN}"})

    async def main() -> BaseException:
        async with client_for(router) as client:
            with pytest.raises(BadRequestError) as caught:
                await client.request("GET", "/groups")
            return caught.value

    error = run_virtual(main)
    assert TOKEN not in _sdk_locals(error)


def test_a_token_answer_that_does_not_fit_leaves_its_tokens_in_no_local() -> None:
    router = respx.Router(assert_all_called=False)
    router.get("https://api.kaiza.la/v1/accessToken").respond(
        200, json={"accessToken": "clear-access-token-7", "refreshToken": "clear-refresh-8"}
    )

    async def main() -> BaseException:
        with pytest.raises(AuthenticationError) as caught:
            async with client_for(router):
                pass
        return caught.value

    shown = _sdk_locals(run_virtual(main))
    assert "clear-access-token-7" not in shown and "clear-refresh-8" not in shown


def test_a_refused_pin_is_not_in_the_locals_of_the_error() -> None:
    router = respx.Router(assert_all_called=False)
    router.post("https://api.kaiza.la/v1/generatePin").respond(200, json={})
    router.post("https://api.kaiza.la/v1/loginWithPinAndApplicationId").respond(
        401, json={"errorCode": "Unauthenticated", "message": "The PIN is wrong or has expired"}
    )

    async def main() -> BaseException:
        with pytest.raises(AuthenticationError) as caught:
            await login_with_pin("app", "+911234567890", pin=lambda: "918273",
                                 transport=httpx.MockTransport(router.async_handler))  # fmt: skip
        return caught.value

    assert "918273" not in _sdk_locals(run_virtual(main))
