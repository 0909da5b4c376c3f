"""Request logs: one line per HTTP request, carrying the request id.

The request id itself is django-guid's (its middleware reuses a well-formed incoming
`X-Request-ID`, else makes a new uuid, echoes it in the response header and keeps it in a
context variable); its log filter, installed on the console handler in settings.LOGGING,
puts it on every record logged while the request runs, as `request_id`. The formatter is
python-json-logger's (one JSON object per line) or plain text (LOG_FORMAT).

What a request line carries is chosen so that it never holds patient data or a secret: the
method, the path without its query string (a search can carry a patient's name), the status
and the duration. Never a header, so never a token.
"""

import logging
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

log = logging.getLogger("cloudhospital.request")

# The load balancer's and Prometheus's probes arrive every few seconds; they are logged at
# DEBUG so that they do not drown the requests people make.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _log_request(request, response, started: float) -> None:
    path = request.path
    level = logging.DEBUG if path in PROBE_PATHS else logging.INFO
    if not log.isEnabledFor(level):
        return
    status = response.status_code
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    log.log(
        level, "%s %s %s %.1fms", request.method, path, status, duration_ms,
        extra={"method": request.method, "path": path, "status": status, "duration_ms": duration_ms},
    )


class RequestLogMiddleware:
    """Logs each request once it has been answered (sync under gunicorn, async under Daphne)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        started = time.monotonic()
        response = self.get_response(request)
        _log_request(request, response, started)
        return response

    async def _acall(self, request):
        started = time.monotonic()
        response = await self.get_response(request)
        _log_request(request, response, started)
        return response
