"""What the pages show of the follow-up-on-evidence and young-children rules
(consult.follow_up, consult.young_children): the forms of the doctor's "this is a follow-up of
<condition>" card (its view is consult.pages.doctor_confirm_follow_up, an htmx fragment so the
call is not reloaded) and of the family's offline diagnosis and evidence upload (its view is
consult.record_pages.family_condition_offline), the conditions with their evidence for the
chart and the record page, and the evidence file itself for the family and the treating
doctor (access-logged).

Thin, as the API is: every write is one call into the domain module, every refusal shown at
its field.
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cloudhospital.errors import DomainError
from consult import follow_up, young_children
from consult.api.evidence import evidence_response
from consult.models import Condition, ConditionEvidence, ConditionStatus, ConsultationStatus, EvidenceKind

EVIDENCE_KIND_LABELS = {
    EvidenceKind.OUTPATIENT_RECORD: gettext_lazy("Outpatient record (门诊病历)"),
    EvidenceKind.DISCHARGE_SUMMARY: gettext_lazy("Discharge summary (出院小结)"),
    EvidenceKind.DIAGNOSIS_CERTIFICATE: gettext_lazy("Diagnosis certificate (诊断证明)"),
}


class FollowUpForm(forms.Form):
    condition = forms.TypedChoiceField(label=gettext_lazy("This visit follows up"), coerce=int, choices=())

    def __init__(self, *args, conditions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["condition"].choices = [(c.pk, _condition_label(c)) for c in conditions]


class OfflineDiagnosisForm(forms.Form):
    diagnosed_institution = forms.CharField(label=gettext_lazy("Diagnosed at (hospital or clinic)"), required=False,
                                            max_length=follow_up.INSTITUTION_MAX)
    diagnosed_on = forms.DateField(label=gettext_lazy("Diagnosed on"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=gettext_lazy("Document"), choices=list(EVIDENCE_KIND_LABELS.items()),
                             initial=EvidenceKind.OUTPATIENT_RECORD)
    file = forms.FileField(label=gettext_lazy("Photo or PDF of the document"), required=False,
                           help_text=gettext_lazy("JPEG, PNG or PDF."),
                           widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}))


def _condition_label(condition: Condition) -> str:
    if follow_up.has_offline_diagnosis(condition):
        return _("%(code)s %(name)s (diagnosed at %(where)s, %(when)s)") % {
            "code": condition.icd10_code, "name": condition.name, "where": condition.diagnosed_institution,
            "when": condition.diagnosed_on.isoformat()}
    return _("%(code)s %(name)s (no offline diagnosis recorded)") % {"code": condition.icd10_code, "name": condition.name}


def active_conditions(patient_id: int) -> list[Condition]:
    return list(Condition.objects.filter(patient_id=patient_id, status=ConditionStatus.ACTIVE).order_by("icd10_code", "id"))


def evidence_attach(conditions) -> list:
    """Each condition with `evidence_files`, its evidence, in one query for the whole list."""
    conditions = list(conditions)
    by_condition: dict[int, list] = {c.pk: [] for c in conditions}
    for evidence in ConditionEvidence.objects.filter(condition__in=list(by_condition)).order_by("uploaded_at", "id"):
        evidence.kind_label = EVIDENCE_KIND_LABELS.get(evidence.kind, evidence.kind)
        by_condition[evidence.condition_id].append(evidence)
    for condition in conditions:
        condition.evidence_files = by_condition[condition.pk]
    return conditions


def room_context(consultation, *, follow_up_form=None) -> dict:
    """What the doctor's room shows of these rules: the follow-up card and, for a young child
    still waiting, the guardian checkbox beside the admit button."""
    patient = consultation.booking.patient
    return {
        "follow_up_form": follow_up_form or FollowUpForm(
            conditions=active_conditions(patient.pk),
            initial={"condition": consultation.follow_up_condition_id}),
        "follow_up_open": consultation.status != ConsultationStatus.ENDED,
        "young_child": young_children.is_young_child(patient),
        "guardian_age": settings.ONLINE_CARE_GUARDIAN_AGE,
    }


@login_required
def evidence_file(request, patient_id: int, evidence_id: int):
    """An evidence file for the patient's family or the treating doctor, the open
    access-logged (consult.follow_up.evidence_open); anyone else: 404."""
    try:
        evidence = follow_up.evidence_open(by=request.user, patient_id=patient_id, evidence_id=evidence_id)
    except DomainError:
        raise Http404("No such evidence file.") from None
    return evidence_response(evidence)


def record_conditions(conditions, *, offline_form=None, offline_for=None) -> dict:
    """The record page's conditions, each with its evidence and its own offline-diagnosis
    form (the refused one keeps what was typed)."""
    conditions = evidence_attach(conditions)
    for condition in conditions:
        condition.offline_form = offline_form if offline_for == condition.pk else OfflineDiagnosisForm(
            initial={"diagnosed_institution": condition.diagnosed_institution, "diagnosed_on": condition.diagnosed_on},
            auto_id=f"c{condition.pk}_%s")
        condition.offline_open = offline_for == condition.pk
    return {"conditions": conditions}
