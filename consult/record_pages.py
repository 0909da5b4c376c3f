"""The family's account, people and health-record pages: registering, whom they act for,
adding a dependant, and the record of the patient acted for (reading it, entering a home
blood-pressure reading, marking a wrong one entered in error).

Thin, as the API is: reads through consult.selectors (`record_for`, `bp_trend`), writes
through consult.records, and a refusal is shown at the field it names. The pages act only
for the patients this login manages (consult.acting); any other patient id is a 404.
"""

from datetime import timedelta
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cloudhospital.api.throttling import FailOpenScopedRateThrottle
from cloudhospital.errors import DomainError
from cloudhospital.web import refusal_into_form, safe_next
from consult import records
from consult.acting import act_for, acting_context, acting_for
from consult import follow_up as follow_up_rules
from consult import follow_up_pages
from consult.follow_up_pages import record_conditions
from consult.models import Condition, Observation, ObservationKind, ObservationSource
from consult.permissions import patients_managed_by
from consult.record_chart import bp_chart
from consult.record_forms import (
    RELATIONSHIP_LABELS,
    DependantForm,
    EnteredInErrorForm,
    ReadingForm,
    RegisterForm,
)
from consult.selectors import (
    HIGH_DIASTOLIC,
    HIGH_SYSTOLIC,
    bp_trend,
    patients_with_links,
    record_for,
    record_summary,
    relationship_to,
)

TREND_DAYS = 30
RECENT_READINGS = 20


def _within_rate(request, scope: str) -> bool:
    """The API's limit for the same action (settings' throttle rates), counted together with
    it: the page must not be a way round the brake on probing ID numbers."""
    return FailOpenScopedRateThrottle().allow_request(request, SimpleNamespace(throttle_scope=scope))


def _too_many(form) -> None:
    form.add_error(None, _("Too many attempts. Please wait a while and try again."))


@login_required
@require_POST
def patient_act_for(request):
    """Switch whom the family pages act for (a patient this user manages; else a 404)."""
    patient = act_for(request, request.POST.get("patient"))
    messages.info(request, _("Now acting for %(name)s.") % {"name": patient.full_name})
    return redirect(safe_next(request, fallback=reverse("patient-home")))


# --- Registering ------------------------------------------------------------------------


