"""Webhook subscriptions and bot users (API W1-W4, B1-B6)."""

from __future__ import annotations

from datetime import datetime

import attrs

from kaizala_async._secrets import Secret

__all__ = ["Bot", "BotToken", "CreatedBot", "RegisteredWebhook", "Webhook"]


@attrs.frozen(kw_only=True)
class RegisteredWebhook:
    """Answer of W1."""

    webhook_id: str


@attrs.frozen(kw_only=True)
class Webhook:
    """A webhook subscription (W2). Reads both ``callbackUrl`` and ``callBackUrl`` spellings
    (keys match case-insensitively); the callback token is kept as a `Secret`."""

    id: str
    object_id: str | None = None
    object_type: str | None = None
    events: tuple[str, ...] = ()
    callback_url: str | None = None
    callback_token: Secret | None = attrs.field(default=None, repr=False)
    callback_context: str | None = None
    ts: datetime | None = None
    validity: datetime | None = None
    active: bool | None = None


@attrs.frozen(kw_only=True)
class CreatedBot:
    """Answer of B1."""

    bot_user_id: str


@attrs.frozen(kw_only=True)
class Bot:
    """A bot user (B2)."""

    bot_user_id: str
    name: str | None = None
    profile_pic: str | None = None
    tenant_id: str | None = None
    creator_id: str | None = None
    creator: str | None = None
    creator_name: str | None = None
    creator_profile_pic: str | None = None
    status: str | None = None


@attrs.frozen(kw_only=True)
class BotToken:
    """An access token that acts as a bot (B5); use it with the owner's endpoint."""

    access_token: Secret = attrs.field(repr=False)
    access_token_expiry: datetime | None = None
    scope: str | None = None
