"""Prometheus metrics of our own, beside django-prometheus's request metrics (latency and
status by view, from its middleware), served at /metrics by cloudhospital.probes (docs/operations.md).

Each metric is changed in one place: booking outcomes by the `counts_booking_outcome`
decorator on the booking verbs (consult.booking), open signalling sockets by the consumer's
accept and exit (consult.consumers), and the outbox backlog is read from its table when
Prometheus scrapes. No label carries a person, a patient or an id: only verbs, outcomes and
refusal codes, so the series stay few.

Several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess
mode) so a scrape sums every worker, not whichever one answered.
"""

import functools
import logging
import os

from django.db import DatabaseError, transaction
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, multiprocess
from prometheus_client.core import GaugeMetricFamily

from cloudhospital.errors import DomainError

log = logging.getLogger(__name__)

BOOKING_OUTCOMES = Counter(
    "cloudhospital_booking_outcomes",
    "Booking desk verbs by outcome: done (created, cancelled, ...) or refused with the refusal code.",
    ["action", "outcome", "code"],
)
SIGNALLING_SOCKETS = Gauge(
    "cloudhospital_signalling_sockets_open",
    "Signalling WebSockets accepted and not yet closed, in this process (summed across processes).",
    multiprocess_mode="livesum",
)


def counts_booking_outcome(action: str, done: str, *, replayed: str | None = None):
    """Count each call of a booking verb: `done` once its transaction commits (so a rolled
    back booking is not counted), `refused` with the DomainError's code when it refuses.
    `replayed`: the outcome of a create that returned an earlier booking (Idempotency-Key)."""

    def decorate(function):
        @functools.wraps(function)
        def counted(*args, **kwargs):
            try:
                result = function(*args, **kwargs)
            except DomainError as error:
                BOOKING_OUTCOMES.labels(action, "refused", error.code).inc()
                raise
            outcome = replayed if replayed and isinstance(result, tuple) and result[1] is False else done
            transaction.on_commit(lambda: BOOKING_OUTCOMES.labels(action, outcome, "").inc())
            return result

        return counted

    return decorate


class OutboxCollector:
    """The outbox backlog, read from its table at scrape time: pending rows and the age of
    the oldest. Both queries stay on the pending rows' partial index, so a scrape costs the
    same however many delivered rows the table keeps."""

    def describe(self):
        return []  # nothing is read at registration, only when scraped

    def collect(self):
        from cloudhospital.models import OutboxMessage, OutboxStatus

        try:
            backlog = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).aggregate(
                n=Count("id"), oldest=Min("created_at"))
        except DatabaseError:
            log.warning("outbox metrics unavailable: database error", exc_info=True)
            return
        yield GaugeMetricFamily("cloudhospital_outbox_pending", "Outbox rows waiting to be relayed.", value=backlog["n"])
        age = (timezone.now() - backlog["oldest"]).total_seconds() if backlog["oldest"] else 0.0
        yield GaugeMetricFamily("cloudhospital_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending outbox row (0 when none).", value=max(age, 0.0))


OUTBOX_COLLECTOR = OutboxCollector()
REGISTRY.register(OUTBOX_COLLECTOR)


def registry():
    """What a scrape reads: this process's registry, or every worker's with
    PROMETHEUS_MULTIPROC_DIR, the outbox backlog beside either."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        summed = CollectorRegistry()
        multiprocess.MultiProcessCollector(summed)
        summed.register(OUTBOX_COLLECTOR)
        return summed
    return REGISTRY
