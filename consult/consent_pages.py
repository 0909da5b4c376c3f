"""The family's consent pages: reading and accepting the online-care informed consent
(知情同意书) before the first booking, the patient's proxy consents (revoked by the patient),
and the patient's activity ("by 张薇 on behalf of 张林"). Thin: the rules are consult.consent,
the activity consult.activity; a patient the user does not manage is a 404."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cloudhospital.errors import DomainError
from consult import consent as consent_rules
from consult.acting import acting_for
from consult.activity import patient_activity
from consult.care_pages import family_page, refusal_status
from consult.models import Patient, ProxyConsent
from consult.permissions import patients_managed_by


class AcceptForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    agree = forms.BooleanField(label=gettext_lazy("I have read the informed consent and agree to it"),
                               error_messages={"required": gettext_lazy("Tick the box to agree, or book a visit in person.")})


def _managed(request, patient_id) -> Patient:
    patient = patients_managed_by(request.user).filter(pk=patient_id).first() if str(patient_id).isdigit() else None
    if patient is None:
        raise Http404("No such patient.")
    return patient


def _text_in_language(text) -> dict:
    chinese = (get_language() or "zh-hans").startswith("zh")
    return {"title": text.title_zh if chinese else text.title_en, "body": text.text_zh if chinese else text.text_en}


@login_required
def care_consent(request, slot_id: int):
    """Before booking slot `slot_id`: the current consent for the patient acted for, to read
    and accept; then on to the booking form."""
    current = consent_rules.consent_current()
    patient = acting_for(request)
    if patient is None:
        raise Http404("No patient to book for.")
    if current is None or consent_rules.consent_acceptance_of(patient) is not None:
        return redirect("care-book", slot_id=slot_id)
    status = 200
    if request.method == "POST":
        form = AcceptForm(request.POST)
        if form.is_valid():
            patient = _managed(request, form.cleaned_data["patient"])
            try:
                consent_rules.consent_accept(by=request.user, patient=patient, version=form.cleaned_data["version"])
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = refusal_status(exc)
            else:
                messages.success(request, _("Consent recorded for %(name)s.") % {"name": patient.full_name})
                return redirect("care-book", slot_id=slot_id)
        else:
            status = 400
    else:
        form = AcceptForm(initial={"patient": patient.pk, "version": current.version})
    return family_page(request, "consult/consent/consent.html", {
        "form": form, "patient": patient, "consent": current, **_text_in_language(current), "slot_id": slot_id,
    }, status=status)


@login_required
def patient_consents(request, patient_id: int):
    """The patient's proxies and the consent each acts under; the patient (with their own
    login) may revoke one. Also the patient's accepted informed consents."""
    patient = _managed(request, patient_id)
    return family_page(request, "consult/consent/proxies.html", {
        "patient": patient, "consents": consent_rules.proxy_consents_of(patient),
        "acceptances": consent_rules.consent_acceptances(patient), "may_revoke": patient.account_id == request.user.pk,
    })


@login_required
@require_POST
def patient_consent_revoke(request, patient_id: int, consent_id: int):
    patient = _managed(request, patient_id)
    consent = ProxyConsent.objects.filter(link__patient=patient, pk=consent_id).first()
    if consent is None:
        raise Http404("No such consent.")
    try:
        consent_rules.proxy_consent_revoke(by=request.user, consent=consent, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        return family_page(request, "consult/consent/proxies.html", {
            "patient": patient, "consents": consent_rules.proxy_consents_of(patient), "revoke_error": exc.message,
            "acceptances": consent_rules.consent_acceptances(patient), "may_revoke": patient.account_id == request.user.pk,
        }, status=refusal_status(exc))
    messages.success(request, _("%(name)s can no longer act for you.") % {"name": consent.link.proxy.full_name})
    return redirect("family-consents", patient_id=patient.pk)


@login_required
def patient_activity_page(request, patient_id: int):
    """What was done for the patient and by whom, newest first."""
    patient = _managed(request, patient_id)
    return family_page(request, "consult/consent/activity.html", {"patient": patient,
                                                                  "activity": patient_activity(patient)})
