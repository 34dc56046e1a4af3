"""Acting as a bot: ``client.as_bot`` sends with the bot's token, renewed in the background."""

from __future__ import annotations

import asyncio

import pytest

import kaizala_async as k
from kaizala_async.emulator import Emulator, EmulatorConfig
from tests.emulator.helpers import client_for
from tests.vtime import run_virtual


def test_a_bot_view_sends_as_the_bot_across_token_expiries_without_a_failed_call() -> None:
    """Tokens live 60 s (user's and bot's); the bot posts every 7 s for 5 minutes."""

    async def main() -> tuple[list[str], list[int], int, int]:
        async with Emulator(EmulatorConfig.fast(access_token_ttl=60.0)) as emu:
            (group,) = emu.create_groups(1)
            async with client_for(emu) as client:
                created = await client.bots.create("Build bot")
                await client.bots.add_to_group(group, created.bot_user_id)
                bot = client.as_bot(created.bot_user_id)
                sent = 0
                for _ in range(43):
                    await bot.messages.send(group, f"build {sent} passed")
                    sent += 1
                    await asyncio.sleep(7.0)
                await client.messages.send(group, "and this one is from me")
                renewals = client._bots[created.bot_user_id].refreshes
            senders = [m.sender for m in emu.app.world.groups[group].messages]
            statuses = [c["status"] for c in emu.calls() if c["route"] == "T1"]
            return senders, statuses, sent, renewals

    senders, statuses, sent, renewals = run_virtual(main)
    assert senders[:sent] == [senders[0]] * sent and senders[0].startswith("bot:")
    assert senders[-1] == "+911234567890"  # the user's own client is not affected
    assert statuses == [200] * (sent + 1)  # no call failed, not even once on an expired token
    assert renewals >= 5  # 300 s of 60 s tokens: renewed in the background, before expiry


async def test_as_bot_needs_an_open_client_and_a_valid_id() -> None:
    async with Emulator() as emu:
        client = client_for(emu)
        with pytest.raises(RuntimeError, match="async with"):
            client.as_bot("b-1")
        async with client:
            with pytest.raises(k.ValidationError):
                client.as_bot("..")
            first, second = client.as_bot("b-1"), client.as_bot("b-1")
            assert first._bot_tokens is second._bot_tokens  # one token and renewal per bot
