"""Users, groups, sub-groups, members and subscribers (API U1, G1-G3, S1-S4, M1-M3, P1-P3)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = [
    "CreatedGroup",
    "Group",
    "Member",
    "Subscriber",
    "SubscriberChanges",
    "SubscriberOutcome",
    "User",
]


@attrs.frozen(kw_only=True)
class User:
    """The token's user (U1). The service does not document the answer: only ``id`` is sure."""

    id: str
    mobile_number: str | None = None
    name: str | None = None
    profile_pic: str | None = None


@attrs.frozen(kw_only=True)
class Group:
    """A group as G2, G3, S1 and the tenant search describe it; only id and name are guaranteed."""

    group_id: str
    group_name: str = ""
    group_image_url: str | None = None
    group_type: str | None = None
    welcome_message: str | None = None
    has_sub_groups: bool | None = None
    has_parent_groups: bool | None = None
    is_mapped_to_tenant: bool | None = None
    caller_role: str | None = None
    user_count: int | None = None
    current_level_user_count: int | None = None
    unique_user_count: int | None = None
    current_level_sub_group_count: int | None = None
    current_level_parent_group_count: int | None = None
    current_level_un_provisioned_user_count: int | None = None
    un_provisioned_user_count: int | None = None
    is_duplicate: bool | None = None
    is_editable: bool | None = None
    is_details_readable: bool | None = None


@attrs.frozen(kw_only=True)
class CreatedGroup:
    """Answer of G1 and S2. ``members_added`` is False when *some* listed number was not added."""

    group_id: str
    group_name: str = ""
    members_added: bool | None = None


@attrs.frozen(kw_only=True)
class Member:
    """A group member (M1). ``id`` is the ``member_id`` that `MembersResource.remove` takes."""

    id: str
    mobile_number: str | None = None
    role: str | None = None
    is_provisioned: bool | None = None


@attrs.frozen(kw_only=True)
class Subscriber:
    """A subscriber of a public (``ConnectGroup``) group (P1)."""

    id: str
    mobile_number: str | None = None
    name: str | None = None
    profile_pic: str | None = None
    is_provisioned: bool | None = None


@attrs.frozen(kw_only=True)
class SubscriberOutcome:
    """What happened to one number in P2/P3. ``succeeded`` reads ``isAdded`` or ``isRemoved``."""

    is_added: bool | None = None
    is_removed: bool | None = None
    error_reason: str | None = None
    error_code: str | None = None

    @property
    def succeeded(self) -> bool:
        return bool(self.is_added if self.is_added is not None else self.is_removed)


@attrs.frozen(kw_only=True)
class SubscriberChanges:
    """Per-number results of adding or removing subscribers; a 200 answer can still hold failures."""

    results: Mapping[str, SubscriberOutcome]

    @property
    def failed(self) -> dict[str, SubscriberOutcome]:
        """The numbers that were not added (or removed), with the service's reason."""
        return {number: r for number, r in self.results.items() if not r.succeeded}

    @property
    def all_succeeded(self) -> bool:
        return not self.failed
