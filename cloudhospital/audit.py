"""Who did what: history attribution for domain writes, and the access log of patient data.

The access log is a hash chain per patient: row n's hash is SHA-256 over row n-1's hash and
row n's own content (who, which patient, what, why, from where, when, n). Per patient, not
one global chain, so that reads of different patients never wait on each other to append,
and a patient's own list of who read their record (`GET /api/patients/{id}/access-log/`) is
exactly one chain, verifiable on its own. The unique (patient, seq) constraint makes a
concurrent append that lost the race retry on the new end instead of forking the chain.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from cloudhospital.models import AccessLog

GENESIS = "0" * 64
APPEND_ATTEMPTS = 5
ADVISORY_NAMESPACE = 0x41C3  # pg_advisory_xact_lock(namespace, patient id): the access-log chains

# The client address of the request (or socket) being served, set by AccessContextMiddleware,
# so that every log row says from where without every caller passing the request down.
current_ip: contextvars.ContextVar[str] = contextvars.ContextVar("current_ip", default="")


class AccessContextMiddleware:
    """Remember the client's address (cloudhospital.accounts.client_ip) for the access log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from cloudhospital.accounts import client_ip

        token = current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)


def stamp(obj: models.Model, *, by, reason: str = "") -> models.Model:
    """Attribute the next history row of `obj` to `by`, with `reason`.

    Domain functions call this themselves because Celery tasks and sockets have no request
    for simple-history's middleware to read the user from.
    """
    obj._history_user = by if getattr(by, "pk", None) else None
    obj._change_reason = reason[:100] if reason else None
    return obj


def link_hash(*, prev_hash: str, patient_id: int, seq: int, user_id: int, action: str, reason: str, ip: str,
              at) -> str:
    content = json.dumps(
        [prev_hash, patient_id, seq, user_id, action, reason, ip, at.isoformat(timespec="microseconds")],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _chain_ends(patient_ids: list[int]) -> dict[int, tuple[int, str]]:
    """(last seq, last hash) for each patient that has a chain: two queries for any number."""
    last = dict(AccessLog.objects.filter(patient_id__in=patient_ids).values("patient_id").annotate(seq=Max("seq"))
                .values_list("patient_id", "seq"))
    if not last:
        return {}
    rows = AccessLog.objects.filter(patient_id__in=list(last), seq__in=set(last.values())).values_list(
        "patient_id", "seq", "hash")
    return {patient_id: (seq, digest) for patient_id, seq, digest in rows if last[patient_id] == seq}


def _lock_chains(patient_ids: list[int]) -> None:
    """On PostgreSQL, take a transaction-scoped advisory lock per patient chain (in id order,
    so two appends never wait on each other in a cycle): concurrent readers of one patient
    append one after the other instead of racing for the same link. Elsewhere writers are
    serialised already (SQLite), and the unique (patient, seq) constraint is the backstop."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:  # one round trip, whatever the number of patients
        cursor.execute("SELECT pg_advisory_xact_lock(%s, id) FROM unnest(%s::int[]) AS id ORDER BY id",
                       [ADVISORY_NAMESPACE, sorted({patient_id % 2**31 for patient_id in patient_ids})])


def _linked(*, user, patient_id: int, action: str, reason: str, ends) -> AccessLog:
    seq, prev = ends.get(patient_id, (0, GENESIS))
    row = AccessLog(user=user, patient_id=patient_id, action=action[:40], reason=reason[:200], ip=current_ip.get(),
                    at=timezone.now(), seq=seq + 1, prev_hash=prev)
    row.hash = link_hash(prev_hash=prev, patient_id=patient_id, seq=row.seq, user_id=user.pk, action=row.action,
                         reason=row.reason, ip=row.ip, at=row.at)
    return row


def access_log_record_many(*, user, reasons: dict[int, str], action: str) -> list[AccessLog]:
    """Append one row per patient id in `reasons` (patient id -> grounds), each to its
    patient's chain, in a fixed number of queries; retried on the new chain ends when a
    concurrent append took a link first."""
    if not reasons:
        return []
    for attempt in range(APPEND_ATTEMPTS):
        try:
            with transaction.atomic():
                _lock_chains(sorted(reasons))
                ends = _chain_ends(list(reasons))
                rows = [_linked(user=user, patient_id=patient_id, action=action, reason=reason, ends=ends)
                        for patient_id, reason in reasons.items()]
                return AccessLog.objects.bulk_create(rows)
        except IntegrityError:
            if attempt == APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def access_log_record(*, user, patient, action: str, reason: str = "") -> AccessLog:
    """Append that `user` read `patient`'s data, and on what grounds."""
    return access_log_record_many(user=user, reasons={patient.pk: reason}, action=action)[0]


@dataclass(frozen=True)
class BrokenLink:
    patient_id: int
    seq: int
    row_id: int | None
    problem: str

    def __str__(self):
        return f"patient {self.patient_id}, link {self.seq} (row {self.row_id}): {self.problem}"


def access_log_verify(*, patient_ids: list[int] | None = None) -> tuple[int, BrokenLink | None]:
    """Walk every patient's chain (or those given) and return (rows checked, the first broken
    link or None). A link is broken when its hash does not match its content, its prev_hash
    is not the previous row's hash, or a number is missing from the sequence."""
    rows = AccessLog.objects.order_by("patient_id", "seq")
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=patient_ids)
    checked, patient, expected_seq, prev = 0, None, 1, GENESIS
    for row in rows.iterator(chunk_size=2000):
        if row.patient_id != patient:
            patient, expected_seq, prev = row.patient_id, 1, GENESIS
        if row.seq != expected_seq:
            return checked, BrokenLink(row.patient_id, expected_seq, None, f"link {expected_seq} is missing")
        if row.prev_hash != prev:
            return checked, BrokenLink(row.patient_id, row.seq, row.pk, "does not follow the previous link")
        digest = link_hash(prev_hash=row.prev_hash, patient_id=row.patient_id, seq=row.seq, user_id=row.user_id,
                           action=row.action, reason=row.reason, ip=row.ip, at=row.at)
        if digest != row.hash:
            return checked, BrokenLink(row.patient_id, row.seq, row.pk, "its content was changed")
        checked, expected_seq, prev = checked + 1, expected_seq + 1, row.hash
    return checked, None
