"""What a user without the SDK writes: raw httpx calls (for the overhead and baseline scenarios)."""

from __future__ import annotations

from typing import Any

import httpx

TEXT = "Store closes at 6"


async def access_token(
    http: httpx.AsyncClient, root: str, credentials: dict[str, str]
) -> tuple[str, str]:
    """SPEC A3 by hand: ``(access token, endpoint base)``."""
    response = await http.get(
        f"{root.rstrip('/')}/v1/accessToken",
        headers={
            "applicationId": credentials["applicationId"],
            "applicationSecret": credentials["applicationSecret"],
            "refreshToken": credentials["refreshToken"],
        },
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body["accessToken"], body.get("endpointUrl") or root


async def post_text(http: httpx.AsyncClient, base: str, token: str, group: str) -> httpx.Response:
    """SPEC T1 by hand, the way the SDK sends it (JSON body, ``accessToken`` header)."""
    return await http.post(
        f"{base.rstrip('/')}/v1/groups/{group}/messages",
        json={"message": TEXT},
        headers={"accessToken": token, "Accept": "application/json"},
    )
