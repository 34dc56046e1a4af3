from ._errors import *  # noqa
from ._ratelimit import Rate, RateLimits
