"""The route table: each endpoint of the API reference one declared route and one handler.

A route names the reference's id (``T1``), the method and the path template as the reference
writes it; the app matches a request against the table (case-insensitively, as the service
routes) and applies what every route shares (auth, permission, throttle, faults, moves) around
the handler. A reader finds how ``T1`` is answered by searching ``"T1"``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._wire import Answer, Request, not_found

if TYPE_CHECKING:
    from ._app import EmulatorApp
    from ._content import Content
    from ._state import AccessGrant, Group, World

__all__ = ["Call", "Handler", "Kind", "Route", "RouteSet", "RouteTable"]

#: ``token``: the token service and OAuth (own credentials, at the root); ``resource``: an
#: access-token call under the endpoint URL; ``control``: the test harness's ``/_emulator/``.
Kind = Literal["token", "resource", "control"]


@attrs.define
class Call:
    """One request on its way to a handler: the app, the request, the path's named parts and,
    for resource routes, the access grant that authenticated it."""

    app: EmulatorApp
    request: Request
    params: dict[str, str]
    grant: AccessGrant | None = None

    @property
    def caller(self) -> str:
        """The calling user's mobile number (``bot:<id>`` for a bot's token)."""
        assert self.grant is not None, "only resource routes have a caller"
        return self.grant.mobile_number

    @property
    def world(self) -> World:
        return self.app.world

    @property
    def content(self) -> Content:
        return self.app.content

    def body(self) -> dict[str, Any]:
        return self.request.json()

    def group(self) -> Group:
        """The path's ``{groupId}``, if the caller can see it (else 404, as the service)."""
        group_id = self.params["groupId"]
        group = self.world.groups.get(group_id)
        if group is None or not self.world.can_see(group, self.caller):
            raise not_found(f"group {group_id}")
        return group


Handler = Callable[[Call], Awaitable[Answer]]


@attrs.frozen
class Route:
    id: str
    method: str
    template: str
    handler: Handler = attrs.field(eq=False, repr=False)
    kind: Kind = "resource"
    #: The portal permission family the connector needs (API reference, "Connector permissions").
    permission: str | None = None
    pattern: re.Pattern[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        parts = []
        for segment in self.template.strip("/").split("/"):
            name = re.fullmatch(r"\{(\w+)\}", segment)
            parts.append(f"(?P<{name.group(1)}>[^/]+)" if name else re.escape(segment))
        pattern = re.compile("/" + "/".join(parts), re.IGNORECASE)
        object.__setattr__(self, "pattern", pattern)

    def params(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return None if found is None else found.groupdict()


class RouteSet:
    """Collects one family's routes: ``@routes.add("T1", "POST", "/v1/groups/{groupId}/messages")``."""

    def __init__(self, kind: Kind = "resource", permission: str | None = None) -> None:
        self.kind = kind
        self.permission = permission
        self.routes: list[Route] = []

    def add(
        self,
        route_id: str,
        method: str,
        template: str,
        *,
        permission: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(
                    route_id,
                    method,
                    template,
                    handler,
                    self.kind,
                    permission if permission is not None else self.permission,
                )
            )
            return handler

        return register


class RouteTable:
    """Every route, matched in declaration order (``reaction/summary`` before
    ``reaction/{referenceId}``)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)
        seen: set[tuple[str, str]] = set()
        for route in self.routes:
            key = (route.method, route.template.lower())
            if key in seen:
                raise ValueError(f"two routes for {route.method} {route.template}")
            seen.add(key)

    def match(self, kind: Kind, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        """The route for ``method path`` and its named parts; ``(None, {})`` when no route has
        the path, ``(None, {"": "method"})`` when routes have the path but not the method."""
        path_known = False
        for route in self.routes:
            if route.kind != kind:
                continue
            params = route.params(path)
            if params is None:
                continue
            if route.method == method:
                return route, params
            path_known = True
        return None, ({"": "method"} if path_known else {})

    def by_id(self, route_id: str) -> list[Route]:
        return [r for r in self.routes if r.id == route_id]
