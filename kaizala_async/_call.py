"""One API call, described: what the transport needs to send it, and where its token comes from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

import attrs

from ._http import IDEMPOTENT_METHODS
from ._secrets import Secret

__all__ = ["Call", "TokenSource"]


class TokenSource(Protocol):
    """Where a call's access token comes from: the user's `TokenManager` or a bot's."""

    def peek(self) -> tuple[Secret, str] | None: ...

    async def access(self) -> tuple[Secret, str]: ...

    async def refresh(self, *, stale: Secret | None) -> object: ...


@attrs.frozen(kw_only=True)
class Call:
    """One API call, described. ``base="api"`` calls go to the token service root without a token."""

    method: str
    path: str
    base: Literal["endpoint", "api"] = "endpoint"
    # Not in the repr: a body may carry a PIN or a secret (an error tracker records the repr
    # of each traceback local).
    json: Any = attrs.field(default=None, repr=False)
    params: Mapping[str, str | int] | None = None
    files: Any = attrs.field(default=None, repr=False)
    secret_headers: Mapping[str, Secret] | None = attrs.field(default=None, repr=False)
    #: Other request headers the endpoint takes (G3's ``applicationId``); never a secret.
    headers: Mapping[str, str] | None = None
    timeout: float | None = None
    #: Retry failures after sending (5xx, lost connections)? Default: by HTTP method.
    idempotent: bool | None = None
    #: Seconds to wait for a rate-limit slot at most (None: the task's or the client's setting).
    max_wait: float | None = None
    #: Retries of this call (None: the client's ``max_retries``).
    max_retries: int | None = None
    #: Where this call's access token comes from (None: the client's user; a bot view's own).
    tokens: TokenSource | None = attrs.field(default=None, repr=False)

    @property
    def authenticated(self) -> bool:
        return self.base == "endpoint"

    @property
    def retry_after_send(self) -> bool:
        return self.idempotent if self.idempotent is not None else self.method in IDEMPOTENT_METHODS
