"""Who did what: history attribution for domain writes, and the staff access log."""

from django.db import models

from cloudhospital.models import AccessLog


def stamp(obj: models.Model, *, by, reason: str = "") -> models.Model:
    """Attribute the next history row of `obj` to `by`, with `reason`.

    Domain functions call this themselves because Celery tasks and sockets have no request
    for simple-history's middleware to read the user from.
    """
    obj._history_user = by if getattr(by, "pk", None) else None
    obj._change_reason = reason[:100] if reason else None
    return obj


def access_log_record(*, user, patient, action: str, reason: str = "") -> AccessLog:
    """Record that a staff member read a patient's record, and on what grounds."""
    return AccessLog.objects.create(user=user, patient=patient, action=action, reason=reason[:200])


def access_log_record_many(*, user, reasons: dict[int, str], action: str) -> list[AccessLog]:
    """Record one read per patient id in `reasons` (patient id -> grounds), in one insert:
    a list a doctor opens is as much a read as each record."""
    return AccessLog.objects.bulk_create(
        [AccessLog(user=user, patient_id=patient_id, action=action, reason=reason[:200]) for patient_id, reason in reasons.items()]
    )
