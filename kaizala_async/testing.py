"""Test your own code against the Kaizala emulator: a pytest plugin, loaded automatically.

Installing kaizala-async registers this module with pytest (entry point ``pytest11``, name
``kaizala``), so these fixtures are there in every test session without an import:

* ``kaizala_emulator``: a fresh in-process `Emulator` per test,
  at the fast limit profile (the real limits' shape, 60 times faster);
* ``kaizala_client``: an open `KaizalaClient` of a new connector of that
  emulator, wired in-process and pacing itself by the emulator's limits (needs pytest-asyncio);
* ``kaizala_loopback``: ``python -m kaizala_async.emulator`` on a free loopback port for the
  whole session, for code that makes its own HTTP calls or runs in another process (needs the
  ``emulator`` extra); its ``root`` and ``credentials`` tell your code where and who.

Nothing here is imported by the SDK itself; without pytest-asyncio the async fixture explains
what to install instead of failing the whole test run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ._client import KaizalaClient
from .emulator import Emulator, EmulatorConfig, EmulatorProcess, emulator_process

__all__ = ["kaizala_client", "kaizala_emulator", "kaizala_loopback"]


@pytest.fixture
def kaizala_emulator() -> Emulator:
    """A fresh in-process emulator (fast limits: 100 calls/s per connector, 300/s per tenant)."""
    return Emulator(EmulatorConfig.fast())


@pytest.fixture(scope="session")
def kaizala_loopback() -> Iterator[EmulatorProcess]:
    """The emulator in its own process on loopback, fast limits, one connector."""
    with emulator_process("--connector-limit", "100/1", "--tenant-limit", "300/1") as process:
        yield process


def _async_fixture(function: Any) -> Any:
    """``pytest_asyncio.fixture``; without pytest-asyncio, a fixture that says what to install
    (the plugin loads in every test session: it must never break one)."""
    try:
        import pytest_asyncio
    except ImportError:

        @pytest.fixture(name=function.__name__)
        def missing() -> None:
            pytest.fail(
                f"the {function.__name__} fixture needs pytest-asyncio: pip install pytest-asyncio"
            )

        return missing
    return pytest_asyncio.fixture(function)


@_async_fixture
async def kaizala_client(kaizala_emulator: Emulator) -> AsyncIterator[KaizalaClient]:
    """An open client of a new connector of ``kaizala_emulator`` (closed after the test)."""
    # pytest-asyncio may run a fixture's set-up and tear-down in different tasks, and the
    # client's `async with` owns a task group: one task holds it open for the whole test.
    client = kaizala_emulator.client()
    opened, done = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with client:
            opened.set()
            await done.wait()

    holder = asyncio.create_task(hold())
    waiter = asyncio.create_task(opened.wait())
    await asyncio.wait({holder, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if not opened.is_set():  # it failed to open: its error is the fixture's
        waiter.cancel()
        await holder
    try:
        yield client
    finally:
        done.set()
        await holder
        await kaizala_emulator.aclose()
