"""What a load balancer and Prometheus ask: /healthz, /readyz and /metrics (docs/operations.md).

- /healthz, liveness: the process answers. No dependency is touched, so a database outage
  never gets every app server restarted at once.
- /readyz, readiness: the database, and with REDIS_URL the Redis cache and the Celery broker,
  each probed by django-health-check's checks (they run concurrently, each within a few
  seconds). 200 when all are up, 503 naming the one that is not. Only names and "ok" /
  "unavailable" are answered; why a check failed goes to the log, not to whoever asks.
- /metrics: Prometheus text (cloudhospital.metrics), behind METRICS_TOKEN.

None of them reads or answers anything about a person, and none needs a login.
"""

import asyncio
import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from health_check.checks import Cache, Database
from health_check.contrib.redis import Redis
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis as RedisClient

from cloudhospital import metrics
from cloudhospital.api.errors import error_response

# A broker that does not answer within this is as good as down for a load balancer.
BROKER_TIMEOUT_SECONDS = 2


def readiness_checks() -> dict:
    """The checks for this deployment: the embedded default has only the database (its
    cache and broker are in-process); with REDIS_URL, Redis as cache and as broker too."""
    checks = {"database": Database()}
    if settings.REDIS_URL:
        broker_url = settings.CELERY_BROKER_URL
        checks["cache"] = Cache()
        checks["broker"] = Redis(client_factory=lambda: RedisClient.from_url(
            broker_url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS))
    return checks


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


async def readyz(request):
    checks = readiness_checks()
    results = await asyncio.gather(*(check.get_result() for check in checks.values()))
    states = {name: "unavailable" if result.error else "ok" for name, result in zip(checks, results, strict=True)}
    ready = all(state == "ok" for state in states.values())
    response = JsonResponse({"status": "ok" if ready else "unavailable", "checks": states}, status=200 if ready else 503)
    add_never_cache_headers(response)
    return response


def scrape_allowed(request) -> bool:
    """With METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>`; without it,
    only a DEBUG server (a developer's machine) answers."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return settings.DEBUG
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@never_cache
def metrics_view(request):
    if not scrape_allowed(request):
        response = error_response(401, "not_authenticated", "Send Authorization: Bearer <METRICS_TOKEN>.")
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_LATEST)
