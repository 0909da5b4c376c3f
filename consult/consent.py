"""Consent rules, in one place: the online-care informed consent (知情同意书) a patient or
their guardian accepts before the first online consult, and the consent under which a
proxy acts for a patient (granted by whom, for which actions, for what period, revocable by
the patient). The records are in consult.models.consents; who may act is asked through
consult.permissions (`proxy_links_in_force`), which every page, API and domain function
starts from, so a revoked or expired consent takes effect everywhere at once.

互联网诊疗监管细则（试行）: the institution keeps an informed-consent policy for patients;
互联网诊疗管理办法（试行）: a child is seen with a guardian. `booking_consents_require` is the
one check `consult.booking.booking_create` makes.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind, forbidden
from cloudhospital.permissions import allowed
from consult.models import (
    ConsentAcceptance,
    ConsentKind,
    ConsentText,
    GrantorRole,
    Patient,
    ProxyConsent,
    ProxyConsentStatus,
    ProxyLink,
    ProxyScope,
)
from consult.permissions import manages_patient, proxy_consent_covers, proxy_consents_in_force

ALL_SCOPES = [ProxyScope.BOOK.value, ProxyScope.RECORD.value, ProxyScope.MEDICINES.value]

# --- The online-care informed consent ------------------------------------------------------


def consent_current(kind: str = ConsentKind.ONLINE_CARE, *, at: datetime | None = None) -> ConsentText | None:
    """The version of `kind` in effect at `at` (default now): the highest version whose
    effective_from has come. None when no text was ever published."""
    return (ConsentText.objects.filter(kind=kind, effective_from__lte=at or timezone.now())
            .order_by("-version").first())


def consent_acceptance_of(patient: Patient, kind: str = ConsentKind.ONLINE_CARE) -> ConsentAcceptance | None:
    """The patient's acceptance of the current version of `kind`, or None (never accepted, or
    only an older version: a new version needs accepting again)."""
    current = consent_current(kind)
    if current is None:
        return None
    return ConsentAcceptance.objects.filter(patient=patient, text=current).select_related("accepted_by").first()


def consent_refusal(patient: Patient, kind: str = ConsentKind.ONLINE_CARE) -> DomainError | None:
    """The refusal an online consult for `patient` meets without an accepted current consent."""
    current = consent_current(kind)
    if current is None or ConsentAcceptance.objects.filter(patient=patient, text=current).exists():
        return None
    # 互联网诊疗监管细则（试行）: informed consent before online care; a new version is accepted again.
    return DomainError(
        _("互联网诊疗监管细则（试行）: before the first online consult %(patient)s (or their guardian) must read "
          "and accept the online-care informed consent, version %(version)s.")
        % {"patient": patient.full_name, "version": current.version},
        code="consent_required", field="consent", kind=Kind.UNPROCESSABLE,
    )


def _relationship(by, patient: Patient) -> str:
    """"" when `by` is the patient; else what the patient is to the proxy (the link's)."""
    if patient.account_id is not None and patient.account_id == by.pk:
        return ""
    link = ProxyLink.objects.filter(proxy=by, patient=patient).first()
    return link.relationship if link else ""


def consent_accept(*, by, patient: Patient, version: int, kind: str = ConsentKind.ONLINE_CARE) -> tuple[ConsentAcceptance, bool]:
    """`by` (the patient, or a proxy with a consent in force on their behalf) accepts the
    current version of the consent for `patient`. Returns (acceptance, created); accepting
    again is harmless. Refuses: a patient `by` does not manage (404); a version that is not
    the current one (409 `consent_outdated`: the text was replaced while it was being read)."""
    if not manages_patient(by, patient):
        raise DomainError(_("No patient with this id among those you manage."), code="not_found", kind=Kind.NOT_FOUND)
    current = consent_current(kind)
    if current is None or current.version != version:
        raise DomainError(
            _("This consent text is no longer the current one; read the current version and accept it."),
            code="consent_outdated", field="version", kind=Kind.CONFLICT,
        )
    existing = ConsentAcceptance.objects.filter(patient=patient, text=current).first()
    if existing is not None:
        return existing, False
    acceptance = ConsentAcceptance(text=current, patient=patient, accepted_by=by,
                                   proxy_relationship=_relationship(by, patient), language=get_language() or "")
    stamp(acceptance, by=by, reason=f"accepted {current.kind} v{current.version}")
    try:
        with transaction.atomic():
            acceptance.save()
    except IntegrityError:  # the same acceptance from another tab committed first
        return ConsentAcceptance.objects.get(patient=patient, text=current), False
    return acceptance, True


def consent_acceptances(patient: Patient):
    """Every acceptance of the patient's, newest first, with the text and who accepted."""
    return patient.consent_acceptances.select_related("text", "accepted_by").order_by("-accepted_at", "-id")


# --- Proxy consent -------------------------------------------------------------------------


def proxy_consent_refusal(by, patient: Patient, scope: str) -> DomainError | None:
    """The refusal a proxy meets acting for `patient` without a consent in force covering
    `scope`: revoked, expired, not yet started, or not granted for this action. None for the
    patient themself and for someone who is no proxy of the patient at all (the caller's
    "not found" applies: ids cannot be probed)."""
    if patient.account_id is not None and patient.account_id == getattr(by, "pk", None):
        return None
    link = ProxyLink.objects.filter(proxy=by, patient=patient).first() if getattr(by, "pk", None) else None
    if link is None or proxy_consent_covers(by, patient, scope):
        return None
    if proxy_consents_in_force().filter(link=link).exists():
        message = _("%(patient)s's consent lets you act for them, but not for this: %(scope)s.") % {
            "patient": patient.full_name, "scope": ProxyScope(scope).label}
    else:
        latest = link.consents.order_by("-granted_at", "-id").first()
        if latest is not None and latest.status == ProxyConsentStatus.REVOKED:
            message = _("%(patient)s revoked your consent to act for them; you can no longer do this for them.") % {
                "patient": patient.full_name}
        else:
            message = _("Your consent to act for %(patient)s is not in force (expired or not yet started); ask "
                        "them or their guardian to grant it again.") % {"patient": patient.full_name}
    # 互联网诊疗监管细则（试行）: a proxy acts only under the patient's (or guardian's) recorded consent.
    return forbidden(message, code="proxy_consent_inactive")


def booking_consents_require(*, by, patient: Patient) -> None:
    """The consents booking an online consult needs: a proxy's consent in force for booking
    (403 `proxy_consent_inactive`), then the patient's acceptance of the current online-care
    consent (422 `consent_required`, field consent). Someone who does not manage the patient
    is left to booking_create's own "not found"."""
    refusal = proxy_consent_refusal(by, patient, ProxyScope.BOOK)
    if refusal is not None:
        raise refusal
    if not allowed("consult.book_for", by, patient):
        return
    refusal = consent_refusal(patient)
    if refusal is not None:
        raise refusal


def _check_scope(scope) -> list[str]:
    scope = list(dict.fromkeys(scope or []))
    unknown = [s for s in scope if s not in ProxyScope.values]
    if not scope or unknown:
        raise DomainError(_("Choose what the proxy may do: %(choices)s.") % {"choices": ", ".join(ProxyScope.values)},
                          code="invalid_scope", field="scope", kind=Kind.INVALID)
    return scope


def grantor_for(by, patient: Patient) -> str:
    """Who `by` is when granting for `patient`: the patient, or (for a patient without a
    login: a child, or someone without capacity) the recorded guardian."""
    return GrantorRole.PATIENT if patient.account_id == by.pk else GrantorRole.GUARDIAN


@transaction.atomic
def proxy_consent_grant(*, by, link: ProxyLink, scope=None, starts_at: datetime | None = None,
                        ends_at: datetime | None = None) -> ProxyConsent:
    """Record the consent under which `link.proxy` acts for `link.patient`. The patient
    grants it; for a patient with no login of their own (a child, someone without capacity)
    the recorded guardian, a proxy of theirs with a consent in force, or the family member
    adding them as a dependant (consult.records). Earlier consents of the link in force are
    replaced. Refuses: anyone else (403); an unknown or empty scope (400 `invalid_scope`);
    an end not after the start (400 `invalid_period`)."""
    patient = link.patient
    is_patient = patient.account_id is not None and patient.account_id == by.pk
    may_grant = is_patient or (patient.account_id is None and (
        link.proxy_id == by.pk or proxy_consents_in_force().filter(link__proxy=by, link__patient=patient).exists()))
    if not may_grant:
        raise forbidden(_("Only the patient, or for a patient without their own login the guardian, may grant "
                          "a proxy consent."), code="forbidden")
    scope = _check_scope(ALL_SCOPES if scope is None else scope)
    starts_at = starts_at or timezone.now()
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError(_("The consent must end after it starts."), code="invalid_period", field="ends_at",
                          kind=Kind.INVALID)
    now = timezone.now()
    for old in link.consents.select_for_update().filter(status=ProxyConsentStatus.ACTIVE):
        old.status, old.revoked_at, old.revoked_by, old.revoke_reason = ProxyConsentStatus.REVOKED, now, by, "replaced"
        stamp(old, by=by, reason="replaced by a new consent")
        old.save()
    consent = ProxyConsent(link=link, granted_by=by, grantor_role=grantor_for(by, patient), scope=scope,
                           starts_at=starts_at, ends_at=ends_at, granted_at=now)
    stamp(consent, by=by, reason="proxy consent granted")
    consent.save()
    return consent


@transaction.atomic
def proxy_consent_revoke(*, by, consent: ProxyConsent, reason: str = "") -> ProxyConsent:
    """The patient revokes a proxy's consent; from now on the proxy can no longer act for
    them. Only the patient themself, with their own login, revokes (403 for anyone else,
    the proxy included); a consent already revoked is 409 `already_revoked`."""
    consent = ProxyConsent.objects.select_for_update().select_related("link__patient").get(pk=consent.pk)
    patient = consent.link.patient
    if patient.account_id is None or patient.account_id != getattr(by, "pk", None):
        raise forbidden(_("Only the patient, signed in with their own account, may revoke a proxy's consent."))
    if consent.status == ProxyConsentStatus.REVOKED:
        raise DomainError(_("This consent was already revoked."), code="already_revoked", kind=Kind.CONFLICT)
    consent.status, consent.revoked_at, consent.revoked_by = ProxyConsentStatus.REVOKED, timezone.now(), by
    consent.revoke_reason = (reason or "").strip()[:200]
    stamp(consent, by=by, reason="proxy consent revoked")
    consent.save()
    return consent


def proxy_consents_of(patient: Patient):
    """Every proxy consent of the patient's links, newest first."""
    return (ProxyConsent.objects.filter(link__patient=patient)
            .select_related("link__proxy", "link__patient", "granted_by", "revoked_by").order_by("-granted_at", "-id"))
