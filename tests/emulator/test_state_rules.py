"""The emulator's world (``emulator._state``) on its own: the JSON it shows of a PIN "SMS" and
of a group, the ids it makes, the connectors it registers and who may see a group."""

from __future__ import annotations

import re

from kaizala_async._ratelimit import Rate
from kaizala_async.emulator._state import Group, PinMessage, World


def _world() -> World:
    return World(Rate(100, 60), Rate(300, 60), "sliding-log")


def _group(group_id: str, members: dict[str, str]) -> Group:
    return Group(group_id, f"name {group_id}", "t", "hello", "Group", "https://img", members)


def test_a_pin_message_shows_its_four_fields() -> None:
    pin = PinMessage("+911", "APP", "1234", sent_at=5.0, expires_at=600.0)
    assert pin.as_json() == {
        "mobileNumber": "+911",
        "applicationId": "APP",
        "pin": "1234",
        "sentAt": 5.0,
    }
    assert pin.used is False


def test_a_group_shows_the_documented_fields_as_its_caller_sees_it() -> None:
    group = _group("g", {"+911": "Admin", "+912": "Member", "+913": "Member"})
    shown = group.as_json("+911")
    assert shown == {
        "groupId": "g",
        "groupName": "name g",
        "groupImageUrl": "https://img",
        "hasSubGroups": False,
        "hasParentGroups": False,
        "isMappedToTenant": True,
        "groupType": "Group",
        "userCount": 3,
        "currentLevelUserCount": 3,
        "callerRole": "Admin",
        "welcomeMessage": "hello",
        "currentLevelSubGroupCount": 0,
        "currentLevelParentGroupCount": 0,
        "uniqueUserCount": 3,
        "currentLevelUnProvisionedUserCount": 0,
        "unProvisionedUserCount": 0,
        "isDuplicate": False,
        "isEditable": True,
        "isDetailsReadable": True,
    }
    group.children.update({"c1", "c2"})
    group.parents.add("p")
    other = group.as_json("+912")
    assert (other["callerRole"], other["isEditable"]) == ("Member", False)
    assert (other["hasSubGroups"], other["currentLevelSubGroupCount"]) == (True, 2)
    assert (other["hasParentGroups"], other["currentLevelParentGroupCount"]) == (True, 1)
    # A caller who sees it through a parent group holds no role in it.
    assert group.as_json("+999")["callerRole"] == "Member"


def test_every_third_id_carries_the_suffix_the_samples_show() -> None:
    world = _world()
    ids = [world.new_id() for _ in range(9)]
    suffixed = [n for n, value in enumerate(ids, 1) if value.endswith("@1")]
    assert suffixed == [3, 6, 9]
    guid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(@1)?$")
    assert all(guid.match(value) for value in ids)
    assert len(set(ids)) == 9


def test_a_connector_has_a_portal_like_id_a_secret_and_the_counters_of_its_tenant() -> None:
    world = _world()
    first = world.add_connector("contoso")
    second = world.add_connector("contoso", frozenset({"groupinfo"}))
    for connector in (first, second):
        assert re.fullmatch(r"[0-9A-F]{25}", connector.application_id)
        assert re.fullmatch(r"[0-9a-f]{32}", connector.application_secret)
        assert world.connectors[connector.application_id] is connector
    assert first.application_id != second.application_id
    assert first.application_secret != second.application_secret
    assert first.tenant is second.tenant is world.tenants["contoso"]
    assert first.counter is not second.counter
    assert second.permissions == frozenset({"groupinfo"})
    assert "reaction" in first.permissions and "tenant" in first.permissions
    assert first.application_secret not in repr(first)
    assert world.add_connector("fabrikam").tenant.name == "fabrikam"


def test_a_user_id_is_made_once_per_number() -> None:
    world = _world()
    assert world.user_id("+911") == world.user_id("+911")
    assert world.user_id("+911") != world.user_id("+912")


def test_a_member_sees_its_group_and_an_admin_of_any_parent_sees_the_sub_groups() -> None:
    world = _world()
    top = _group("top", {"+9admin": "Admin", "+9member": "Member"})
    middle = _group("middle", {"+9mid": "Admin"})
    leaf = _group("leaf", {"+9leaf": "Member"})
    middle.parents.add("top")
    leaf.parents.update({"middle", "gone"})  # a parent that no longer exists is passed over
    for group in (top, middle, leaf):
        world.groups[group.group_id] = group
    assert world.can_see(leaf, "+9leaf")
    assert world.can_see(leaf, "+9mid")  # admin of the parent
    assert world.can_see(leaf, "+9admin")  # admin of the grandparent
    assert not world.can_see(leaf, "+9member")  # a plain member of a parent does not
    assert not world.can_see(top, "+9leaf")  # a member of a child does not see the parent
    assert not world.can_see(leaf, "+9nobody")
    assert world.can_see(top, "+9member")


def test_a_cycle_of_parents_ends() -> None:
    world = _world()
    a, b = _group("a", {"+91": "Member"}), _group("b", {"+92": "Member"})
    a.parents.add("b")
    b.parents.add("a")
    world.groups.update({"a": a, "b": b})
    assert not world.can_see(a, "+93")
    assert world.can_see(a, "+91")
