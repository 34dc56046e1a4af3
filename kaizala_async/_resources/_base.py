"""What every resource namespace shares: sending a described call and decoding its answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import cattrs

from kaizala_async._converter import structure
from kaizala_async._errors import UnexpectedResponseError
from kaizala_async._options import capture_response
from kaizala_async._transport import Call

if TYPE_CHECKING:
    from kaizala_async._client import KaizalaClient

__all__ = ["Resource", "query_bool"]

T = TypeVar("T")


def query_bool(value: bool) -> str:
    return "true" if value else "false"


class Resource:
    """Base of the namespaces; created by `KaizalaClient`, usable inside its ``async with``."""

    def __init__(self, client: KaizalaClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send the call; return the decoded JSON body (None for an empty or non-JSON body)."""
        options = self._client._call_options
        call = Call(
            method=method,
            path=path,
            json=json,
            params=params,
            files=files,
            headers=headers,
            timeout=options.timeout,
            max_retries=options.max_retries,
            max_wait=options.max_wait,
            tokens=self._client._bot_tokens,
        )
        response = await self._client._require().send(call)
        capture_response(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None
        except RecursionError:  # a hostile server's 100k-deep document
            raise UnexpectedResponseError(path, ["nested too deep"]) from None

    @staticmethod
    def _decode(data: Any, cls: type[T], what: str) -> T:
        try:
            return structure(data, cls)
        except cattrs.BaseValidationError as exc:
            raise UnexpectedResponseError(what, cattrs.transform_error(exc)) from None
        except (TypeError, ValueError, KeyError) as exc:
            raise UnexpectedResponseError(what, [type(exc).__name__]) from None

    @classmethod
    def _decode_list(cls, data: Any, key: str, item: type[T], what: str) -> list[T]:
        """``{key: [...]}`` → list of ``item`` (key matched case-insensitively; missing → [])."""
        if not isinstance(data, Mapping):
            raise UnexpectedResponseError(what, [f"expected an object with {key!r}"])
        items = field(data, key)
        if items is None:
            return []
        if not isinstance(items, list):
            raise UnexpectedResponseError(what, [f"{key!r} is not a list"])
        return [cls._decode(i, item, what) for i in items]


def field(data: Any, key: str) -> Any:
    """``data[key]`` matched case-insensitively (None when absent or ``data`` is not an object)."""
    if not isinstance(data, Mapping):
        return None
    return next((v for k, v in data.items() if str(k).lower() == key.lower()), None)