def register(request):
    """A new patient account from real-name data (consult.records.patient_register, as the
    API's register); logged in at once and sent to their start page. Anonymous visitors only."""
    if request.user.is_authenticated:
        return redirect("home")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not _within_rate(request, "register"):
            _too_many(form)
        else:
            data = form.cleaned_data
            try:
                patient = records.patient_register(full_name=data["full_name"], id_number=data["id_number"],
                                                   phone=data["phone"], password=data["password"])
            except DomainError as exc:
                refusal_into_form(form, exc)
            else:
                login(request, patient.account, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome, %(name)s. Your account is ready.") % {"name": patient.full_name})
                return redirect("home")
    return render(request, "consult/record/register.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


# --- The people this login acts for -----------------------------------------------------


def _people_page(request, form, *, status=200):
    user = request.user
    people = [{"patient": p, "relationship": relationship_to(user, p),
               "relationship_label": RELATIONSHIP_LABELS.get(relationship_to(user, p), "")}
              for p in patients_with_links(patients_managed_by(user)).order_by("id")]
    return render(request, "consult/record/people.html",
                  {"people": people, "form": form, **acting_context(request)}, status=status)


@login_required
def family_people(request):
    """Whom this login acts for (themself, their dependants, those who made them proxy)."""
    return _people_page(request, DependantForm())


@login_required
@require_POST
def family_dependant_add(request):
    """Add a family member to act for (consult.records.dependant_add)."""
    form = DependantForm(request.POST)
    if form.is_valid():
        if not _within_rate(request, "dependant_add"):
            _too_many(form)
        else:
            try:
                patient = records.dependant_add(proxy=request.user, **form.cleaned_data)
            except DomainError as exc:
                refusal_into_form(form, exc)
            else:
                messages.success(request, _("%(name)s was added to your family.") % {"name": patient.full_name})
                return redirect("family-people")
    return _people_page(request, form, status=400)


# --- The health record of the patient acted for -----------------------------------------


def _record_page(request, patient, *, reading_form=None, error_form=None, error_for=None, offline_form=None,
                 offline_for=None, status=200):
    """The record page of `patient` (already read through record_for): the entries to read,
    the reading form, the 30-day trend and the recent readings with their marks, and each
    condition's offline diagnosis and evidence (consult.follow_up_pages)."""
    today = timezone.localdate()
    trend = bp_trend(patient, date_from=today - timedelta(days=TREND_DAYS - 1), date_to=today)
    readings = list(patient.observations.filter(kind=ObservationKind.BLOOD_PRESSURE).order_by("-measured_at", "-id")
                    .select_related("recorded_by")[:RECENT_READINGS])
    for reading in readings:  # the trend's threshold (Chinese guideline), flagged in the list too
        reading.high = reading.systolic >= HIGH_SYSTOLIC or reading.diastolic >= HIGH_DIASTOLIC
    if reading_form is None:
        reading_form = ReadingForm(initial={"measured_at": timezone.localtime().replace(second=0, microsecond=0)})
    summary = record_summary(patient, bp_readings=0)  # the record's entries, as the API's summary has them
    return render(request, "consult/record/record.html", {
        "patient": patient,
        **record_conditions(summary["conditions"], offline_form=offline_form, offline_for=offline_for),
        "allergies": summary["allergies"],
        "medications": summary["medications"],
        "labs": [lab for lab in (summary["latest_egfr"], summary["latest_creatinine"]) if lab is not None],
        "readings": readings,
        "trend": trend,
        "chart": bp_chart(trend),
        "reading_form": reading_form,
        "error_form": error_form,
        "error_for": error_for,
        **acting_context(request),
    }, status=status)


def _read_record(request, patient_id, *, purpose: str):
    """The managed patient's record, read (and access-logged) through record_for, and the
    pages act for them from now on; a patient this login does not manage is a 404 (act_for),
    as is one whose read is refused."""
    act_for(request, patient_id)
    try:
        return record_for(request.user, patient_id, purpose=purpose)
    except DomainError:
        raise Http404("No such patient.") from None


def _record_url() -> str:
    return f"{reverse('family-record')}#readings"


@login_required
def family_record(request):
    """The health record of the patient acted for; `?patient=<id>` switches to another
    managed patient (a patient not managed is a 404) and comes back without it."""
    if "patient" in request.GET:
        # Then to the plain URL, so the banner's switch (which comes back here) is not undone.
        act_for(request, request.GET["patient"])
        return redirect("family-record")
    acting = acting_for(request)
    if acting is None:
        return render(request, "consult/record/record.html", {"patient": None, **acting_context(request)})
    return _record_page(request, _read_record(request, acting.pk, purpose="record_page"))


@login_required
@require_POST
def family_reading_add(request, patient_id: int):
    """Enter a home blood-pressure reading (consult.records.observation_add, which refuses
    an implausible one at its field)."""
    patient = _read_record(request, patient_id, purpose="record_page")
    form = ReadingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            records.observation_add(by=request.user, patient=patient, kind=ObservationKind.BLOOD_PRESSURE,
                                    source=ObservationSource.HOME, measured_at=data["measured_at"],
                                    systolic=data["systolic"], diastolic=data["diastolic"], pulse=data["pulse"])
        except DomainError as exc:
            refusal_into_form(form, exc)
        else:
            messages.success(request, _("Reading saved: %(systolic)s/%(diastolic)s mmHg.")
                             % {"systolic": data["systolic"], "diastolic": data["diastolic"]})
            return redirect(_record_url())
    return _record_page(request, patient, reading_form=form, status=400)


@login_required
@require_POST
def family_reading_entered_in_error(request, patient_id: int, observation_id: int):
    """Mark a wrong reading entered in error, with the reason (required): it stays listed,
    marked, and leaves the trend."""
    patient = _read_record(request, patient_id, purpose="record_page")
    observation = get_object_or_404(Observation, pk=observation_id, patient=patient,
                                    kind=ObservationKind.BLOOD_PRESSURE)
    form = EnteredInErrorForm(request.POST)
    if form.is_valid():
        try:
            records.observation_mark_entered_in_error(by=request.user, observation=observation,
                                                      reason=form.cleaned_data["reason"])
        except DomainError as exc:
            refusal_into_form(form, exc)
        else:
            messages.success(request, _("The reading was marked as entered in error."))
            return redirect(_record_url())
    return _record_page(request, patient, error_form=form, error_for=observation.pk, status=400)


@login_required
@require_POST
def family_condition_offline(request, patient_id: int, condition_id: int):
    """The family records where and when a condition was diagnosed in person and attaches
    the outpatient record or discharge summary (consult.records.condition_update,
    consult.follow_up.evidence_add)."""
    patient = _read_record(request, patient_id, purpose="record_page")
    condition = get_object_or_404(Condition, pk=condition_id, patient=patient)
    form = follow_up_pages.OfflineDiagnosisForm(request.POST, request.FILES, auto_id=f"c{condition.pk}_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # the date and the file are saved together, or neither
                records.condition_update(by=request.user, condition=condition,
                                         diagnosed_institution=data["diagnosed_institution"],
                                         diagnosed_on=data["diagnosed_on"])
                if data["file"]:
                    follow_up_rules.evidence_add(by=request.user, condition=condition, file=data["file"],
                                                 kind=data["kind"])
        except DomainError as exc:
            refusal_into_form(form, exc)
        else:
            messages.success(request, _("Saved: where and when %(name)s was diagnosed.") % {"name": condition.name})
            return redirect(f"{reverse('family-record')}#conditions")
    return _record_page(request, patient, offline_form=form, offline_for=condition.pk, status=400)
