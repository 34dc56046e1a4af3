"""The emulator's in-memory world: tenants, connectors, users, tokens, groups, messages."""

from __future__ import annotations

import itertools
import secrets
import uuid
from typing import Any

import attrs

from kaizala_async._ratelimit import Rate

from ._throttle import Counter, ThrottleMethod, WindowStats, make_counter

__all__ = ["AccessGrant", "Connector", "Group", "PinMessage", "RefreshGrant", "Tenant", "World"]

#: Every scope in the API reference's grantedScope sample, granted by default.
ALL_SCOPES = (
    "groupinfo.read,groupinfo.write,groupinfo.remove,groupinfo.update,groupmember.read,"
    "groupmember.write,groupmember.remove,textmessage.read,action.read,action.write,action.update,"
    "profile.write,media.read,webhook.read,webhook.write,webhook.remove,webhook.update"
)


@attrs.define
class Tenant:
    name: str
    counter: Counter
    stats: WindowStats


@attrs.define
class Connector:
    """A registered connector ("application"). ``application_secret`` is shown only here."""

    application_id: str
    application_secret: str = attrs.field(repr=False)
    tenant: Tenant
    counter: Counter
    stats: WindowStats
    scopes: str = ALL_SCOPES
    #: Portal permissions granted (families): groupinfo, groupmember, textmessage, action,
    #: profile, media, webhook, tenant, reaction.
    permissions: frozenset[str] = frozenset(
        {
            "groupinfo",
            "groupmember",
            "textmessage",
            "action",
            "profile",
            "media",
            "webhook",
            "tenant",
            "reaction",
        }
    )


@attrs.define
class RefreshGrant:
    connector: Connector
    mobile_number: str
    expires_at: float  # emulator wall seconds
    issued_at: float


@attrs.define
class AccessGrant:
    connector: Connector
    mobile_number: str
    expires_at: float


@attrs.define
class PinMessage:
    """One "SMS" in the outbox."""

    mobile_number: str
    application_id: str
    pin: str
    sent_at: float
    expires_at: float
    used: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "mobileNumber": self.mobile_number,
            "applicationId": self.application_id,
            "pin": self.pin,
            "sentAt": self.sent_at,
        }


@attrs.define
class Message:
    reference_id: str
    text: str
    sender: str
    sent_at: float


@attrs.define
class Group:
    group_id: str
    name: str
    tenant: str
    welcome_message: str
    group_type: str
    image_url: str
    members: dict[str, str]  # mobile -> role
    messages: list[Message] = attrs.field(factory=list)
    parents: set[str] = attrs.field(factory=set)
    children: set[str] = attrs.field(factory=set)
    subscribers: dict[str, str] = attrs.field(factory=dict)  # mobile -> user id
    short_description: str = ""
    long_description: str = ""

    def as_json(self, caller: str) -> dict[str, Any]:
        return {
            "groupId": self.group_id,
            "groupName": self.name,
            "groupImageUrl": self.image_url,
            "hasSubGroups": bool(self.children),
            "hasParentGroups": bool(self.parents),
            "isMappedToTenant": True,
            "groupType": self.group_type,
            "userCount": len(self.members),
            "currentLevelUserCount": len(self.members),
            "callerRole": self.members.get(caller, "Member"),
            "welcomeMessage": self.welcome_message,
            "currentLevelSubGroupCount": len(self.children),
            "currentLevelParentGroupCount": len(self.parents),
            # The rest of the documented set (G2, X1): every member of an emulated group is a
            # provisioned user, listed once.
            "uniqueUserCount": len(self.members),
            "currentLevelUnProvisionedUserCount": 0,
            "unProvisionedUserCount": 0,
            "isDuplicate": False,
            "isEditable": self.members.get(caller) == "Admin",
            "isDetailsReadable": True,
        }


class World:
    """Everything the emulator knows. Not thread-safe: one event loop drives it."""

    def __init__(self, connector_limit: Rate, tenant_limit: Rate, method: ThrottleMethod) -> None:
        self.connector_limit = connector_limit
        self.tenant_limit = tenant_limit
        self.method = method
        self.tenants: dict[str, Tenant] = {}
        self.connectors: dict[str, Connector] = {}
        self.refresh: dict[str, RefreshGrant] = {}
        self.access: dict[str, AccessGrant] = {}
        self.outbox: list[PinMessage] = []
        self.groups: dict[str, Group] = {}
        self.users: dict[str, str] = {}  # mobile -> user id
        self._ids = itertools.count(1)

    def tenant(self, name: str) -> Tenant:
        if name not in self.tenants:
            self.tenants[name] = Tenant(
                name,
                make_counter(self.method, self.tenant_limit),
                WindowStats(self.tenant_limit.period),
            )
        return self.tenants[name]

    def add_connector(self, tenant: str, permissions: frozenset[str] | None = None) -> Connector:
        connector = Connector(
            application_id=str(uuid.uuid4()).upper().replace("-", "")[:25],
            application_secret=secrets.token_hex(16),
            tenant=self.tenant(tenant),
            counter=make_counter(self.method, self.connector_limit),
            stats=WindowStats(self.connector_limit.period),
        )
        if permissions is not None:
            connector.permissions = frozenset(permissions)
        self.connectors[connector.application_id] = connector
        return connector

    def new_id(self) -> str:
        """A GUID; every third one carries the ``@1`` suffix the samples show (API reference ids)."""
        value = str(uuid.uuid4())
        return value + "@1" if next(self._ids) % 3 == 0 else value

    def can_see(self, group: Group, caller: str) -> bool:
        """A member sees its group; an admin of a parent group sees (and manages) its sub-groups,
        so a sub-group made with ``addUserToGroup: false`` stays manageable (API S2)."""
        seen: set[str] = set()
        pending = [group]
        while pending:
            current = pending.pop()
            if current is group and caller in current.members:
                return True
            if current is not group and current.members.get(caller) == "Admin":
                return True
            for parent_id in current.parents - seen:
                seen.add(parent_id)
                parent = self.groups.get(parent_id)
                if parent is not None:
                    pending.append(parent)
        return False

    def user_id(self, mobile: str) -> str:
        return self.users.setdefault(mobile, str(uuid.uuid4()))
