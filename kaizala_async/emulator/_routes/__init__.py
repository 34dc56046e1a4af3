"""Every route of the emulator, one module per family of the API reference."""

from __future__ import annotations

from kaizala_async.emulator._routing import RouteTable

from . import actions, bots, control, groups, members, messages, reactions, tenant, tokens, webhooks

__all__ = ["ROUTES"]

ROUTES = RouteTable(
    [
        *tokens.ROUTES,
        *tenant.ROUTES,
        *groups.ROUTES,
        *members.ROUTES,
        *messages.ROUTES,
        *actions.ROUTES,
        *reactions.ROUTES,
        *webhooks.ROUTES,
        *bots.ROUTES,
        *control.ROUTES,
    ]
)
