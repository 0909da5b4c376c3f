"""Retention: how long each kind of record is kept, and purging what is past it.

The rules (互联网诊疗监管细则（试行）, 处方管理办法 art. 50) set *minimum* periods: online-care
records 15 years, chat and audio/video 3 years, prescriptions 1, 2 or 3 years by the legal
class of their drugs. The periods are settings (RETENTION_YEARS, PRESCRIPTION_RETENTION_YEARS,
RECORDING_RETENTION_YEARS); nothing younger is ever purged.

cloudhospital is the lowest layer and knows no app, so each app registers its kinds of record
here from its AppConfig.ready with `retention_register(RetentionKind(...))`:

    retention_register(RetentionKind(
        name="chat_messages", label="Chat messages", rule="互联网诊疗监管细则（试行）: ≥ 3 years",
        years=lambda: settings.RETENTION_YEARS["chat_messages"],
        expired=lambda now: ChatMessage.objects.filter(sent_at__lt=years_before(now, ...)),
        covers=lambda message: (patient_id, [message, message.consultation]),
    ))

`expired(now)` yields the objects past retention at `now`; `covers(obj)` names the patient and
the objects a legal hold may be placed on that keep `obj` (a hold on a consultation keeps its
chat); `purge(obj)` deletes (the default, `delete_with_history`) or anonymises it and returns
"deleted" or "anonymised".

A purge deletes the object, what cascades from it, and their simple-history rows (else the
history would keep every deleted field). Rows of a higher layer point at a lower layer's
(an order at its prescription, a prescription at its consultation), so the kinds are purged in
reverse registration order: dependants first. A row that something kept longer still points at
(PROTECT) is left alone and reported as `skipped`: a prescription held under a legal hold keeps
its consultation, whatever the consultation's age. The access log is never touched: its rows
are kept with the patient, and its hash chain still verifies after a purge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models, router, transaction
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.models import LegalHold, PurgeRun
from cloudhospital.permissions import require

HOLD_REASON_MAX = 500


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment `years` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


class Held(Exception):
    """A purge would delete (by cascade) an object under an active legal hold."""


# The holds of the purge under way: a cascade must not take a held object with it.
_holds_in_force: ContextVar[_Holds | None] = ContextVar("retention_holds", default=None)


def delete_with_history(objs: Iterable[models.Model]) -> None:
    """Delete `objs` with everything that cascades from them, and every simple-history row of
    what was deleted. Changing nothing, raises ProtectedError / RestrictedError when a row
    that stays still points at one of them, and Held when (during a purge) an object under
    an active legal hold would go with them."""
    objs = list(objs)
    if not objs:
        return
    collector = Collector(using=router.db_for_write(type(objs[0])))
    collector.collect(objs)
    doomed = [(model, [obj.pk for obj in instances]) for model, instances in collector.data.items()]
    holds = _holds_in_force.get()
    if holds is not None and any(holds.cover(None, list(instances)) for instances in collector.data.values()):
        raise Held()
    with transaction.atomic():
        collector.delete()
        for model, pks in doomed:
            history = getattr(model, "history", None)
            if history is not None and hasattr(history, "model"):
                history.model.objects.filter(**{f"{model._meta.pk.attname}__in": pks}).delete()


def _delete(obj: models.Model) -> str:
    delete_with_history([obj])
    return "deleted"


@dataclass(frozen=True)
class RetentionKind:
    """One kind of record and its retention rule, as an app registers it."""

    name: str
    label: str
    rule: str
    years: Callable[[], int | str]
    expired: Callable[[datetime], Iterable[models.Model]]
    covers: Callable[[models.Model], tuple[int | None, list[models.Model]]]
    purge: Callable[[models.Model], str] = field(default=_delete)


_KINDS: dict[str, RetentionKind] = {}


def retention_register(kind: RetentionKind) -> None:
    """Add (or replace, by name) a kind of record; called from an AppConfig.ready."""
    _KINDS[kind.name] = kind


def retention_kinds() -> list[RetentionKind]:
    """The registered kinds in registration order (lower layers first)."""
    return list(_KINDS.values())


def retention_table() -> list[dict]:
    """The retention table as it is configured now: kind, label, minimum years, rule."""
    return [{"kind": k.name, "label": k.label, "years": k.years(), "rule": k.rule} for k in retention_kinds()]


@dataclass
class _Holds:
    patients: set[int]
    objects: set[tuple[int, str]]

    def cover(self, patient_id: int | None, objs: list[models.Model]) -> bool:
        if patient_id is not None and patient_id in self.patients:
            return True
        return any((ContentType.objects.get_for_model(obj).pk, str(obj.pk)) in self.objects
                   for obj in objs if obj is not None and obj.pk is not None)


def _active_holds() -> _Holds:
    active = LegalHold.objects.filter(released_at__isnull=True)
    return _Holds(
        patients=set(active.filter(patient__isnull=False).values_list("patient_id", flat=True)),
        objects={(ct, oid) for ct, oid in active.filter(content_type__isnull=False).values_list("content_type_id", "object_id")},
    )


def is_held(obj: models.Model, *, kind: RetentionKind | None = None) -> bool:
    """Whether an active legal hold covers `obj` (through `kind.covers` when given)."""
    patient_id, objs = kind.covers(obj) if kind else (None, [obj])
    return _active_holds().cover(patient_id, objs)


def retention_purge(*, now: datetime | None = None, dry_run: bool = False, by=None,
                    kinds: Iterable[str] | None = None) -> PurgeRun:
    """Purge every registered kind's records past retention at `now`, except what an active
    legal hold covers; a dry run counts what it would purge and changes nothing. Each object is purged in its own
    transaction, so one that is still referenced (PROTECT) is skipped and the rest go on.
    The run and its report (per kind: past retention, purged, held, skipped, and the action)
    are recorded as a PurgeRun, dry runs too."""
    now = now or timezone.now()
    holds = _active_holds()
    token = _holds_in_force.set(holds)
    try:
        report = _purge(holds, now=now, dry_run=dry_run, kinds=kinds)
    finally:
        _holds_in_force.reset(token)
    return PurgeRun.objects.create(as_of=now, dry_run=dry_run, by=by, report=report)


def _purge(holds: _Holds, *, now: datetime, dry_run: bool, kinds: Iterable[str] | None) -> list[dict]:
    wanted = set(kinds) if kinds is not None else None
    report = []
    for kind in reversed(retention_kinds()):
        if wanted is not None and kind.name not in wanted:
            continue
        counts = {"kind": kind.name, "label": kind.label, "years": kind.years(), "rule": kind.rule,
                  "past_retention": 0, "purged": 0, "would_purge": 0, "held": 0, "skipped": 0, "actions": {}}
        for obj in list(kind.expired(now)):
            counts["past_retention"] += 1
            if holds.cover(*kind.covers(obj)):
                counts["held"] += 1
                continue
            if dry_run:
                counts["would_purge"] += 1
                continue
            try:
                with transaction.atomic():
                    action = kind.purge(obj)
            except Held:
                counts["held"] += 1
                continue
            except (ProtectedError, RestrictedError):
                counts["skipped"] += 1
                continue
            counts["purged"] += 1
            counts["actions"][action] = counts["actions"].get(action, 0) + 1
        report.append(counts)
    return report


# --- Legal holds ---------------------------------------------------------------------------


def legal_hold_clean(*, reason: str, patient=None, content_type: ContentType | None = None,
                     object_id: str = "") -> tuple[str, str]:
    """The hold's reason and object id, or a 400 naming the field: a reason is required, and
    a hold covers a patient or one existing object (its type and id), never both."""
    reason = (reason or "").strip()
    object_id = str(object_id or "").strip()
    if not reason:
        raise DomainError(_("Say why the records are held."), code="required", field="reason", kind=Kind.INVALID)
    if len(reason) > HOLD_REASON_MAX:
        raise DomainError(_("Keep the reason under %(max)s characters.") % {"max": HOLD_REASON_MAX},
                          code="invalid", field="reason", kind=Kind.INVALID)
    if (patient is None) == (content_type is None and not object_id):
        raise DomainError(_("Hold either a patient or one object (its type and id), not both."),
                          code="invalid", field="patient", kind=Kind.INVALID)
    if patient is None:
        model = content_type.model_class() if content_type is not None else None
        if model is None or not object_id or not model._default_manager.filter(pk=object_id).exists():
            raise DomainError(_("There is no such object to hold."), code="not_found", field="object_id",
                              kind=Kind.INVALID)
    return reason, object_id


@transaction.atomic
def legal_hold_place(*, by, reason: str, patient=None, content_type: ContentType | None = None, object_id: str = "",
                     target: models.Model | None = None) -> LegalHold:
    """Place a legal hold on every record of `patient`, or on one object (`target`, or its
    `content_type` and `object_id`): nothing it covers is purged until it is released. Only
    the hospital's administrators (403); 400 naming the field for a missing reason or a hold
    on both or neither."""
    require("cloudhospital.manage_legal_holds", by, message=_("Only the hospital's administrators place legal holds."))
    if target is not None:
        content_type, object_id = ContentType.objects.get_for_model(target), str(target.pk)
    reason, object_id = legal_hold_clean(reason=reason, patient=patient, content_type=content_type, object_id=object_id)
    hold = LegalHold(patient=patient, content_type=content_type, object_id=object_id, reason=reason, placed_by=by,
                     placed_at=timezone.now())
    stamp(hold, by=by, reason="legal hold placed")
    hold.save()
    return hold


@transaction.atomic
def legal_hold_release(*, by, hold: LegalHold) -> LegalHold:
    """Release an active hold: what it covered may be purged again once past retention.
    Only the hospital's administrators (403); a released hold is a 409."""
    require("cloudhospital.manage_legal_holds", by, message=_("Only the hospital's administrators release legal holds."))
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is not None:
        raise DomainError(_("This hold was already released."), code="hold_released")
    hold.released_at, hold.released_by = timezone.now(), by
    stamp(hold, by=by, reason="legal hold released")
    hold.save(update_fields=["released_at", "released_by"])
    return hold
