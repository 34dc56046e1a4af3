"""What a resource call puts on the wire and what it refuses, for the resource rule files: each
call runs in virtual time on a client whose every resource answer is one given JSON body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from kaizala_async import KaizalaClient, UnexpectedResponseError, ValidationError
from tests.test_transport import EP, client_for, token_route
from tests.vtime import run_virtual

__all__ = ["DEFAULT", "Answers", "answer_of", "refused", "sent", "unexpected"]

#: The default answer: what a send, a creation or an upload returns.
DEFAULT = {"referenceId": "r1", "mediaResource": "https://media.kaiza.la/x"}


class Answers(list[Any]):
    """Bodies given in turn to the resource requests (the last one again once they run out)."""


def _run(run: Any, body: Any) -> tuple[list[httpx.Request], Any]:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    route = router.route(host=httpx.URL(EP).host)
    if isinstance(body, Answers):
        turn = iter(range(len(body)))
        route.mock(side_effect=lambda _: httpx.Response(200, json=body[next(turn, -1)]))
    else:
        route.respond(200, json=body)
    found: list[Any] = []

    async def main() -> None:
        async with client_for(router) as client:
            found.append(await run(client))

    run_virtual(main)
    requests = [c.request for c in router.calls if c.request.url.host != "api.kaiza.la"]
    return requests, found[0]


def sent(run: Any, body: Any = DEFAULT) -> list[httpx.Request]:
    """The resource requests ``run(client)`` makes; every answer is 200 with ``body``."""
    return _run(run, body)[0]


def answer_of(run: Any, body: Any) -> Any:
    """What ``run(client)`` returns when every resource answer is 200 with ``body``."""
    return _run(run, body)[1]


def refused(run: Any) -> tuple[str, str]:
    """The argument and reason of the refusal; nothing may have been sent."""
    found: list[ValidationError] = []

    async def guarded(client: KaizalaClient) -> None:
        with pytest.raises(ValidationError) as info:
            await run(client)
        found.append(info.value)

    assert sent(guarded) == []
    return found[0].argument, found[0].reason


def unexpected(run: Any, body: Any) -> UnexpectedResponseError:
    """The error ``run(client)`` raises when every resource answer is 200 with ``body``."""

    async def guarded(client: KaizalaClient) -> UnexpectedResponseError:
        with pytest.raises(UnexpectedResponseError) as info:
            await run(client)
        return info.value

    error: UnexpectedResponseError = answer_of(guarded, body)
    return error
