"""``client.webhooks`` and ``client.bots`` (API W1-W4, B1-B6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from kaizala_async._errors import ValidationError
from kaizala_async._models.admin import Bot, BotToken, CreatedBot, RegisteredWebhook, Webhook
from kaizala_async._paging import Paginator, single_page
from kaizala_async._secrets import Secret
from kaizala_async._validate import (
    aware_epoch_ms,
    check_bool,
    check_id,
    check_text,
    check_url,
    optional_text,
    segment,
)

from ._base import Resource

__all__ = ["BotsResource", "ObjectType", "WebhooksResource"]

ObjectType = Literal["Group", "Action", "ActionPackage"]


def _object_type(value: object) -> str:
    if value not in ("Group", "Action", "ActionPackage"):
        raise ValidationError(
            "object_type", f"must be 'Group', 'Action' or 'ActionPackage', not {value!r}"
        )
    return str(value)


def _event_types(values: object) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError("event_types", "must be a list of event type names, not one string")
    names = [check_text(v, f"event_types[{i}]") for i, v in enumerate(values)]
    if not names:
        raise ValidationError("event_types", "must name at least one event type")
    return names


def _token(value: object) -> str:
    if isinstance(value, Secret):
        return value.reveal()
    if not isinstance(value, str) or not value:
        raise ValidationError("callback_token", "must be a non-empty string")
    return value


class WebhooksResource(Resource):
    """Webhook subscriptions. Registering makes the service call ``callback_url`` first (the
    validation handshake): serve a `WebhookReceiver` there before registering."""

    async def register(
        self,
        object_id: str,
        object_type: ObjectType,
        event_types: Iterable[str],
        callback_url: str,
        *,
        callback_token: str | Secret | None = None,
        callback_context: str | None = None,
        validity: datetime | None = None,
    ) -> RegisteredWebhook:
        """Subscribe ``callback_url`` to ``event_types`` on a group, action or action package.

        ``callback_token`` comes back in the ``kz-callback-token`` header of every delivery (give
        the same value to the receiver); ``callback_context`` comes back as the event's context.
        """
        body: dict[str, Any] = {
            "objectId": check_id(object_id, "object_id"),
            "objectType": _object_type(object_type),
            "eventTypes": _event_types(event_types),
            "callBackUrl": check_url(callback_url, "callback_url"),
        }
        if callback_token is not None:
            body["callBackToken"] = _token(callback_token)
        if optional_text(callback_context, "callback_context") is not None:
            body["callBackContext"] = callback_context
        if validity is not None:
            body["validity"] = aware_epoch_ms(validity, "validity")
        data = await self._send("POST", "/webhook", json=body)
        return self._decode(data, RegisteredWebhook, "POST /webhook")

    def list(self, object_id: str, object_type: ObjectType) -> Paginator[Webhook]:
        """Webhooks registered on one object. One request; not paged."""
        params = {
            "objectId": check_id(object_id, "object_id"),
            "objectType": _object_type(object_type),
        }

        async def fetch() -> Sequence[Webhook]:
            data = await self._send("GET", "/webhook", params=params)
            return self._decode_list(data, "webhooks", Webhook, "GET /webhook")

        return single_page(fetch)

    async def update(
        self,
        webhook_id: str,
        *,
        event_types: Iterable[str] | None = None,
        callback_url: str | None = None,
        callback_token: str | Secret | None = None,
        callback_context: str | None = None,
        validity: datetime | None = None,
        active: bool | None = None,
    ) -> None:
        """Change a webhook; ``active=True`` re-enables one the service disabled."""
        path = f"/webhook/{segment(webhook_id, 'webhook_id')}"
        body: dict[str, Any] = {}
        if event_types is not None:
            body["eventTypes"] = _event_types(event_types)
        if callback_url is not None:
            body["callBackUrl"] = check_url(callback_url, "callback_url")
        if callback_token is not None:
            body["callBackToken"] = _token(callback_token)
        if callback_context is not None:
            body["callBackContext"] = check_text(callback_context, "callback_context")
        if validity is not None:
            body["validity"] = aware_epoch_ms(validity, "validity")
        if active is not None:
            body["active"] = check_bool(active, "active")
        if not body:
            raise ValidationError("update", "give at least one field to change")
        await self._send("PUT", path, json=body)

    async def activate(self, webhook_id: str) -> None:
        """Re-enable a webhook disabled after failed deliveries."""
        await self.update(webhook_id, active=True)

    async def delete(self, webhook_id: str) -> None:
        """Delete a webhook subscription."""
        await self._send("DELETE", f"/webhook/{segment(webhook_id, 'webhook_id')}")


class BotsResource(Resource):
    """Bot users owned by the token's user (API B1-B6)."""

    async def create(self, name: str, *, profile_pic: str | None = None) -> CreatedBot:
        """Create a bot; ``profile_pic`` is the media resource of an image."""
        body: dict[str, Any] = {"name": check_text(name, "name")}
        if optional_text(profile_pic, "profile_pic") is not None:
            body["profilePic"] = profile_pic
        return self._decode(await self._send("POST", "/bot", json=body), CreatedBot, "POST /bot")

    def list(self) -> Paginator[Bot]:
        """The bots of the token's user. One request; not paged."""

        async def fetch() -> Sequence[Bot]:
            return self._decode_list(await self._send("GET", "/bot"), "bots", Bot, "GET /bot")

        return single_page(fetch)

    async def update(
        self, bot_user_id: str, *, name: str | None = None, profile_pic: str | None = None
    ) -> None:
        """Rename a bot or change its picture."""
        path = f"/bot/{segment(bot_user_id, 'bot_user_id')}"
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = check_text(name, "name")
        if profile_pic is not None:
            body["profilePic"] = check_text(profile_pic, "profile_pic")
        if not body:
            raise ValidationError("update", "give name or profile_pic")
        await self._send("PUT", path, json=body)

    async def delete(self, bot_user_id: str) -> None:
        """Delete a bot."""
        await self._send("DELETE", f"/bot/{segment(bot_user_id, 'bot_user_id')}")

    async def access_token(self, bot_user_id: str) -> BotToken:
        """A token that acts as the bot (use it with this client's endpoint; it is not renewed:
        ``client.as_bot(bot_user_id)`` gives a view that fetches and renews it for you)."""
        path = f"/bot/accessToken/{segment(bot_user_id, 'bot_user_id')}"
        return self._decode(await self._send("GET", path), BotToken, f"GET {path}")

    async def add_to_group(self, group_id: str, bot_user_id: str) -> None:
        """Add a bot to a group so it can post there."""
        path = f"/groups/{segment(group_id, 'group_id')}/bot"
        await self._send("POST", path, json={"botUserId": check_id(bot_user_id, "bot_user_id")})
