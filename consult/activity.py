"""What was done for a patient, and by whom: "by 张薇 on behalf of 张林".

Every write of a domain function is attributed (cloudhospital.audit.stamp → simple-history's
`history_user` and reason), and every read by someone outside the family is in the patient's
hash-chained access log. This module reads both back as one list, newest first, and names
the acting relationship: an action by a proxy reads "by <proxy> on behalf of <patient>
(<relationship>)", one by the patient "by <patient>", one by the clinic "by <doctor>".

Higher layers add their own histories (a medicine order is pharmacy's) through
`activity_source_register`, so this module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from django.utils.translation import gettext as _

from cloudhospital.models import AccessLog
from consult.models import (
    Allergy,
    Booking,
    ConsentAcceptance,
    Condition,
    Medication,
    Observation,
    Patient,
    ProxyConsent,
    ProxyLink,
    Relationship,
)

PER_SOURCE = 50  # newest rows read from each history


@dataclass(frozen=True)
class Event:
    """One thing done to the patient's data: `what` (the domain's own reason, e.g. "checked
    in"), `subject` (e.g. "booking 12"), when, by which login (None: the system)."""

    at: datetime
    what: str
    subject: str
    user_id: int | None
    actor_name: str
    kind: str = "write"  # or "read" (the access log)


@dataclass(frozen=True)
class Activity:
    event: Event
    on_behalf_of: str  # the patient's name when a proxy acted, else ""
    relationship: str  # what the patient is to the proxy (Relationship label), else ""
    line: str  # "by 张薇 on behalf of 张林 (Parent)"


SOURCES: list[Callable[[Patient, int], list[Event]]] = []


def activity_source_register(source: Callable[[Patient, int], list[Event]]) -> None:
    """Add a history of another app (called from its AppConfig.ready): `source(patient,
    limit)` returns that app's Events for the patient."""
    if source not in SOURCES:
        SOURCES.append(source)


def history_events(model, *, limit: int = PER_SOURCE, label: str, **filters) -> list[Event]:
    """The newest simple-history rows of `model` matching `filters`, as Events."""
    rows = model.history.filter(**filters).select_related("history_user").order_by("-history_date", "-history_id")[:limit]
    return [
        Event(at=row.history_date, what=row.history_change_reason or _history_verb(row.history_type),
              subject=f"{label} {row.id}", user_id=row.history_user_id,
              actor_name=row.history_user.full_name if row.history_user else _("the system"))
        for row in rows
    ]


def _history_verb(history_type: str) -> str:
    return {"+": "created", "~": "changed", "-": "deleted"}.get(history_type, history_type)


def _consult_events(patient: Patient, limit: int) -> list[Event]:
    events = history_events(Booking, limit=limit, label="booking", patient_id=patient.pk)
    events += history_events(ConsentAcceptance, limit=limit, label="consent acceptance", patient_id=patient.pk)
    events += history_events(ProxyConsent, limit=limit, label="proxy consent",
                             link_id__in=list(ProxyLink.history.filter(patient_id=patient.pk).values_list("id", flat=True)))
    for model, label in ((Condition, "condition"), (Allergy, "allergy"), (Medication, "medication"),
                         (Observation, "observation")):
        events += history_events(model, limit=limit, label=label, patient_id=patient.pk)
    reads = AccessLog.objects.filter(patient=patient).select_related("user").order_by("-seq")[:limit]
    events += [Event(at=row.at, what=row.action, subject=row.reason, user_id=row.user_id,
                     actor_name=row.user.full_name, kind="read") for row in reads]
    return events


def patient_activity(patient: Patient, *, limit: int = PER_SOURCE) -> list[Activity]:
    """The patient's activity, newest first (at most `limit` entries), each naming who acted
    and, for a proxy, on whose behalf. A proxy whose link was since removed is still named
    as one (the link's history)."""
    events = _consult_events(patient, limit)
    for source in SOURCES:
        events += source(patient, limit)
    events.sort(key=lambda e: e.at, reverse=True)
    events = events[:limit]
    relationships = dict(ProxyLink.history.filter(patient_id=patient.pk).order_by("history_date")
                         .values_list("proxy_id", "relationship"))
    return [_describe(event, patient, relationships) for event in events]


def _describe(event: Event, patient: Patient, relationships: dict[int, str]) -> Activity:
    relationship = ""
    if event.user_id is not None and event.user_id != patient.account_id and event.user_id in relationships:
        code = relationships[event.user_id]
        relationship = str(Relationship(code).label) if code in Relationship.values else code
        line = _("by %(actor)s on behalf of %(patient)s (%(relationship)s)") % {
            "actor": event.actor_name, "patient": patient.full_name, "relationship": _(relationship)}
        return Activity(event=event, on_behalf_of=patient.full_name, relationship=relationship, line=line)
    return Activity(event=event, on_behalf_of="", relationship="", line=_("by %(actor)s") % {"actor": event.actor_name})
