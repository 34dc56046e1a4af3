"""Testing your own code against the emulator with the fixtures kaizala-async installs.

Run it with ``pytest examples/test_notify.py`` (pytest-asyncio in auto mode, or mark the tests
with ``@pytest.mark.asyncio``).
"""

from __future__ import annotations

from kaizala_async import KaizalaClient
from kaizala_async.emulator import Emulator


async def notify_admins_groups(client: KaizalaClient, text: str) -> int:
    """The code under test: send ``text`` to every group of the user; how many were sent."""
    groups = [group.group_id async for group in client.groups.list()]
    report = await client.fan_out(groups, text=text)
    return report.sent


async def test_every_group_gets_one_message(
    kaizala_emulator: Emulator, kaizala_client: KaizalaClient
) -> None:
    kaizala_emulator.create_groups(5)
    assert await notify_admins_groups(kaizala_client, "Store closes at 6") == 5
    per_group = kaizala_emulator.stats()["messagesPerGroup"]
    assert sorted(per_group.values()) == [1] * 5


async def test_no_groups_no_messages(kaizala_client: KaizalaClient) -> None:
    assert await notify_admins_groups(kaizala_client, "nobody hears this") == 0
