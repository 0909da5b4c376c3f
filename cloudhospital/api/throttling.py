"""Rate limits that keep working when the cache (Redis) is down: they fail open, with a log
line, rather than turning a request into a 500. A limit is a brake on abuse; losing it for
the minutes Redis is away is better than refusing every registration in that time."""

import logging

from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger("cloudhospital.throttling")


class FailOpenScopedRateThrottle(ScopedRateThrottle):
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - any cache failure means the same: let it through
            logger.warning("rate limit %r not applied: the cache is unavailable", getattr(view, "throttle_scope", ""),
                           exc_info=True)
            return True
