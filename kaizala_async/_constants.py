"""Every tunable default of the SDK, in one place (API reference facts are cited)."""

from __future__ import annotations

__all__ = [
    "ACCESS_TOKEN_HEADER",
    "ACTION_PAGE",
    "API_ROOT",
    "API_VERSION_PREFIX",
    "CONNECTION_RETRY_BACKOFF",
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_CONNECTOR_LIMIT",
    "DEFAULT_CONNECTOR_PERIOD",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_TENANT_LIMIT",
    "DEFAULT_TENANT_PERIOD",
    "DEFAULT_TIMEOUT",
    "JITTER_FRACTION",
    "JITTER_MAX",
    "MAX_GROUP_MEMBERS",
    "MAX_MESSAGE_LENGTH",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRIES_LIMIT",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_AFTER_LIMIT",
    "MAX_RETRY_BACKOFF",
    "MAX_THROTTLE_RETRIES",
    "RENEW_FRACTION",
    "RENEW_MARGIN",
    "RENEW_RETRY_MAX",
    "RENEW_RETRY_MIN",
    "SECRET_HEADERS",
    "SUBSCRIBER_BATCH",
    "SUBSCRIBER_PAGE",
    "TENANT_SEARCH_PAGE",
    "TOKEN_EXPIRY_SKEW",
    "USER_AGENT",
]

#: Token service root (API reference, "Base URLs"): PIN and token calls always go here, never to endpointUrl.
API_ROOT = "https://api.kaiza.la"
#: Every documented resource path starts with this prefix (API reference, "Version prefix").
API_VERSION_PREFIX = "/v1"

#: The docs suggest a one-minute response timeout (API reference, "Timeouts").
DEFAULT_TIMEOUT = 60.0

#: 100 calls per minute per connector, 300 per minute per tenant (API reference, "Throttling").
DEFAULT_CONNECTOR_LIMIT = 100
DEFAULT_CONNECTOR_PERIOD = 60.0
DEFAULT_TENANT_LIMIT = 300
DEFAULT_TENANT_PERIOD = 60.0

#: Jitter allowance added to each window when pacing: min(JITTER_MAX, JITTER_FRACTION * period)
#: seconds. It covers network jitter and the gap between granting a slot and the server seeing
#: the call; it costs JITTER_FRACTION of the rate at most (0.25 s of 60 s = 0.4 %).
JITTER_FRACTION = 0.005
JITTER_MAX = 0.25

#: Retry-After longer than this (seconds) raises ThrottledError instead of waiting.
MAX_RETRY_AFTER = 120.0
#: The largest ``max_retry_after`` a client accepts (seconds).
MAX_RETRY_AFTER_LIMIT = 3600.0

#: The largest answer read, in bytes (the API answers with JSON far below this).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: Wait used when a 429 carries no usable Retry-After.
DEFAULT_RETRY_AFTER = 1.0
#: How many 429s one call absorbs before ThrottledError.
MAX_THROTTLE_RETRIES = 8

#: Retries for connection failures that happened before the request was sent (and, for
#: idempotent calls or when the caller opts in, for failures after sending).
DEFAULT_MAX_RETRIES = 2
#: The most retries a client or a call may ask for: with the back-off cap below, a failing call
#: ends within about five minutes of waits, never days.
MAX_RETRIES_LIMIT = 10
#: First backoff between those retries (seconds); doubles each time, with full jitter.
CONNECTION_RETRY_BACKOFF = 0.5
#: The longest of those backoffs (seconds): the doubling stops here.
MAX_RETRY_BACKOFF = 30.0

#: The access token lives 24 h. Renew at expiry - min(RENEW_MARGIN, RENEW_FRACTION * lifetime):
#: 5 minutes early for real tokens, a fifth of the lifetime for short test tokens.
RENEW_MARGIN = 300.0
RENEW_FRACTION = 0.2
#: A token this close to expiry (seconds) is treated as expired by callers.
TOKEN_EXPIRY_SKEW = 5.0
#: Backoff bounds when a background renewal fails (retried until the token actually expires).
RENEW_RETRY_MIN = 1.0
RENEW_RETRY_MAX = 60.0

#: Hosts the access token may be sent to (API reference, "Endpoint moved"), https only. The api_root's own
#: origin is always allowed in addition, so a loopback emulator works when the user points at it.
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("*.kaiza.la", "kaiza.la", "*.office.net")

#: Header carrying the access token on every resource call (bare, no "Bearer ").
ACCESS_TOKEN_HEADER = "accessToken"  # noqa: S105 (a header name, not a secret)
#: Headers whose values are secrets and are redacted from logs (compared case-insensitively).
SECRET_HEADERS: frozenset[str] = frozenset(
    {"accesstoken", "refreshtoken", "applicationsecret", "authorization", "kz-callback-token"}
)

USER_AGENT = "kaizala-async/0.1"

#: Longest text message (API T1 and inconsistency 15: the current docs say 4000 characters).
MAX_MESSAGE_LENGTH = 4000
#: Most phone numbers in one create-group call (API G1, inconsistency 66).
MAX_GROUP_MEMBERS = 100
#: Phone numbers per subscriber add/remove call (sources' inconsistency 65: configurable, default 30).
SUBSCRIBER_BATCH = 30
#: Page sizes: subscribers at most 50 (API P1), actions 30 (C2), tenant search 10 (X1).
SUBSCRIBER_PAGE = 50
ACTION_PAGE = 30
TENANT_SEARCH_PAGE = 10
