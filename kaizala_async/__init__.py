"""kaizala-async: an asyncio SDK for the Microsoft Kaizala connector REST API."""

from ._auth import (
    AccessTokenResponse,
    Credentials,
    FileTokenStore,
    MemoryTokenStore,
    PinLogin,
    StoredTokens,
    TokenStore,
)
from ._client import KaizalaClient
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    EndpointMovedError,
    KaizalaError,
    NotFoundError,
    PermissionDeniedError,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
    TransportError,
    ValidationError,
)
from ._login import exchange_pin, login_with_pin, request_pin
from ._ratelimit import Rate, RateLimits
from ._secrets import Secret, SecretsFilter
from ._transport import TransportStats

__version__ = "0.1.0.dev0"

__all__ = [
    "APIError",
    "AccessTokenResponse",
    "AuthenticationError",
    "BadRequestError",
    "Credentials",
    "EndpointMovedError",
    "FileTokenStore",
    "KaizalaClient",
    "KaizalaError",
    "MemoryTokenStore",
    "NotFoundError",
    "PermissionDeniedError",
    "PinLogin",
    "Rate",
    "RateLimits",
    "RequestTimeoutError",
    "Secret",
    "SecretsFilter",
    "ServerError",
    "StoredTokens",
    "ThrottledError",
    "TokenStore",
    "TransportError",
    "TransportStats",
    "ValidationError",
    "__version__",
    "exchange_pin",
    "login_with_pin",
    "request_pin",
]
