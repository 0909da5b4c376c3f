"""Whom a family member is acting for on the pages: themself or one of the patients they
manage (a dependant, or someone who made them their proxy).

Kept in the session, and always re-checked against `patients_managed_by`, so a stale or
forged id can never widen what the pages show: a patient no longer managed falls back to
the account holder. The API has no such state: every call names its patient.
"""

from django.http import Http404

from consult.models import Patient
from consult.permissions import patients_managed_by

SESSION_KEY = "acting_for_patient_id"


def acting_for(request) -> Patient | None:
    """The patient the pages act for now: the one chosen, if still managed; else the
    account holder's own record; else the first managed patient; None if there is none."""
    managed = patients_managed_by(request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        patient = managed.filter(pk=chosen).first()
        if patient is not None:
            return patient
        request.session.pop(SESSION_KEY, None)
    return managed.filter(account=request.user).first() or managed.order_by("id").first()


def act_for(request, patient_id) -> Patient:
    """Choose whom to act for; a patient the user does not manage is a 404."""
    try:
        patient = patients_managed_by(request.user).get(pk=int(patient_id))
    except (Patient.DoesNotExist, TypeError, ValueError):
        raise Http404("No such patient.") from None
    request.session[SESSION_KEY] = patient.pk
    return patient


def acting_context(request) -> dict:
    """What the "acting for" banner of every family page needs."""
    return {"acting_patient": acting_for(request), "managed_patients": list(patients_managed_by(request.user).order_by("id"))}
