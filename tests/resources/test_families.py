"""One integration test per resource family, through the typed API, against the in-process
emulator (real routing, permissions, paging and partial failures)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import kaizala_async as k
from kaizala_async.emulator import Emulator
from tests.emulator.helpers import MOBILE, client_for

OTHERS = [f"+9196520{i:05d}" for i in range(5)]


async def test_users() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        me = await client.users.me()
    assert me.mobile_number == MOBILE
    assert me.id


async def test_groups() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        created = await client.groups.create("Ops", "Welcome", members=OTHERS[:2])
        public = await client.groups.create("News", "Hi", group_type="ConnectGroup")
        listed = await client.groups.list().collect()
        one = await client.groups.get(created.group_id)
    assert created.members_added is True
    assert {g.group_id for g in listed} == {created.group_id, public.group_id}
    assert {g.group_type for g in listed} == {"Group", "ConnectGroup"}
    assert one.group_name == "Ops"
    assert one.current_level_user_count == 3  # the caller (admin) and two members


async def test_subgroups() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        parent = await client.groups.create("Region", "Hi")
        child = await client.subgroups.create(parent.group_id, "Store 1", "Hello")
        other = await client.groups.create("Store 2", "Hello")
        await client.subgroups.attach(parent.group_id, [other.group_id])
        both = {g.group_id for g in await client.subgroups.list(parent.group_id).collect()}
        await client.subgroups.detach(parent.group_id, child.group_id)
        left = [g.group_id for g in await client.subgroups.list(parent.group_id).collect()]
    assert both == {child.group_id, other.group_id}
    assert left == [other.group_id]


async def test_members() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        group = await client.groups.create("Ops", "Hi")
        added = await client.members.add(group.group_id, OTHERS[:3])
        members = await client.members.list(group.group_id).collect()
        target = next(m for m in members if m.mobile_number == OTHERS[0])
        await client.members.remove(group.group_id, target.id)
        after = {m.mobile_number for m in await client.members.list(group.group_id).collect()}
        with pytest.raises(k.NotFoundError):
            await client.members.list("no-such-group@1").collect()
    assert added.all_added
    assert {m.role for m in members} == {"Admin", "Member"}
    assert after == {MOBILE, *OTHERS[1:3]}


async def test_subscribers_page_lazily_and_report_each_number() -> None:
    numbers = [f"+9170000{i:05d}" for i in range(120)]
    async with Emulator() as emu, client_for(emu) as client:
        hub = await client.groups.create("Hub", "Hi", group_type="ConnectGroup")
        changes = await client.subscribers.add(hub.group_id, numbers, batch_size=50)
        first_ten = client.subscribers.list(hub.group_id, page_size=50, limit=10)
        ten = await first_ten.collect()
        every = client.subscribers.list(hub.group_id)
        everyone = await every.collect()
        removed = await client.subscribers.remove(hub.group_id, [numbers[0], "+919999999999"])
    assert changes.all_succeeded and len(changes.results) == 120
    assert len(ten) == 10 and first_ten.pages == 1  # no page fetched that was not needed
    assert [s.mobile_number for s in everyone] == sorted(numbers)
    assert every.pages == 3
    assert set(removed.failed) == {"+919999999999"}  # a partial failure inside a 200
    assert removed.results[numbers[0]].succeeded


async def test_messages_report_subscribers_not_reached() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        group = await client.groups.create("Ops", "Hi")
        sent = await client.messages.send(group.group_id, "Shift starts at 9")
        hub = await client.groups.create("Hub", "Hi", group_type="ConnectGroup")
        await client.subscribers.add(hub.group_id, OTHERS[:1])
        partial = await client.messages.send(hub.group_id, "News", subscribers=OTHERS[:2])
        with pytest.raises(k.BadRequestError):
            await client.messages.send(group.group_id, "x", send_to_all_subscribers=True)
    assert sent.reference_id and sent.failed_result == ()
    assert [f.subscriber for f in partial.failed_result] == [OTHERS[1]]
    assert emu.stats()["messagesPerGroup"][group.group_id] == 1


async def test_media_from_bytes_path_file_and_url(tmp_path: Path) -> None:
    picture = tmp_path / "shelf.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    async with Emulator() as emu, client_for(emu) as client:
        group = await client.groups.create("Ops", "Hi")
        from_bytes = await client.media.upload(b"%PDF-1.4 ...", filename="report.pdf")
        from_path = await client.media.upload(picture)
        with picture.open("rb") as handle:
            from_file = await client.media.upload(handle)
        from_memory = await client.media.upload(io.BytesIO(b"RIFF...."), filename="a.wav")
        from_url = await client.media.upload_url("https://example.com/pic.jpg")
        sent = await client.actions.send(
            group.group_id, k.ImageAction(media_resource=from_path.media_resource, caption="Shelf")
        )
        images = await client.actions.list(group.group_id, "Image").collect()
    resources = {
        r.media_resource for r in (from_bytes, from_path, from_file, from_memory, from_url)
    }
    assert len(resources) == 5
    assert [i.reference_id for i in images] == [sent.reference_id]


async def test_actions_of_every_type_list_and_respond() -> None:
    start = datetime.now(UTC) + timedelta(days=1)
    async with Emulator() as emu, client_for(emu) as client:
        gid = (await client.groups.create("Ops", "Hi", members=OTHERS[:2])).group_id
        media = (await client.media.upload(b"ID3....", filename="a.mp3")).media_resource
        bodies: list[k.ActionBody] = [
            k.ImageAction(media_resource=media),
            k.AlbumAction(media_resource=media),
            k.AudioAction(media_resource=media),
            k.DocumentAction(media_resource=media),
            k.VideoAction(media_resource=media),
            k.AnnouncementAction(title="Note", message="Closed Monday"),
            k.JobAction(title="Count stock", assigned_to=[MOBILE], due_in_hours=10),
            k.PollAction(question="Lunch?", choices=["Yes", k.PollChoice(title="No")]),
            k.LetsMeetAction(
                title="Standup", starting_time=start, place=k.Place(latitude=1, longitude=2)
            ),
            k.SurveyAction(
                title="Feedback",
                questions=[
                    k.SurveyQuestion(title="Name", type="Text"),
                    k.SurveyQuestion(title="Pick", type="SingleOption", options=["A", "B"]),
                ],
            ),
            k.CustomAction(
                package_id="com.microsoft.kaizala.miniapps.BdayMessage.12",
                properties=[k.ActionProperty(name="name", type="Text", value="Ann")],
            ),
        ]
        sent = [await client.actions.send(gid, body) for body in bodies]
        job = sent[6]
        assert job.action_id is not None
        done = await client.actions.respond(
            gid, job.action_id, k.JobResponseBody(is_completed=True)
        )
        survey = sent[9]
        assert survey.action_id is not None
        answer = await client.actions.respond(
            gid, survey.action_id, k.SurveyResponseBody(answers=["Ann", "A"])
        )
        updated = await client.actions.respond(
            gid,
            survey.action_id,
            k.SurveyResponseBody(answers=["Ann", "B"]),
            response_id=answer.response_id,
        )
        jobs = await client.actions.list(gid, "Job").collect()
        details = await client.actions.get(gid, survey.action_id, with_responses=True)
    assert len({s.reference_id for s in sent}) == len(bodies)
    assert done.response_id
    assert updated.response_id == answer.response_id
    assert [j.action_body.title for j in jobs] == ["Count stock"]
    assert jobs[0].action_body.is_completed is True
    assert details.action_type == "Survey"
    assert details.action_details.response_count == 1
    assert [r.response_id for r in details.action_details.responses] == [answer.response_id]


async def test_action_listing_pages_by_time_without_repeats() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        gid = (await client.groups.create("Ops", "Hi")).group_id
        sent = [
            await client.actions.send(gid, k.PollAction(question=f"Q{i}", choices=["a", "b"]))
            for i in range(7)
        ]
        pager = client.actions.list(gid, "Poll", page_size=3)
        polls = await pager.collect()
        limited = await client.actions.list(gid, "Poll", page_size=3, limit=2).collect()
    # Every poll was sent in the same emulated second: pages overlap and are de-duplicated.
    assert sorted(p.reference_id for p in polls) == sorted(s.reference_id for s in sent)
    assert len(polls) == 7
    assert len(limited) == 2


async def test_reactions() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        gid = (await client.groups.create("Ops", "Hi")).group_id
        message = await client.messages.send(gid, "Lunch at 1")
        like = await client.reactions.like(gid, message.reference_id)
        await client.reactions.comment(gid, message.reference_id, "On my way")
        summary = await client.reactions.summary(gid, message.reference_id)
        summaries = await client.reactions.summaries(gid).collect()
        comments = await client.reactions.list(gid, message.reference_id, "Comment").collect()
        likes = await client.reactions.list(gid, message.reference_id, "Like").collect()
    assert (summary.reactions_count_map.like, summary.reactions_count_map.comment) == (1, 1)
    assert [s.reference_id for s in summaries] == [message.reference_id]
    assert [c.comment for c in comments] == ["On my way"]
    assert [r.reaction_id for r in likes] == [like.reaction_id]


async def test_webhooks() -> None:
    receiver = k.WebhookReceiver(callback_token="tok-1")
    seen: list[k.WebhookEvent] = []

    @receiver.on(k.WebhookEvent)
    async def record(event: k.WebhookEvent) -> None:
        seen.append(event)

    hooks = httpx.ASGITransport(app=receiver)
    async with Emulator(webhook_transport=hooks) as emu, client_for(emu) as client:
        gid = (await client.groups.create("Ops", "Hi")).group_id
        url = "https://receiver.example/kaizala"
        registered = await client.webhooks.register(
            gid, "Group", ["TextMessageCreated"], url, callback_token="tok-1", callback_context="c"
        )
        await client.messages.send(gid, "hello")
        await emu.drain_webhooks()
        await client.webhooks.update(registered.webhook_id, event_types=["MemberAdded"])
        listed = await client.webhooks.list(gid, "Group").collect()
        await client.webhooks.delete(registered.webhook_id)
        after = await client.webhooks.list(gid, "Group").collect()
    assert receiver.stats.handshakes == 1
    assert [type(e) for e in seen] == [k.TextMessageCreatedEvent]
    assert seen[0].context == "c"
    assert [(w.id, w.events, w.callback_url) for w in listed] == [
        (registered.webhook_id, ("MemberAdded",), url)
    ]
    assert after == []


async def test_bots() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        gid = (await client.groups.create("Ops", "Hi")).group_id
        bot = await client.bots.create("Helper")
        await client.bots.update(bot.bot_user_id, name="Helper 2")
        bots = await client.bots.list().collect()
        token = await client.bots.access_token(bot.bot_user_id)
        await client.bots.add_to_group(gid, bot.bot_user_id)
        await client.bots.delete(bot.bot_user_id)
        left = await client.bots.list().collect()
    assert [(b.bot_user_id, b.name) for b in bots] == [(bot.bot_user_id, "Helper 2")]
    assert token.access_token.reveal() and token.access_token_expiry is not None
    assert left == []


async def test_tenant_search_pages_by_offset() -> None:
    async with Emulator() as emu, client_for(emu) as client:
        for i in range(12):
            await client.groups.create(f"Store {i:02d}", "Hi")
        await client.groups.create("Office", "Hi")
        pager = client.tenant.find_groups("store", page_size=5)
        stores = await pager.collect()
    assert [g.group_name for g in stores] == [f"Store {i:02d}" for i in range(12)]
    assert pager.pages == 3


async def test_a_missing_permission_is_a_typed_error() -> None:
    async with Emulator() as emu, client_for(emu, permissions=frozenset({"groupinfo"})) as client:
        gid = (await client.groups.create("Ops", "Hi")).group_id
        with pytest.raises(k.PermissionDeniedError):
            await client.messages.send(gid, "hello")
